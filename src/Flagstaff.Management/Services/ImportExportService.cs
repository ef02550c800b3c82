using System.Security.Cryptography;
using System.Text.Json;
using Flagstaff.DataPlane.Compilation;
using Flagstaff.Domain;
using Flagstaff.Storage;

namespace Flagstaff.Management.Services;

/// <summary>
/// A whole project as one document. Export writes everything but API key secrets. Import merges a
/// document into the server: it creates or updates what the document names (and deletes nothing),
/// validates the complete result before writing anything, applies it in one transaction with its
/// history, and changes nothing at all when the server already matches the document.
/// </summary>
public sealed class ImportExportService(Store store, ChangeRunner changes)
{
    public Task<ProjectDocument> ExportAsync(string projectKey, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async s =>
        {
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var environments = await s.ListEnvironmentsAsync(project.Id).ConfigureAwait(false);
            var targetings = (await s.ListTargetingsOfProjectAsync(project.Id).ConfigureAwait(false)).ToLookup(t => t.FlagId);
            return new ProjectDocument
            {
                Key = project.Key,
                Name = project.Name,
                Description = project.Description,
                StickinessProperty = project.StickinessProperty,
                Environments = [.. environments.Select(e => new EnvironmentDocument { Key = e.Key, Name = e.Name, Color = e.Color, Critical = e.Critical })],
                Segments = [.. (await s.ListSegmentsAsync(project.Id).ConfigureAwait(false)).Select(ToDocument)],
                ContextProperties = [.. (await s.ListContextPropertiesAsync(project.Id).ConfigureAwait(false)).Select(ToDocument)],
                Flags = [.. (await s.ListAllFlagsAsync(project.Id).ConfigureAwait(false)).Select(f => FlagService.Document(f, targetings[f.Id], environments))],
            };
        }, cancellationToken);

    public Task<ImportResult> ImportAsync(ProjectDocument document, Actor actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(document);
        CheckShape(document);
        return changes.WriteAsync(actor, async change =>
        {
            var s = change.Session;
            var plan = await PlanAsync(s, document, change.Now).ConfigureAwait(false);
            await ApplyAsync(change, plan).ConfigureAwait(false);
            return new ImportResult(document.Key, plan.Created, plan.Updated, plan.Unchanged, plan.Created + plan.Updated > 0);
        }, cancellationToken);
    }

    // Everything that needs no database: keys, names, duplicates.
    private static void CheckShape(ProjectDocument document)
    {
        var errors = new ValidationErrors();
        if (document.FormatVersion != 1)
        {
            errors.Add("flagstaff", $"format version {document.FormatVersion} is not supported (this server reads version 1)");
        }

        ProjectService.CheckProject(new Project { Id = "", Key = document.Key, Name = document.Name, Description = document.Description, StickinessProperty = document.StickinessProperty }, errors);
        for (int i = 0; i < document.Environments.Count; i++)
        {
            var e = document.Environments[i];
            ProjectService.CheckEnvironment(new ProjectEnvironment { Id = "", ProjectId = "", Key = e.Key, Name = e.Name, Color = e.Color }, errors, ValidationErrors.Index("environments", i) + ".");
        }

        Duplicates(document.Environments.Select(e => e.Key), "environments", errors);
        Duplicates(document.Segments.Select(e => e.Key), "segments", errors);
        for (int i = 0; i < document.ContextProperties.Count; i++)
        {
            Limits.CheckPropertyName(document.ContextProperties[i].Key, ValidationErrors.Index("contextProperties", i) + ".key", errors);
        }

        Duplicates(document.ContextProperties.Select(e => e.Key), "contextProperties", errors);
        Duplicates(document.Flags.Select(e => e.Key), "flags", errors);
        errors.ThrowIfAny();
    }

    private static void Duplicates(IEnumerable<string> keys, string path, ValidationErrors errors)
    {
        foreach (var key in keys.GroupBy(k => k).Where(g => g.Count() > 1).Select(g => g.Key))
        {
            errors.Add(path, $"key \"{key}\" appears more than once");
        }
    }

    private sealed class Plan
    {
        public required Project Project { get; set; }

        public Project? ExistingProject { get; init; }

        public List<(ProjectEnvironment After, ProjectEnvironment? Before)> Environments { get; } = [];

