using System.Text.Json;
using Flagstaff.Domain;
using Flagstaff.Storage;

namespace Flagstaff.Server.Services;

/// <summary>
/// Segments (reusable sets of contexts) and context properties (the catalogue the rule builder offers).
/// Segments are inlined when flags compile, so changing one recompiles, and re-announces, every flag
/// that uses it; a segment still in use cannot be deleted.
/// </summary>
public sealed class SegmentService(Store store, ChangeRunner changes)
{
    private Task<T> WriteAsync<T>(Actor actor, Func<ChangeRecorder, Task<T>> work, CancellationToken cancellationToken) =>
        changes.WriteAsync(actor, work, cancellationToken);

    public Task<IReadOnlyList<Segment>> ListAsync(string projectKey, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async s => await s.ListSegmentsAsync((await s.ProjectAsync(projectKey).ConfigureAwait(false)).Id).ConfigureAwait(false), cancellationToken);

    public Task<Segment> GetAsync(string projectKey, string segmentKey, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async s => await s.SegmentAsync(await s.ProjectAsync(projectKey).ConfigureAwait(false), segmentKey).ConfigureAwait(false), cancellationToken);

    public Task<Segment> CreateAsync(string projectKey, SegmentRequest request, Actor actor, CancellationToken cancellationToken = default) =>
        WriteAsync(actor, async change =>
        {
            var project = await change.Session.ProjectAsync(projectKey).ConfigureAwait(false);
            var segment = new Segment
            {
                Id = Lookups.NewId(),
                ProjectId = project.Id,
                Key = request.Key ?? "",
                Name = request.Name ?? "",
                Description = request.Description,
                Clauses = request.Clauses ?? [],
                IdProperty = request.IdProperty,
                Ids = request.Ids ?? [],
                Version = 1,
                CreatedAt = change.Now,
                UpdatedAt = change.Now,
            };
            var errors = new ValidationErrors();
            FlagRules.CheckSegment(segment, errors);
            errors.ThrowIfAny();
            if (await change.Session.GetSegmentAsync(project.Id, segment.Key).ConfigureAwait(false) is not null)
            {
                throw new ConflictException($"Project \"{project.Key}\" already has a segment \"{segment.Key}\".");
            }

            await change.Session.InsertSegmentAsync(segment).ConfigureAwait(false);
            await change.AuditAsync("segment", segment.Key, "created", null, ChangeRecorder.ToJson(segment, DomainJson.Default.Segment), project.Id).ConfigureAwait(false);
            return segment;
        }, cancellationToken);

    public Task<Segment> UpdateAsync(string projectKey, string segmentKey, SegmentRequest request, long expectedVersion, Actor actor, CancellationToken cancellationToken = default) =>
        WriteAsync(actor, async change =>
        {
            var s = change.Session;
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var segment = await s.SegmentAsync(project, segmentKey).ConfigureAwait(false);
            Lookups.CheckVersion(segment.Version, expectedVersion, $"Segment \"{segment.Key}\"", segment);
            if (request.Key is not null && request.Key != segment.Key)
            {
                throw new DomainValidationException("key", "a segment's key cannot change (flags refer to it)");
            }

            var updated = segment with
            {
                Name = request.Name ?? segment.Name,
                Description = request.Description ?? segment.Description,
                Clauses = request.Clauses ?? segment.Clauses,
                IdProperty = request.IdProperty ?? segment.IdProperty,
                Ids = request.Ids ?? segment.Ids,
                UpdatedAt = change.Now,
            };
            var errors = new ValidationErrors();
            FlagRules.CheckSegment(updated, errors);
            errors.ThrowIfAny();

            // Recompile every flag that uses the segment, with the segment as it will be.
            var segments = (await s.SegmentsByKeyAsync(project).ConfigureAwait(false)).ToDictionary(p => p.Key, p => p.Key == segment.Key ? updated : p.Value, StringComparer.Ordinal);
            var users = await UsersAsync(s, project, segment.Key).ConfigureAwait(false);
            var environments = await s.ListEnvironmentsAsync(project.Id).ConfigureAwait(false);
            foreach (var (flag, targetings) in users)
            {
                FlagService.CheckTargetings(flag, targetings, environments, segments);
            }

            await s.UpdateSegmentAsync(updated, segment.Version).ConfigureAwait(false);
            updated = updated with { Version = segment.Version + 1 };
            await change.AuditAsync("segment", segment.Key, "updated", ChangeRecorder.ToJson(segment, DomainJson.Default.Segment), ChangeRecorder.ToJson(updated, DomainJson.Default.Segment), project.Id).ConfigureAwait(false);
            foreach (var environment in environments)
            {
                var keys = users.Where(u => u.Targetings.Any(t => t.EnvironmentId == environment.Id && Uses(t, segment.Key))).Select(u => u.Flag.Key).ToList();
                await change.ConfigChangedAsync(environment.Id, keys).ConfigureAwait(false);
            }

            return updated;
        }, cancellationToken);

