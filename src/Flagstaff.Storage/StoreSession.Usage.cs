namespace Flagstaff.Storage;

public sealed partial class StoreSession
{
    /// <summary>Adds evaluation counts (summed with what is stored for the same minute, value and client).</summary>
    public async Task AddUsageAsync(IEnumerable<UsageCount> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        foreach (var c in counts)
        {
            await ExecuteAsync(
                "INSERT INTO usage_counts (environment_id, flag_key, minute, value, client, count) VALUES (@EnvironmentId, @FlagKey, @Minute, @Value, @Client, @Count) " +
                "ON CONFLICT (environment_id, flag_key, minute, value, client) DO UPDATE SET count = usage_counts.count + excluded.count",
                c).ConfigureAwait(false);
        }
    }

    /// <summary>Evaluation counts of a flag per minute and value (all clients summed), oldest first.</summary>
    public async Task<IReadOnlyList<UsageCount>> ListUsageAsync(string environmentId, string flagKey, long fromMinute, long toMinute) =>
        await QueryAsync<UsageCount>(
            "SELECT environment_id, flag_key, minute, value, '' AS client, CAST(SUM(count) AS BIGINT) AS count FROM usage_counts " +
            "WHERE environment_id = @environmentId AND flag_key = @flagKey AND minute >= @fromMinute AND minute < @toMinute GROUP BY environment_id, flag_key, minute, value ORDER BY minute, value",
            new { environmentId, flagKey, fromMinute, toMinute }).ConfigureAwait(false);

    /// <summary>The last minute each flag of an environment was evaluated, by flag key (flags with no usage are absent).</summary>
    /// <remarks>
    /// One index seek per flag of the project (the greatest minute under the key's prefix of the usage
    /// primary key), not a scan of the environment's usage rows: with 30 days of per-minute counts those
    /// are millions (with 1.7 million rows for 200 flags: 0.8 ms instead of 193 ms on SQLite, 0.3–0.8 ms
    /// instead of 181–194 ms on PostgreSQL).
    /// </remarks>
    public async Task<IReadOnlyDictionary<string, long>> LastEvaluatedAsync(string environmentId) =>
        (await QueryAsync<(string FlagKey, long? Minute)>(
            "SELECT f.key, (SELECT MAX(u.minute) FROM usage_counts u WHERE u.environment_id = @environmentId AND u.flag_key = f.key) " +
            "FROM flags f JOIN environments e ON e.project_id = f.project_id WHERE e.id = @environmentId", new { environmentId }).ConfigureAwait(false))
        .Where(r => r.Minute is not null)
        .ToDictionary(r => r.FlagKey, r => r.Minute!.Value, StringComparer.Ordinal);

    /// <summary>The last minute a flag was evaluated in an environment, if it has usage.</summary>
    public Task<long?> LastEvaluatedAsync(string environmentId, string flagKey) =>
        QuerySingleAsync<long?>("SELECT MAX(minute) FROM usage_counts WHERE environment_id = @environmentId AND flag_key = @flagKey", new { environmentId, flagKey });

    /// <summary>Deletes usage older than a minute.</summary>
    public Task PruneUsageAsync(long beforeMinute) => ExecuteAsync("DELETE FROM usage_counts WHERE minute < @beforeMinute", new { beforeMinute });
}