        public List<(Segment After, Segment? Before)> Segments { get; } = [];

        public List<(ContextProperty After, ContextProperty? Before)> Properties { get; } = [];

        public List<(Flag After, Flag? Before, List<Targeting> Targetings, List<Targeting> OldTargetings, HashSet<string> ChangedEnvironments)> Flags { get; } = [];

        public List<ProjectEnvironment> AllEnvironments { get; } = [];

        public int Created { get; set; }

        public int Updated { get; set; }

        public int Unchanged { get; set; }
    }

    private static async Task<Plan> PlanAsync(StoreSession s, ProjectDocument document, DateTimeOffset now)
    {
        var existing = await s.GetProjectAsync(document.Key).ConfigureAwait(false);
        var project = existing is null
            ? new Project { Id = Lookups.NewId(), Key = document.Key, Name = document.Name, Description = document.Description, StickinessProperty = document.StickinessProperty, Version = 1, CreatedAt = now, UpdatedAt = now }
            : existing with { Name = document.Name, Description = document.Description, StickinessProperty = document.StickinessProperty, UpdatedAt = now };
        var plan = new Plan { Project = project, ExistingProject = existing };
        Count(plan, existing is null, existing is not null && existing with { UpdatedAt = now } == project);

        var currentEnvironments = existing is null ? [] : await s.ListEnvironmentsAsync(existing.Id).ConfigureAwait(false);
        int nextPosition = currentEnvironments.Count == 0 ? 0 : currentEnvironments.Max(e => e.Position) + 1;
        foreach (var e in document.Environments)
        {
            var before = currentEnvironments.FirstOrDefault(c => c.Key == e.Key);
            var after = before is null
                ? new ProjectEnvironment { Id = Lookups.NewId(), ProjectId = project.Id, Key = e.Key, Name = e.Name, Color = e.Color, Critical = e.Critical, Position = nextPosition++, Version = 1, CreatedAt = now, UpdatedAt = now }
                : before with { Name = e.Name, Color = e.Color, Critical = e.Critical, UpdatedAt = now };
            plan.Environments.Add((after, before));
            Count(plan, before is null, before is not null && before with { UpdatedAt = now } == after);
        }

        plan.AllEnvironments.AddRange(currentEnvironments.Where(c => document.Environments.All(e => e.Key != c.Key)));
        plan.AllEnvironments.AddRange(plan.Environments.Select(e => e.After));
        if (plan.AllEnvironments.Count == 0)
        {
            throw new DomainValidationException("environments", "a new project needs at least one environment");
        }

        var errors = new ValidationErrors();
        var currentSegments = existing is null ? [] : await s.ListSegmentsAsync(existing.Id).ConfigureAwait(false);
        for (int i = 0; i < document.Segments.Count; i++)
        {
            var d = document.Segments[i];
            var before = currentSegments.FirstOrDefault(c => c.Key == d.Key);
            var after = (before ?? new Segment { Id = Lookups.NewId(), ProjectId = project.Id, Key = d.Key, Name = d.Name, Version = 1, CreatedAt = now })
                with
            { Name = d.Name, Description = d.Description, Clauses = d.Clauses, IdProperty = d.IdProperty, Ids = d.Ids, UpdatedAt = now };
            var segmentErrors = new ValidationErrors();
            FlagRules.CheckSegment(after, segmentErrors);
            errors.AddRange(segmentErrors.Items.Select(e => e with { Path = ValidationErrors.Join(ValidationErrors.Index("segments", i), e.Path) }));
            plan.Segments.Add((after, before));
            Count(plan, before is null, before is not null && Same(before, after with { UpdatedAt = before.UpdatedAt }, DomainJson.Default.Segment));
        }

        var segments = currentSegments.ToDictionary(x => x.Key, StringComparer.Ordinal);
        foreach (var (after, _) in plan.Segments)
        {
            segments[after.Key] = after;
        }

        var currentProperties = existing is null ? [] : await s.ListContextPropertiesAsync(existing.Id).ConfigureAwait(false);
        foreach (var d in document.ContextProperties)
        {
            var before = currentProperties.FirstOrDefault(c => c.Key == d.Key);
            var after = (before ?? new ContextProperty { Id = Lookups.NewId(), ProjectId = project.Id, Key = d.Key, Name = d.Name, Version = 1, CreatedAt = now })
                with
            { Name = d.Name, Description = d.Description, Type = d.Type, Options = d.Options, Hidden = d.Hidden, UpdatedAt = now };
            plan.Properties.Add((after, before));
            Count(plan, before is null, before is not null && Same(before, after with { UpdatedAt = before.UpdatedAt }, DomainJson.Default.ContextProperty));
        }

        var currentFlags = existing is null ? new Dictionary<string, Flag>() : (await s.ListAllFlagsAsync(existing.Id).ConfigureAwait(false)).ToDictionary(f => f.Key, StringComparer.Ordinal);
        var currentTargetings = (existing is null ? [] : await s.ListTargetingsOfProjectAsync(existing.Id).ConfigureAwait(false)).ToLookup(t => t.FlagId);
        var segmentsChanged = plan.Segments.Where(x => x.Before is null || !Same(x.Before, x.After with { UpdatedAt = x.Before.UpdatedAt }, DomainJson.Default.Segment)).Select(x => x.After.Key).ToHashSet();
        bool stickinessChanged = existing is not null && existing.StickinessProperty != project.StickinessProperty;
        for (int i = 0; i < document.Flags.Count; i++)
        {
            var d = document.Flags[i];
            string path = ValidationErrors.Index("flags", i);
            foreach (var key in d.Environments.Keys.Where(k => plan.AllEnvironments.All(e => e.Key != k)))
            {
                errors.Add($"{path}.environments.{key}", $"the project has no environment \"{Limits.Truncate(key)}\"");
            }

            var before = currentFlags.GetValueOrDefault(d.Key);
            var flag = before ?? new Flag
            {
                Id = Lookups.NewId(),
                ProjectId = project.Id,
                Key = d.Key,
                Name = d.Name,
                Seed = (uint)RandomNumberGenerator.GetInt32(int.MaxValue),
                Version = 1,
                Revision = 1,
                CreatedAt = now,
                UpdatedAt = now,
            };
            var oldTargetings = before is null ? [] : currentTargetings[before.Id].ToList();
            var targetings = plan.AllEnvironments.Select(e => oldTargetings.FirstOrDefault(t => t.EnvironmentId == e.Id)
                ?? new Targeting { FlagId = flag.Id, EnvironmentId = e.Id, DefaultServe = Serve.Of(d.Variations.FirstOrDefault(v => v.Fallback)?.Key ?? (d.Variations.Count > 0 ? d.Variations[0].Key : "")), Version = 1, UpdatedAt = now }).ToList();
            var (settings, newTargetings, changed) = FlagService.Apply(flag, d, targetings, plan.AllEnvironments, now);
            foreach (var t in newTargetings.Where(t => oldTargetings.All(o => o.EnvironmentId != t.EnvironmentId)))
            {
                changed.Add(t.EnvironmentId);
            }

            var flagErrors = new ValidationErrors();
            FlagRules.CheckFlag(settings, flagErrors);
            if (before is not null)
            {
                FlagService.CheckUnchangedPath(before, settings, flagErrors);
            }
            if (flagErrors.IsEmpty)
            {
                foreach (var t in newTargetings)
                {
                    FlagRules.CheckTargeting(settings, t, segments, flagErrors, "environments." + plan.AllEnvironments.First(e => e.Id == t.EnvironmentId).Key);
                }
            }

            errors.AddRange(flagErrors.Items.Select(e => e with { Path = ValidationErrors.Join(path, e.Path) }));
            bool settingsSame = before is not null && Same(before with { UpdatedAt = now }, settings, DomainJson.Default.Flag);
            bool usesChangedSegment = newTargetings.Any(t => t.Rules.Any(r => r.Clauses.Any(c => c.Segment is not null && segmentsChanged.Contains(c.Segment))));
            plan.Flags.Add((settings, before, newTargetings, oldTargetings, changed));
            Count(plan, before is null, settingsSame && changed.Count == 0);
            if (before is not null && (usesChangedSegment || stickinessChanged) && changed.Count == 0)
            {
                // Unchanged itself, but it compiles differently now: announce it.
                foreach (var t in newTargetings)
                {
                    changed.Add(t.EnvironmentId);
                }
            }
        }

        errors.ThrowIfAny();

        // Flags the document does not name must still compile with the imported segments.
        foreach (var flag in currentFlags.Values.Where(f => document.Flags.All(d => d.Key != f.Key)))
        {
            FlagService.CheckTargetings(flag, [.. currentTargetings[flag.Id]], plan.AllEnvironments, segments);
        }

        foreach (var (flag, _, targetings, _, _) in plan.Flags)
        {
            foreach (var targeting in targetings)
            {
                FlagCompiler.Compile(project, flag, targeting, segments);
            }
        }

        return plan;
    }

