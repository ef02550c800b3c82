using System.Security.Cryptography;
using System.Text.Json;
using Flagstaff.Domain;
using Flagstaff.Storage;

namespace Flagstaff.Management.Services;

/// <summary>
/// Flags and their targeting: every change is validated, compiled (so what is stored always compiles to
/// a valid configuration), versioned, recorded in the history with the whole flag before and after,
/// and announced to the evaluation snapshots once committed.
/// </summary>
public sealed class FlagService(Store store, ChangeRunner changes)
{
    private Task<T> WriteAsync<T>(Actor actor, Func<ChangeRecorder, Task<T>> work, CancellationToken cancellationToken) =>
        changes.WriteAsync(actor, work, cancellationToken);

    public Task<FlagList> ListAsync(string projectKey, FlagQuery query, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async s =>
        {
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var page = await s.ListFlagsAsync(project.Id, query).ConfigureAwait(false);
            var environments = await s.ListEnvironmentsAsync(project.Id).ConfigureAwait(false);
            var targetings = (await s.ListTargetingsOfFlagsAsync([.. page.Items.Select(f => f.Id)]).ConfigureAwait(false)).ToLookup(t => t.FlagId);
            var items = page.Items.Select(f => Details(f, targetings[f.Id], environments)).ToList();
            return new FlagList(items, page.Total, query.Offset, query.Limit);
        }, cancellationToken);

    public Task<FlagDetails> GetAsync(string projectKey, string flagKey, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async s =>
        {
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var flag = await s.FlagAsync(project, flagKey).ConfigureAwait(false);
            return await DetailsAsync(s, project, flag).ConfigureAwait(false);
        }, cancellationToken);

    public Task<FlagDetails> CreateAsync(string projectKey, CreateFlagRequest request, Actor actor, CancellationToken cancellationToken = default) =>
        WriteAsync(actor, async change =>
        {
            var s = change.Session;
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var environments = await s.ListEnvironmentsAsync(project.Id).ConfigureAwait(false);
            var segments = await s.SegmentsByKeyAsync(project).ConfigureAwait(false);
            var kind = request.Kind ?? FlagKind.Release;
            var valueType = request.ValueType ?? (kind == FlagKind.Migration ? FlagValueType.String : FlagValueType.Boolean);
            var errors = new ValidationErrors();
            IReadOnlyList<Variation>? variations = request.Variations;
            if (kind == FlagKind.Migration && request.Migration?.Path is { } path)
            {
                if (variations is not null)
                {
                    errors.Add("variations", "a migration flag's variations are made from its path; leave them out");
                }

                variations = MigrationPaths.Variations(path);
            }

            var flag = new Flag
            {
                Id = Lookups.NewId(),
                ProjectId = project.Id,
                Key = request.Key,
                Name = request.Name,
                Description = request.Description,
                Tags = request.Tags ?? [],
                Kind = kind,
                ValueType = valueType,
                Variations = variations ?? DefaultVariations(valueType),
                Migration = request.Migration,
                Seed = (uint)RandomNumberGenerator.GetInt32(int.MaxValue),
                Version = 1,
                Revision = 1,
                CreatedAt = change.Now,
                UpdatedAt = change.Now,
            };

            FlagRules.CheckFlag(flag, errors);
            foreach (var key in (request.Environments ?? new Dictionary<string, EnvironmentTargeting>()).Keys)
            {
                if (!environments.Any(e => e.Key == key))
                {
                    errors.Add($"environments.{key}", $"project \"{project.Key}\" has no environment \"{Limits.Truncate(key)}\"");
                }
            }

            errors.ThrowIfAny();
            var targetings = environments.Select(e => new Targeting
            {
                FlagId = flag.Id,
                EnvironmentId = e.Id,
                Enabled = request.Environments?.GetValueOrDefault(e.Key)?.Enabled ?? false,
                Rules = request.Environments?.GetValueOrDefault(e.Key)?.Rules ?? [],
                DefaultServe = request.Environments?.GetValueOrDefault(e.Key)?.DefaultServe ?? DefaultServe(flag),
                Version = 1,
                UpdatedAt = change.Now,
            }).ToList();
            CheckTargetings(flag, targetings, environments, segments);

            await s.InsertFlagAsync(flag).ConfigureAwait(false);
            foreach (var targeting in targetings)
            {
                await s.InsertTargetingAsync(targeting).ConfigureAwait(false);
            }

            var document = Document(flag, targetings, environments);
            await change.AuditAsync("flag", flag.Key, "created", null, ChangeRecorder.ToJson(document, DomainJson.Default.FlagDocument), project.Id, null, flag.Id, 1).ConfigureAwait(false);
            foreach (var environment in environments)
            {
                await change.ConfigChangedAsync(environment.Id, [flag.Key]).ConfigureAwait(false);
            }

            return Details(flag, targetings, environments);
        }, cancellationToken);