    public Task DeleteAsync(string projectKey, string segmentKey, long expectedVersion, Actor actor, CancellationToken cancellationToken = default) =>
        WriteAsync(actor, async change =>
        {
            var s = change.Session;
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var segment = await s.SegmentAsync(project, segmentKey).ConfigureAwait(false);
            Lookups.CheckVersion(segment.Version, expectedVersion, $"Segment \"{segment.Key}\"", segment);
            var users = await UsersAsync(s, project, segment.Key).ConfigureAwait(false);
            if (users.Count > 0)
            {
                var names = string.Join(", ", users.Take(10).Select(u => $"\"{u.Flag.Key}\""));
                throw new ConflictException($"Segment \"{segment.Key}\" is still used by {users.Count} flag(s): {names}. Remove it from their rules first.", segment);
            }

            await s.DeleteSegmentAsync(segment.Id).ConfigureAwait(false);
            await change.AuditAsync("segment", segment.Key, "deleted", ChangeRecorder.ToJson(segment, DomainJson.Default.Segment), null, project.Id).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    private static async Task<List<(Flag Flag, List<Targeting> Targetings)>> UsersAsync(StoreSession s, Project project, string segmentKey)
    {
        var flags = (await s.ListAllFlagsAsync(project.Id).ConfigureAwait(false)).ToDictionary(f => f.Id);
        return [.. (await s.ListTargetingsOfProjectAsync(project.Id).ConfigureAwait(false))
            .GroupBy(t => t.FlagId)
            .Where(g => g.Any(t => Uses(t, segmentKey)))
            .Select(g => (flags[g.Key], g.ToList()))];
    }

    private static bool Uses(Targeting targeting, string segmentKey) =>
        targeting.Rules.Any(r => r.Clauses.Any(c => c.Segment == segmentKey));

    public Task<IReadOnlyList<ContextProperty>> ListPropertiesAsync(string projectKey, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async s => await s.ListContextPropertiesAsync((await s.ProjectAsync(projectKey).ConfigureAwait(false)).Id).ConfigureAwait(false), cancellationToken);

    /// <summary>A page of the catalogue, by key: those matching a search, learned from reports or defined by hand.</summary>
    public Task<Page<ContextProperty>> ListPropertiesAsync(string projectKey, PropertyQuery query, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async s => await s.ListContextPropertiesAsync((await s.ProjectAsync(projectKey).ConfigureAwait(false)).Id, query).ConfigureAwait(false), cancellationToken);

    /// <summary>
    /// Removes, in one change, the properties learned from reports that match a search or are named
    /// (those defined or changed by hand are never removed this way), with the values remembered for
    /// them; each is recorded in the history. Returns the keys removed.
    /// </summary>
    public Task<IReadOnlyList<string>> RemoveLearnedPropertiesAsync(string projectKey, string? search, IReadOnlyList<string>? keys, Actor actor, CancellationToken cancellationToken = default) =>
        WriteAsync<IReadOnlyList<string>>(actor, async change =>
        {
            var project = await change.Session.ProjectAsync(projectKey).ConfigureAwait(false);
            var removed = await change.Session.FindContextPropertiesAsync(project.Id, new PropertyQuery { Search = search, Keys = keys, Learned = true }).ConfigureAwait(false);
            foreach (var property in removed)
            {
                await change.Session.DeleteContextPropertyAsync(property).ConfigureAwait(false);
                await change.AuditAsync("context-property", property.Key, "deleted", ChangeRecorder.ToJson(property, DomainJson.Default.ContextProperty), null, project.Id,
                    comment: "removed in bulk with the other properties learned from reports").ConfigureAwait(false);
            }

            return [.. removed.Select(p => p.Key)];
        }, cancellationToken);

    public Task<ContextProperty> GetPropertyAsync(string projectKey, string key, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async s => await s.ContextPropertyAsync(await s.ProjectAsync(projectKey).ConfigureAwait(false), key).ConfigureAwait(false), cancellationToken);

    public Task<ContextProperty> CreatePropertyAsync(string projectKey, ContextPropertyRequest request, Actor actor, CancellationToken cancellationToken = default) =>
        WriteAsync(actor, async change =>
        {
            var project = await change.Session.ProjectAsync(projectKey).ConfigureAwait(false);
            var property = new ContextProperty
            {
                Id = Lookups.NewId(),
                ProjectId = project.Id,
                Key = request.Key ?? "",
                Name = request.Name ?? request.Key ?? "",
                Description = request.Description,
                Type = request.Type ?? PropertyType.String,
                Options = request.Options ?? [],
                Hidden = request.Hidden ?? false,
                Version = 1,
                CreatedAt = change.Now,
                UpdatedAt = change.Now,
            };
            CheckProperty(property);
            if (await change.Session.GetContextPropertyAsync(project.Id, property.Key).ConfigureAwait(false) is not null)
            {
                throw new ConflictException($"Project \"{project.Key}\" already has a context property \"{property.Key}\".");
            }

            await change.Session.InsertContextPropertyAsync(property).ConfigureAwait(false);
            await change.AuditAsync("context-property", property.Key, "created", null, ChangeRecorder.ToJson(property, DomainJson.Default.ContextProperty), project.Id).ConfigureAwait(false);
            return property;
        }, cancellationToken);

    public Task<ContextProperty> UpdatePropertyAsync(string projectKey, string key, ContextPropertyRequest request, long expectedVersion, Actor actor, CancellationToken cancellationToken = default) =>
        WriteAsync(actor, async change =>
        {
            var project = await change.Session.ProjectAsync(projectKey).ConfigureAwait(false);
            var property = await change.Session.ContextPropertyAsync(project, key).ConfigureAwait(false);
            Lookups.CheckVersion(property.Version, expectedVersion, $"Context property \"{property.Key}\"", property);
            if (request.Key is not null && request.Key != property.Key)
            {
                throw new DomainValidationException("key", "a context property's key cannot change");
            }

            var updated = property with
            {
                Name = request.Name ?? property.Name,
                Description = request.Description ?? property.Description,
                Type = request.Type ?? property.Type,
                Options = request.Options ?? property.Options,
                Hidden = request.Hidden ?? property.Hidden,
                UpdatedAt = change.Now,
            };
            CheckProperty(updated);
            await change.Session.UpdateContextPropertyAsync(updated, property.Version).ConfigureAwait(false);
            updated = updated with { Version = property.Version + 1, Learned = false };
            await change.AuditAsync("context-property", property.Key, "updated", ChangeRecorder.ToJson(property, DomainJson.Default.ContextProperty), ChangeRecorder.ToJson(updated, DomainJson.Default.ContextProperty), project.Id).ConfigureAwait(false);
            return updated;
        }, cancellationToken);

    public Task DeletePropertyAsync(string projectKey, string key, long expectedVersion, Actor actor, CancellationToken cancellationToken = default) =>
        WriteAsync(actor, async change =>
        {
            var project = await change.Session.ProjectAsync(projectKey).ConfigureAwait(false);
            var property = await change.Session.ContextPropertyAsync(project, key).ConfigureAwait(false);
            Lookups.CheckVersion(property.Version, expectedVersion, $"Context property \"{property.Key}\"", property);
            await change.Session.DeleteContextPropertyAsync(property).ConfigureAwait(false);
            await change.AuditAsync("context-property", property.Key, "deleted", ChangeRecorder.ToJson(property, DomainJson.Default.ContextProperty), null, project.Id).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    internal static void CheckProperty(ContextProperty property)
    {
        var errors = new ValidationErrors();
        Limits.CheckPropertyName(property.Key, "key", errors);
        Limits.CheckName(property.Name, "name", errors);
        Limits.CheckLength(property.Description, Limits.DescriptionLength, "description", errors);
        if (property.Type == PropertyType.Select && property.Options.Count == 0)
        {
            errors.Add("options", "a SELECT property needs its options");
        }

        if (property.Options.Count > 1_000)
        {
            errors.Add("options", "at most 1000 options are allowed");
        }

        errors.ThrowIfAny();
    }

    internal static JsonElement? Json(Segment segment) => ChangeRecorder.ToJson(segment, DomainJson.Default.Segment);
}