    private static void Count(Plan plan, bool created, bool unchanged)
    {
        if (created)
        {
            plan.Created++;
        }
        else if (unchanged)
        {
            plan.Unchanged++;
        }
        else
        {
            plan.Updated++;
        }
    }

    private static bool Same<T>(T a, T b, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info) =>
        JsonSerializer.Serialize(a, info) == JsonSerializer.Serialize(b, info);

    private static async Task ApplyAsync(ChangeRecorder change, Plan plan)
    {
        var s = change.Session;
        var project = plan.Project;
        if (plan.ExistingProject is null)
        {
            await s.InsertProjectAsync(project).ConfigureAwait(false);
            await change.AuditAsync("project", project.Key, "imported", null, ChangeRecorder.ToJson(project, DomainJson.Default.Project), project.Id).ConfigureAwait(false);
        }
        else if (plan.ExistingProject with { UpdatedAt = project.UpdatedAt } != project)
        {
            await s.UpdateProjectAsync(project, plan.ExistingProject.Version).ConfigureAwait(false);
            await change.AuditAsync("project", project.Key, "imported", ChangeRecorder.ToJson(plan.ExistingProject, DomainJson.Default.Project), ChangeRecorder.ToJson(project, DomainJson.Default.Project), project.Id).ConfigureAwait(false);
        }

        foreach (var (after, before) in plan.Environments)
        {
            if (before is null)
            {
                await s.InsertEnvironmentAsync(after).ConfigureAwait(false);
                await change.AuditAsync("environment", after.Key, "imported", null, ChangeRecorder.ToJson(after, DomainJson.Default.ProjectEnvironment), project.Id, after.Id).ConfigureAwait(false);
            }
            else if (before with { UpdatedAt = after.UpdatedAt } != after)
            {
                await s.UpdateEnvironmentAsync(after, before.Version).ConfigureAwait(false);
                await change.AuditAsync("environment", after.Key, "imported", ChangeRecorder.ToJson(before, DomainJson.Default.ProjectEnvironment), ChangeRecorder.ToJson(after, DomainJson.Default.ProjectEnvironment), project.Id, after.Id).ConfigureAwait(false);
            }
        }

        foreach (var (after, before) in plan.Segments)
        {
            if (before is null)
            {
                await s.InsertSegmentAsync(after).ConfigureAwait(false);
                await change.AuditAsync("segment", after.Key, "imported", null, ChangeRecorder.ToJson(after, DomainJson.Default.Segment), project.Id).ConfigureAwait(false);
            }
            else if (!Same(before, after with { UpdatedAt = before.UpdatedAt }, DomainJson.Default.Segment))
            {
                await s.UpdateSegmentAsync(after, before.Version).ConfigureAwait(false);
                await change.AuditAsync("segment", after.Key, "imported", ChangeRecorder.ToJson(before, DomainJson.Default.Segment), ChangeRecorder.ToJson(after, DomainJson.Default.Segment), project.Id).ConfigureAwait(false);
            }
        }

        foreach (var (after, before) in plan.Properties)
        {
            if (before is null)
            {
                await s.InsertContextPropertyAsync(after).ConfigureAwait(false);
                await change.AuditAsync("context-property", after.Key, "imported", null, ChangeRecorder.ToJson(after, DomainJson.Default.ContextProperty), project.Id).ConfigureAwait(false);
            }
            else if (!Same(before, after with { UpdatedAt = before.UpdatedAt }, DomainJson.Default.ContextProperty))
            {
                await s.UpdateContextPropertyAsync(after, before.Version).ConfigureAwait(false);
                await change.AuditAsync("context-property", after.Key, "imported", ChangeRecorder.ToJson(before, DomainJson.Default.ContextProperty), ChangeRecorder.ToJson(after, DomainJson.Default.ContextProperty), project.Id).ConfigureAwait(false);
            }
        }

        // New environments get targeting for the flags the document does not name.
        var newEnvironments = plan.Environments.Where(e => e.Before is null).Select(e => e.After).ToList();
        var namedFlags = plan.Flags.Select(f => f.After.Key).ToHashSet();
        var otherFlags = plan.ExistingProject is null ? [] : (await s.ListAllFlagsAsync(project.Id).ConfigureAwait(false)).Where(f => !namedFlags.Contains(f.Key)).ToList();
        foreach (var environment in newEnvironments)
        {
            foreach (var flag in otherFlags)
            {
                await s.InsertTargetingAsync(new Targeting { FlagId = flag.Id, EnvironmentId = environment.Id, DefaultServe = FlagService.DefaultServe(flag), UpdatedAt = change.Now }).ConfigureAwait(false);
            }
        }

        var changedByEnvironment = plan.AllEnvironments.ToDictionary(e => e.Id, _ => new List<string>());
        foreach (var environment in newEnvironments)
        {
            changedByEnvironment[environment.Id].AddRange(otherFlags.Select(f => f.Key));
        }

        foreach (var (after, before, targetings, oldTargetings, changed) in plan.Flags)
        {
            bool settingsChanged = before is not null && !Same(before with { UpdatedAt = after.UpdatedAt }, after, DomainJson.Default.Flag);
            bool targetingChanged = targetings.Any(t => oldTargetings.FirstOrDefault(o => o.EnvironmentId == t.EnvironmentId) is not { } o || !ReferenceEquals(o, t));
            var environments = plan.AllEnvironments;
            if (before is null)
            {
                await s.InsertFlagAsync(after).ConfigureAwait(false);
                foreach (var targeting in targetings)
                {
                    await s.InsertTargetingAsync(targeting).ConfigureAwait(false);
                }

                await change.AuditAsync("flag", after.Key, "imported", null, ChangeRecorder.ToJson(FlagService.Document(after, targetings, environments), DomainJson.Default.FlagDocument), project.Id, null, after.Id, 1).ConfigureAwait(false);
            }
            else if (settingsChanged || targetingChanged)
            {
                if (settingsChanged)
                {
                    await s.UpdateFlagAsync(after, before.Version).ConfigureAwait(false);
                }
                else
                {
                    await s.BumpFlagRevisionAsync(after.Id, change.Now).ConfigureAwait(false);
                }

                foreach (var targeting in targetings)
                {
                    var old = oldTargetings.FirstOrDefault(o => o.EnvironmentId == targeting.EnvironmentId);
                    if (old is null)
                    {
                        await s.InsertTargetingAsync(targeting).ConfigureAwait(false);
                    }
                    else if (!ReferenceEquals(old, targeting))
                    {
                        await s.UpdateTargetingAsync(targeting, old.Version).ConfigureAwait(false);
                    }
                }

                await change.AuditAsync(
                    "flag", after.Key, "imported",
                    ChangeRecorder.ToJson(FlagService.Document(before, oldTargetings, environments), DomainJson.Default.FlagDocument),
                    ChangeRecorder.ToJson(FlagService.Document(after, targetings, environments), DomainJson.Default.FlagDocument),
                    project.Id, null, after.Id, before.Revision + 1).ConfigureAwait(false);
            }

            foreach (var environmentId in before is null || settingsChanged ? environments.Select(e => e.Id) : changed)
            {
                changedByEnvironment[environmentId].Add(after.Key);
            }
        }

        foreach (var (environmentId, keys) in changedByEnvironment)
        {
            await change.ConfigChangedAsync(environmentId, keys, always: newEnvironments.Any(e => e.Id == environmentId)).ConfigureAwait(false);
        }
    }

    private static SegmentDocument ToDocument(Segment s) => new() { Key = s.Key, Name = s.Name, Description = s.Description, Clauses = s.Clauses, IdProperty = s.IdProperty, Ids = s.Ids };

    private static ContextPropertyDocument ToDocument(ContextProperty p) => new() { Key = p.Key, Name = p.Name, Description = p.Description, Type = p.Type, Options = p.Options, Hidden = p.Hidden };
}
