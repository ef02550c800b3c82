using System.Text.Json;
using Flagstaff.Domain;

namespace Flagstaff.Storage;

public sealed partial class StoreSession
{
    private sealed class AuditRow
    {
        public long Id { get; set; }

        public long At { get; set; }

        public string? ActorId { get; set; }

        public string ActorName { get; set; } = "";

        public string? ActorAddress { get; set; }

        public string? ProjectId { get; set; }

        public string? EnvironmentId { get; set; }

        public string? FlagId { get; set; }

        public string ResourceType { get; set; } = "";

        public string ResourceKey { get; set; } = "";

        public string Action { get; set; } = "";

        public long? Revision { get; set; }

        public string? BeforeState { get; set; }

        public string? AfterState { get; set; }

        public string? Comment { get; set; }

        public AuditEntry ToEntry() => new()
        {
            Id = Id,
            At = StoreSession.At(At),
            Actor = new Actor { AccountId = ActorId, Name = ActorName, Address = ActorAddress },
            ProjectId = ProjectId,
            EnvironmentId = EnvironmentId,
            FlagId = FlagId,
            ResourceType = ResourceType,
            ResourceKey = ResourceKey,
            Action = Action,
            Revision = Revision,
            Before = Parse(BeforeState),
            After = Parse(AfterState),
            Comment = Comment,
        };

        private static JsonElement? Parse(string? json)
        {
            if (json is null)
            {
                return null;
            }

            using var document = JsonDocument.Parse(json);
            return document.RootElement.Clone();
        }
    }

    private const string AuditColumns = "id, at, actor_id, actor_name, actor_address, project_id, environment_id, flag_id, resource_type, resource_key, action, revision, before_state, after_state, comment";

    /// <summary>Appends an entry to the audit log, in this transaction.</summary>
    public Task AppendAuditAsync(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return ExecuteAsync(
            "INSERT INTO audit_log (at, actor_id, actor_name, actor_address, project_id, environment_id, flag_id, resource_type, resource_key, action, revision, before_state, after_state, comment) " +
            "VALUES (@at, @actorId, @actorName, @actorAddress, @ProjectId, @EnvironmentId, @FlagId, @ResourceType, @ResourceKey, @Action, @Revision, @before, @after, @Comment)",
            new
            {
                at = Ms(entry.At),
                actorId = entry.Actor.AccountId,
                actorName = entry.Actor.Name,
                actorAddress = entry.Actor.Address,
                entry.ProjectId,
                entry.EnvironmentId,
                entry.FlagId,
                entry.ResourceType,
                entry.ResourceKey,
                entry.Action,
                entry.Revision,
                before = entry.Before?.GetRawText(),
                after = entry.After?.GetRawText(),
                entry.Comment,
            });
    }

    /// <summary>Lists audit entries, newest first.</summary>
    public async Task<IReadOnlyList<AuditEntry>> ListAuditAsync(AuditQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var where = new List<string>();
        if (query.ProjectId is not null)
        {
            where.Add("project_id = @ProjectId");
        }

        if (query.FlagId is not null)
        {
            where.Add("flag_id = @FlagId");
        }

        if (query.EnvironmentId is not null)
        {
            where.Add("environment_id = @EnvironmentId");
        }

        if (query.ActorId is not null)
        {
            where.Add("actor_id = @ActorId");
        }

        if (query.From is not null)
        {
            where.Add("at >= @from");
        }

        if (query.To is not null)
        {
            where.Add("at < @to");
        }

        if (query.BeforeId is not null)
        {
            where.Add("id < @BeforeId");
        }

        string filter = where.Count == 0 ? "" : "WHERE " + string.Join(" AND ", where);
        var rows = await QueryAsync<AuditRow>($"SELECT {AuditColumns} FROM audit_log {filter} ORDER BY id DESC LIMIT @Limit", new
        {
            query.ProjectId,
            query.FlagId,
            query.EnvironmentId,
            query.ActorId,
            from = Ms(query.From),
            to = Ms(query.To),
            query.BeforeId,
            query.Limit,
        }).ConfigureAwait(false);
        return [.. rows.Select(r => r.ToEntry())];
    }

    /// <summary>Finds the audit entry that produced a flag's revision.</summary>
    public async Task<AuditEntry?> GetFlagRevisionAsync(string flagId, long revision) =>
        (await QuerySingleAsync<AuditRow>($"SELECT {AuditColumns} FROM audit_log WHERE flag_id = @flagId AND revision = @revision", new { flagId, revision }).ConfigureAwait(false))?.ToEntry();

    /// <summary>The latest change to a flag in an environment made by a system actor (such as the guard).</summary>
    public async Task<AuditEntry?> LastSystemChangeAsync(string flagId, string environmentId, string actorName) =>
        (await QuerySingleAsync<AuditRow>(
            $"SELECT {AuditColumns} FROM audit_log WHERE flag_id = @flagId AND environment_id = @environmentId AND actor_id IS NULL AND actor_name = @actorName ORDER BY id DESC LIMIT 1",
            new { flagId, environmentId, actorName }).ConfigureAwait(false))?.ToEntry();
}
