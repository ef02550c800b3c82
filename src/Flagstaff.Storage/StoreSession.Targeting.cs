using System.Globalization;
using Dapper;
using Flagstaff.Domain;

namespace Flagstaff.Storage;

public sealed partial class StoreSession
{
    private sealed class TargetingRow
    {
        public string FlagId { get; set; } = "";

        public string EnvironmentId { get; set; } = "";

        public long Enabled { get; set; }

        public string Rules { get; set; } = "[]";

        public string DefaultServe { get; set; } = "{}";

        public long Version { get; set; }

        public long UpdatedAt { get; set; }

        public Targeting ToTargeting() => new()
        {
            FlagId = FlagId,
            EnvironmentId = EnvironmentId,
            Enabled = Enabled != 0,
            Rules = FromJson(Rules, DomainJson.Default.IReadOnlyListTargetingRule),
            DefaultServe = FromJson(DefaultServe, DomainJson.Default.Serve),
            Version = Version,
            UpdatedAt = At(UpdatedAt),
        };
    }

    private const string TargetingColumns = "flag_id, environment_id, enabled, rules, default_serve, version, updated_at";

    /// <summary>Finds a flag's targeting in an environment.</summary>
    public async Task<Targeting?> GetTargetingAsync(string flagId, string environmentId) =>
        (await QuerySingleAsync<TargetingRow>($"SELECT {TargetingColumns} FROM targetings WHERE flag_id = @flagId AND environment_id = @environmentId", new { flagId, environmentId }).ConfigureAwait(false))?.ToTargeting();

    /// <summary>Lists a flag's targeting in every environment.</summary>
    public async Task<IReadOnlyList<Targeting>> ListTargetingsOfFlagAsync(string flagId) =>
        [.. (await QueryAsync<TargetingRow>($"SELECT {TargetingColumns} FROM targetings WHERE flag_id = @flagId", new { flagId }).ConfigureAwait(false)).Select(r => r.ToTargeting())];

    /// <summary>Lists every flag's targeting in an environment.</summary>
    public async Task<IReadOnlyList<Targeting>> ListTargetingsOfEnvironmentAsync(string environmentId) =>
        [.. (await QueryAsync<TargetingRow>($"SELECT {TargetingColumns} FROM targetings WHERE environment_id = @environmentId", new { environmentId }).ConfigureAwait(false)).Select(r => r.ToTargeting())];

    /// <summary>Lists every targeting of a project's flags.</summary>
    public async Task<IReadOnlyList<Targeting>> ListTargetingsOfProjectAsync(string projectId) =>
        [.. (await QueryAsync<TargetingRow>(
            "SELECT t.flag_id, t.environment_id, t.enabled, t.rules, t.default_serve, t.version, t.updated_at FROM targetings t JOIN flags f ON f.id = t.flag_id WHERE f.project_id = @projectId",
            new { projectId }).ConfigureAwait(false)).Select(r => r.ToTargeting())];

    /// <summary>The targetings of some flags in every environment (a page of the flag list).</summary>
    public async Task<IReadOnlyList<Targeting>> ListTargetingsOfFlagsAsync(IReadOnlyList<string> flagIds)
    {
        ArgumentNullException.ThrowIfNull(flagIds);
        if (flagIds.Count == 0)
        {
            return [];
        }

        // One parameter per id: the same SQL on both databases (a page has at most a few hundred).
        var parameters = new DynamicParameters();
        for (int i = 0; i < flagIds.Count; i++)
        {
            parameters.Add("id" + i.ToString(CultureInfo.InvariantCulture), flagIds[i]);
        }

        var list = string.Join(", ", Enumerable.Range(0, flagIds.Count).Select(i => "@id" + i.ToString(CultureInfo.InvariantCulture)));
        return [.. (await QueryAsync<TargetingRow>(
            $"SELECT flag_id, environment_id, enabled, rules, default_serve, version, updated_at FROM targetings WHERE flag_id IN ({list})",
            parameters).ConfigureAwait(false)).Select(r => r.ToTargeting())];
    }

    /// <summary>Creates a flag's targeting in an environment.</summary>
    public Task InsertTargetingAsync(Targeting targeting) => ExecuteAsync(
        $"INSERT INTO targetings ({TargetingColumns}) VALUES (@FlagId, @EnvironmentId, @enabled, @rules, @defaultServe, 1, @updated)",
        new
        {
            targeting.FlagId,
            targeting.EnvironmentId,
            enabled = targeting.Enabled ? 1 : 0,
            rules = Json(targeting.Rules, DomainJson.Default.IReadOnlyListTargetingRule),
            defaultServe = Json(targeting.DefaultServe, DomainJson.Default.Serve),
            updated = Ms(targeting.UpdatedAt),
        });

    /// <summary>Updates a targeting if it is still at <paramref name="expectedVersion"/>.</summary>
    public async Task UpdateTargetingAsync(Targeting targeting, long expectedVersion) => Expect(await ExecuteAsync(
        "UPDATE targetings SET enabled = @enabled, rules = @rules, default_serve = @defaultServe, updated_at = @updated, version = version + 1 " +
        "WHERE flag_id = @FlagId AND environment_id = @EnvironmentId AND version = @expectedVersion",
        new
        {
            enabled = targeting.Enabled ? 1 : 0,
            rules = Json(targeting.Rules, DomainJson.Default.IReadOnlyListTargetingRule),
            defaultServe = Json(targeting.DefaultServe, DomainJson.Default.Serve),
            updated = Ms(targeting.UpdatedAt),
            targeting.FlagId,
            targeting.EnvironmentId,
            expectedVersion,
        }).ConfigureAwait(false), "The targeting");
}