    public Task<FlagDetails> UpdateAsync(string projectKey, string flagKey, UpdateFlagRequest request, long expectedVersion, Actor actor, CancellationToken cancellationToken = default) =>
        ChangeSettingsAsync(projectKey, flagKey, expectedVersion, actor, "updated", flag => flag with
        {
            Name = request.Name ?? flag.Name,
            Description = request.Description ?? flag.Description,
            Tags = request.Tags ?? flag.Tags,
            Kind = request.Kind ?? flag.Kind,
            Variations = request.Variations ?? flag.Variations,
            Migration = request.Migration is { } migration ? migration with { Path = migration.Path ?? flag.Migration?.Path } : flag.Migration,
        }, cancellationToken);

    public Task<FlagDetails> ArchiveAsync(string projectKey, string flagKey, Actor actor, CancellationToken cancellationToken = default) =>
        ChangeSettingsAsync(projectKey, flagKey, null, actor, "archived", flag => flag.ArchivedAt is null ? flag with { ArchivedAt = changes.Now } : flag, cancellationToken);

    public Task<FlagDetails> RestoreAsync(string projectKey, string flagKey, Actor actor, CancellationToken cancellationToken = default) =>
        ChangeSettingsAsync(projectKey, flagKey, null, actor, "restored", flag => flag with { ArchivedAt = null }, cancellationToken);

    /// <summary>Changes a flag's settings (null version: an idempotent action that needs none).</summary>
    private Task<FlagDetails> ChangeSettingsAsync(string projectKey, string flagKey, long? expectedVersion, Actor actor, string action, Func<Flag, Flag> apply, CancellationToken cancellationToken) =>
        WriteAsync(actor, async change =>
        {
            var s = change.Session;
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var flag = await s.FlagAsync(project, flagKey).ConfigureAwait(false);
            var environments = await s.ListEnvironmentsAsync(project.Id).ConfigureAwait(false);
            var targetings = await s.ListTargetingsOfFlagAsync(flag.Id).ConfigureAwait(false);
            if (expectedVersion is { } expected)
            {
                Lookups.CheckVersion(flag.Version, expected, $"Flag \"{flag.Key}\"", Details(flag, targetings, environments));
            }

            var updated = apply(flag) with { UpdatedAt = change.Now };
            if (Same(updated, flag))
            {
                return Details(flag, targetings, environments);
            }

            var errors = new ValidationErrors();
            FlagRules.CheckFlag(updated, errors);
            CheckUnchangedPath(flag, updated, errors);
            errors.ThrowIfAny();
            CheckTargetings(updated, targetings, environments, await s.SegmentsByKeyAsync(project).ConfigureAwait(false));

            await s.UpdateFlagAsync(updated, flag.Version).ConfigureAwait(false);
            updated = updated with { Version = flag.Version + 1, Revision = flag.Revision + 1 };
            await change.AuditAsync(
                "flag", flag.Key, action,
                ChangeRecorder.ToJson(Document(flag, targetings, environments), DomainJson.Default.FlagDocument),
                ChangeRecorder.ToJson(Document(updated, targetings, environments), DomainJson.Default.FlagDocument),
                project.Id, null, flag.Id, updated.Revision).ConfigureAwait(false);
            foreach (var environment in environments)
            {
                await change.ConfigChangedAsync(environment.Id, [flag.Key]).ConfigureAwait(false);
            }

            return Details(updated, targetings, environments);
        }, cancellationToken);

    /// <summary>A migration flag's path and kind are fixed when it is created: its stages, and the data each holds, depend on them.</summary>
    internal static void CheckUnchangedPath(Flag before, Flag after, ValidationErrors errors)
    {
        if ((before.Kind == FlagKind.Migration) != (after.Kind == FlagKind.Migration))
        {
            errors.Add("kind", before.Kind == FlagKind.Migration
                ? "a migration flag stays a migration flag; archive it and create another flag instead"
                : "a flag cannot become a migration flag; create a migration flag instead");
        }
        else if (before.Migration?.Path is { } path && after.Migration?.Path is { } newPath && path != newPath)
        {
            errors.Add("migration.path", $"is fixed when the flag is created ({JsonSerializer.Serialize(path, DomainJson.Default.MigrationPath).Trim('"')}); create another flag for another path");
        }
    }

    private static bool Same(Flag a, Flag b) =>
        JsonSerializer.Serialize(a with { UpdatedAt = default }, DomainJson.Default.Flag) == JsonSerializer.Serialize(b with { UpdatedAt = default }, DomainJson.Default.Flag);

    /// <summary>Deletes an archived flag for good (its history stays in the audit log).</summary>
    public Task DeleteAsync(string projectKey, string flagKey, long expectedVersion, Actor actor, CancellationToken cancellationToken = default) =>
        WriteAsync(actor, async change =>
        {
            var s = change.Session;
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var flag = await s.FlagAsync(project, flagKey).ConfigureAwait(false);
            var environments = await s.ListEnvironmentsAsync(project.Id).ConfigureAwait(false);
            var targetings = await s.ListTargetingsOfFlagAsync(flag.Id).ConfigureAwait(false);
            Lookups.CheckVersion(flag.Version, expectedVersion, $"Flag \"{flag.Key}\"", Details(flag, targetings, environments));
            if (flag.ArchivedAt is null)
            {
                throw new ConflictException($"Flag \"{flag.Key}\" is in use: archive it first (archived flags are served to no one), then delete it.", Details(flag, targetings, environments));
            }

            await s.DeleteFlagAsync(flag.Id).ConfigureAwait(false);
            await change.AuditAsync("flag", flag.Key, "deleted", ChangeRecorder.ToJson(Document(flag, targetings, environments), DomainJson.Default.FlagDocument), null, project.Id, null, flag.Id, flag.Revision + 1).ConfigureAwait(false);
            foreach (var environment in environments)
            {
                await change.ConfigChangedAsync(environment.Id, [flag.Key]).ConfigureAwait(false);
            }

            return true;
        }, cancellationToken);

    public Task<TargetingView> GetTargetingAsync(string projectKey, string flagKey, string environmentKey, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async s =>
        {
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var flag = await s.FlagAsync(project, flagKey).ConfigureAwait(false);
            var environment = await s.EnvironmentAsync(project, environmentKey).ConfigureAwait(false);
            var targeting = await s.GetTargetingAsync(flag.Id, environment.Id).ConfigureAwait(false) ?? throw new NotFoundException("No targeting.");
            return TargetingView.From(environment.Key, targeting);
        }, cancellationToken);

    public Task<TargetingView> PutTargetingAsync(string projectKey, string flagKey, string environmentKey, TargetingRequest request, long expectedVersion, Actor actor, CancellationToken cancellationToken = default) =>
        ChangeTargetingAsync(projectKey, flagKey, environmentKey, expectedVersion, actor, "targeting-updated", null, t => t with
        {
            Enabled = request.Enabled,
            Rules = request.Rules,
            DefaultServe = request.DefaultServe,
        }, cancellationToken);

    /// <summary>The main switch: one call, no version needed (turning off twice is still off).</summary>
    public Task<TargetingView> SetEnabledAsync(string projectKey, string flagKey, string environmentKey, bool enabled, Actor actor, CancellationToken cancellationToken = default) =>
        ChangeTargetingAsync(projectKey, flagKey, environmentKey, null, actor, enabled ? "enabled" : "disabled", null, t => t with { Enabled = enabled }, cancellationToken);

    internal Task<TargetingView> ChangeTargetingAsync(
        string projectKey, string flagKey, string environmentKey, long? expectedVersion, Actor actor, string action, string? comment,
        Func<Targeting, Targeting> apply, CancellationToken cancellationToken) =>
        WriteAsync(actor, async change =>
        {
            var s = change.Session;
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var flag = await s.FlagAsync(project, flagKey).ConfigureAwait(false);
            var environment = await s.EnvironmentAsync(project, environmentKey).ConfigureAwait(false);
            var environments = await s.ListEnvironmentsAsync(project.Id).ConfigureAwait(false);
            var targetings = await s.ListTargetingsOfFlagAsync(flag.Id).ConfigureAwait(false);
            var current = targetings.Single(t => t.EnvironmentId == environment.Id);
            if (expectedVersion is { } expected)
            {
                Lookups.CheckVersion(current.Version, expected, $"The targeting of flag \"{flag.Key}\" in {environment.Name}", TargetingView.From(environment.Key, current));
            }

            var updated = apply(current) with { UpdatedAt = change.Now };
            if (JsonSerializer.Serialize(updated with { UpdatedAt = default }, DomainJson.Default.Targeting) == JsonSerializer.Serialize(current with { UpdatedAt = default }, DomainJson.Default.Targeting))
            {
                return TargetingView.From(environment.Key, current);
            }

            var segments = await s.SegmentsByKeyAsync(project).ConfigureAwait(false);
            var errors = new ValidationErrors();
            FlagRules.CheckTargeting(flag, updated, segments, errors);
            errors.ThrowIfAny();

            await s.UpdateTargetingAsync(updated, current.Version).ConfigureAwait(false);
            updated = updated with { Version = current.Version + 1 };
            long revision = await s.BumpFlagRevisionAsync(flag.Id, change.Now).ConfigureAwait(false);
            var after = targetings.Select(t => t.EnvironmentId == environment.Id ? updated : t).ToList();
            await change.AuditAsync(
                "flag", flag.Key, action,
                ChangeRecorder.ToJson(Document(flag, targetings, environments), DomainJson.Default.FlagDocument),
                ChangeRecorder.ToJson(Document(flag, after, environments), DomainJson.Default.FlagDocument),
                project.Id, environment.Id, flag.Id, revision, comment).ConfigureAwait(false);
            await change.ConfigChangedAsync(environment.Id, [flag.Key]).ConfigureAwait(false);
            return TargetingView.From(environment.Key, updated);
        }, cancellationToken);

    /// <summary>Every revision of a flag, newest first.</summary>
    public Task<IReadOnlyList<FlagRevision>> HistoryAsync(string projectKey, string flagKey, int limit, long? beforeRevision, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async s =>
        {
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var flag = await s.FlagAsync(project, flagKey).ConfigureAwait(false);
            var environments = (await s.ListEnvironmentsAsync(project.Id).ConfigureAwait(false)).ToDictionary(e => e.Id, e => e.Key);
            var entries = await s.ListAuditAsync(new AuditQuery { FlagId = flag.Id, Limit = 10_000 }).ConfigureAwait(false);
            return (IReadOnlyList<FlagRevision>)[.. entries
                .Where(e => e.Revision is not null && e.After is not null && (beforeRevision is null || e.Revision < beforeRevision))
                .Take(limit)
                .Select(e => Revision(e, environments))];
        }, cancellationToken);

    public Task<FlagRevision> GetRevisionAsync(string projectKey, string flagKey, long revision, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async s =>
        {
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var flag = await s.FlagAsync(project, flagKey).ConfigureAwait(false);
            var environments = (await s.ListEnvironmentsAsync(project.Id).ConfigureAwait(false)).ToDictionary(e => e.Id, e => e.Key);
            var entry = await s.GetFlagRevisionAsync(flag.Id, revision).ConfigureAwait(false);
            return entry is { After: not null } ? Revision(entry, environments) : throw new NotFoundException($"Flag \"{flag.Key}\" has no revision {revision}.");
        }, cancellationToken);

    /// <summary>
    /// Makes a flag as it was at a revision, as a new recorded change with a reason: its settings
    /// (unless <see cref="RevertRequest.Settings"/> is false), and its targeting in every environment
    /// that still exists, or only in <see cref="RevertRequest.Environments"/>.
    /// </summary>
    public Task<FlagDetails> RevertAsync(string projectKey, string flagKey, long revision, RevertRequest request, Actor actor, CancellationToken cancellationToken = default) =>
        WriteAsync(actor, async change =>
        {
            ArgumentNullException.ThrowIfNull(request);
            var s = change.Session;
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var flag = await s.FlagAsync(project, flagKey).ConfigureAwait(false);
            var entry = await s.GetFlagRevisionAsync(flag.Id, revision).ConfigureAwait(false);
            if (entry?.After is not { } state)
            {
                throw new NotFoundException($"Flag \"{flag.Key}\" has no revision {revision}.");
            }

            var target = state.Deserialize(DomainJson.Default.FlagDocument)!;
            var environments = await s.ListEnvironmentsAsync(project.Id).ConfigureAwait(false);
            var targetings = await s.ListTargetingsOfFlagAsync(flag.Id).ConfigureAwait(false);
            target = Scope(target, request, revision, Document(flag, targetings, environments));
            string? comment = request.Comment is { } reason && !string.IsNullOrWhiteSpace(reason) ? reason.Trim() : null;
            var segments = await s.SegmentsByKeyAsync(project).ConfigureAwait(false);
            var (settings, newTargetings, changedEnvironments) = Apply(flag, target, targetings, environments, change.Now);
            if (changedEnvironments.Count == 0 && Same(settings, flag))
            {
                return Details(flag, targetings, environments);
            }

            // A restore that changed one environment's targeting alone is shown in the history as in that environment.
            var only = changedEnvironments.Count == 1 && Same(settings, flag) ? environments.First(e => e.Id == changedEnvironments.Single()) : null;
            var errors = new ValidationErrors();
            FlagRules.CheckFlag(settings, errors);
            errors.ThrowIfAny();
            CheckTargetings(settings, newTargetings, environments, segments);

            await s.UpdateFlagAsync(settings, flag.Version).ConfigureAwait(false);
            foreach (var targeting in newTargetings.Where(t => changedEnvironments.Contains(t.EnvironmentId)))
            {
                var old = targetings.Single(t => t.EnvironmentId == targeting.EnvironmentId);
                await s.UpdateTargetingAsync(targeting, old.Version).ConfigureAwait(false);
            }

            settings = settings with { Version = flag.Version + 1, Revision = flag.Revision + 1 };
            var result = newTargetings.Select(t => changedEnvironments.Contains(t.EnvironmentId) ? t with { Version = t.Version + 1 } : t).ToList();
            await change.AuditAsync(
                "flag", flag.Key, "reverted",
                ChangeRecorder.ToJson(Document(flag, targetings, environments), DomainJson.Default.FlagDocument),
                ChangeRecorder.ToJson(Document(settings, result, environments), DomainJson.Default.FlagDocument),
                project.Id, only?.Id, flag.Id, settings.Revision, comment ?? $"Reverted to revision {revision}").ConfigureAwait(false);
            foreach (var environment in environments)
            {
                await change.ConfigChangedAsync(environment.Id, [flag.Key]).ConfigureAwait(false);
            }

            return Details(settings, result, environments);
        }, cancellationToken);

    // What of a revision a restore applies: the environments asked for (all by default) and, unless
    // asked not to, the settings; the rest stays as it is now. Bad requests change nothing.
    private static FlagDocument Scope(FlagDocument target, RevertRequest request, long revision, FlagDocument current)
    {
        var errors = new ValidationErrors();
        Limits.CheckLength(request.Comment, Limits.DescriptionLength, "comment", errors);
        var environments = target.Environments;
        if (request.Environments is { } keys)
        {
            if (keys.Count > Limits.Environments)
            {
                throw new DomainValidationException("environments", $"has {keys.Count} entries; a project has at most {Limits.Environments} environments");
            }

            if (keys.Count == 0 && request.Settings == false)
            {
                errors.Add("environments", "is empty and settings is false: choose what to restore");
            }

            for (int i = 0; i < keys.Count; i++)
            {
                if (!current.Environments.ContainsKey(keys[i] ?? ""))
                {
                    errors.Add($"environments[{i}]", $"\"{Limits.Truncate(keys[i] ?? "")}\" is not an environment of the project");
                }
                else if (!target.Environments.ContainsKey(keys[i]))
                {
                    errors.Add($"environments[{i}]", $"\"{keys[i]}\" did not exist at revision {revision}: it has nothing to restore");
                }
            }

            environments = target.Environments.Where(e => keys.Contains(e.Key)).ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
        }

        errors.ThrowIfAny();
        var scoped = target with { Environments = environments };
        return request.Settings == false
            ? scoped with
            {
                Name = current.Name,
                Description = current.Description,
                Tags = current.Tags,
                Kind = current.Kind,
                ValueType = current.ValueType,
                Variations = current.Variations,
                Migration = current.Migration,
                Archived = current.Archived,
            }
            : scoped;
    }

    /// <summary>Applies a document's settings and targeting to a flag; returns the environments whose targeting changed.</summary>
    internal static (Flag Settings, List<Targeting> Targetings, HashSet<string> ChangedEnvironments) Apply(
        Flag flag, FlagDocument document, IReadOnlyList<Targeting> targetings, IReadOnlyList<ProjectEnvironment> environments, DateTimeOffset now)
    {
        var settings = flag with
        {
            Name = document.Name,
            Description = document.Description,
            Tags = document.Tags,
            Kind = document.Kind,
            ValueType = document.ValueType,
            Variations = document.Variations,
            Migration = document.Migration,
            ArchivedAt = document.Archived ? flag.ArchivedAt ?? now : null,
            UpdatedAt = now,
        };
        var changed = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<Targeting>();
        foreach (var targeting in targetings)
        {
            var key = environments.First(e => e.Id == targeting.EnvironmentId).Key;
            if (document.Environments.TryGetValue(key, out var wanted))
            {
                var updated = targeting with { Enabled = wanted.Enabled, Rules = wanted.Rules, DefaultServe = wanted.DefaultServe, UpdatedAt = now };
                if (JsonSerializer.Serialize(EnvironmentOf(updated), DomainJson.Default.EnvironmentTargeting) != JsonSerializer.Serialize(EnvironmentOf(targeting), DomainJson.Default.EnvironmentTargeting))
                {
                    changed.Add(targeting.EnvironmentId);
                    result.Add(updated);
                    continue;
                }
            }

            result.Add(targeting);
        }

        return (settings, result, changed);
    }

    private static EnvironmentTargeting EnvironmentOf(Targeting t) => new() { Enabled = t.Enabled, Rules = t.Rules, DefaultServe = t.DefaultServe };

    /// <summary>Validates a flag's targeting in every environment; errors name the environment. (What is written is compiled once, with the change: <see cref="ChangeRecorder.CompilePatchesAsync"/>.)</summary>
    internal static void CheckTargetings(Flag flag, IReadOnlyList<Targeting> targetings, IReadOnlyList<ProjectEnvironment> environments, IReadOnlyDictionary<string, Segment> segments)
    {
        var errors = new ValidationErrors();
        foreach (var targeting in targetings)
        {
            var key = environments.First(e => e.Id == targeting.EnvironmentId).Key;
            FlagRules.CheckTargeting(flag, targeting, segments, errors, $"environments.{key}");
        }

        errors.ThrowIfAny();
    }

    internal static FlagDocument Document(Flag flag, IEnumerable<Targeting> targetings, IReadOnlyList<ProjectEnvironment> environments) => new()
    {
        Key = flag.Key,
        Name = flag.Name,
        Description = flag.Description,
        Tags = flag.Tags,
        Kind = flag.Kind,
        ValueType = flag.ValueType,
        Variations = flag.Variations,
        Migration = flag.Migration,
        Archived = flag.ArchivedAt is not null,
        Environments = targetings
            .Select(t => (Environment: environments.FirstOrDefault(e => e.Id == t.EnvironmentId), Targeting: t))
            .Where(p => p.Environment is not null)
            .OrderBy(p => p.Environment!.Position)
            .ToDictionary(p => p.Environment!.Key, p => EnvironmentOf(p.Targeting), StringComparer.Ordinal),
    };

    private static async Task<FlagDetails> DetailsAsync(StoreSession s, Project project, Flag flag)
    {
        var environments = await s.ListEnvironmentsAsync(project.Id).ConfigureAwait(false);
        var targetings = await s.ListTargetingsOfFlagAsync(flag.Id).ConfigureAwait(false);
        return Details(flag, targetings, environments);
    }

    internal static FlagDetails Details(Flag flag, IEnumerable<Targeting> targetings, IReadOnlyList<ProjectEnvironment> environments)
    {
        var byEnvironment = targetings.ToDictionary(t => t.EnvironmentId);
        return new FlagDetails
        {
            Flag = flag,
            Environments = [.. environments.Where(e => byEnvironment.ContainsKey(e.Id)).Select(e => TargetingView.From(e.Key, byEnvironment[e.Id]))],
        };
    }

    private static FlagRevision Revision(AuditEntry entry, IReadOnlyDictionary<string, string> environments) => new()
    {
        Revision = entry.Revision!.Value,
        At = entry.At,
        Actor = entry.Actor,
        Action = entry.Action,
        Environment = entry.EnvironmentId is { } id ? environments.GetValueOrDefault(id) : null,
        Comment = entry.Comment,
        Flag = entry.After!.Value.Deserialize(DomainJson.Default.FlagDocument)!,
    };

    /// <summary>The variations a new flag gets when none are given.</summary>
    internal static IReadOnlyList<Variation> DefaultVariations(FlagValueType type) => type switch
    {
        FlagValueType.Boolean =>
        [
            new Variation { Key = "on", Name = "On", Value = Json("true") },
            new Variation { Key = "off", Name = "Off", Fallback = true },
        ],
        FlagValueType.String =>
        [
            new Variation { Key = "value", Name = "Value", Value = Json("\"\"") },
            new Variation { Key = "off", Name = "Off", Fallback = true },
        ],
        FlagValueType.Number =>
        [
            new Variation { Key = "value", Name = "Value", Value = Json("0") },
            new Variation { Key = "off", Name = "Off", Fallback = true },
        ],
        _ =>
        [
            new Variation { Key = "value", Name = "Value", Value = Json("{}") },
            new Variation { Key = "off", Name = "Off", Fallback = true },
        ],
    };

    /// <summary>What a new environment serves: the fallback if there is one (the flag stays inactive), else the first variation.</summary>
    internal static Serve DefaultServe(Flag flag) => Serve.Of((flag.Variations.FirstOrDefault(v => v.Fallback) ?? flag.Variations[0]).Key);

    internal static JsonElement Json(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
