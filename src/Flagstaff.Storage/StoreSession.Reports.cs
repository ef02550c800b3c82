namespace Flagstaff.Storage;

public sealed partial class StoreSession
{
    // The usage recorder applies the limits on what reports add; these are its steps. It counts what
    // is stored, then fills up to the limit, inside LockForReportsAsync so that nodes sharing the
    // database cannot both fill the last places.

    /// <summary>Serialises the writing of usage reports with the other server nodes until the transaction ends.</summary>
    public Task LockForReportsAsync() => Store.Dialect.LockForReportsAsync(_connection, _transaction!, _cancellationToken);

    /// <summary>The keys of a project's context properties, each with whether it was learned from reports.</summary>
    public async Task<Dictionary<string, bool>> ListCatalogueKeysAsync(string projectId) =>
        (await QueryAsync<(string Key, long Learned)>("SELECT key, learned FROM context_properties WHERE project_id = @projectId", new { projectId }).ConfigureAwait(false))
        .ToDictionary(r => r.Key, r => r.Learned != 0, StringComparer.Ordinal);

    /// <summary>Widens a known property's first and last sighting; false when the project has no such property.</summary>
    public async Task<bool> SeeContextPropertyAsync(string projectId, string key, DateTimeOffset first, DateTimeOffset last) => await ExecuteAsync(
        "UPDATE context_properties SET " +
        "first_seen = CASE WHEN first_seen IS NULL OR @first < first_seen THEN @first ELSE first_seen END, " +
        "last_seen = CASE WHEN last_seen IS NULL OR @last > last_seen THEN @last ELSE last_seen END " +
        "WHERE project_id = @projectId AND key = @key",
        new { projectId, key, first = Ms(first), last = Ms(last) }).ConfigureAwait(false) > 0;

    /// <summary>Adds a property a report named to the catalogue, as learned text (until someone sets its type); false if it exists.</summary>
    public async Task<bool> LearnContextPropertyAsync(string projectId, string key, DateTimeOffset first, DateTimeOffset last, DateTimeOffset now) => await ExecuteAsync(
        $"INSERT INTO context_properties ({PropertyColumns}) VALUES (@id, @projectId, @key, @key, NULL, 'STRING', '[]', 0, 1, @now, @now, @first, @last, 1) " +
        "ON CONFLICT (project_id, key) DO NOTHING",
        new { id = Guid.CreateVersion7().ToString("N"), projectId, key, now = Ms(now), first = Ms(first), last = Ms(last) }).ConfigureAwait(false) > 0;

    /// <summary>How many values are remembered for a property.</summary>
    public async Task<long> CountContextValuesAsync(string projectId, string property) =>
        await ScalarAsync<long>("SELECT COUNT(*) FROM context_values WHERE project_id = @projectId AND property = @property", new { projectId, property }).ConfigureAwait(false);

    /// <summary>Records a new sighting of a remembered value (and its label, if given); false when it is not remembered.</summary>
    public async Task<bool> SeeContextValueAsync(string projectId, string property, string value, string? label, DateTimeOffset now) => await ExecuteAsync(
        "UPDATE context_values SET label = coalesce(@label, label), last_seen = @now WHERE project_id = @projectId AND property = @property AND value = @value",
        new { projectId, property, value, label, now = Ms(now) }).ConfigureAwait(false) > 0;

    /// <summary>Remembers a value seen for a property, with its label.</summary>
    public Task LearnContextValueAsync(string projectId, string property, string value, string? label, DateTimeOffset now) => ExecuteAsync(
        "INSERT INTO context_values (project_id, property, value, label, last_seen) VALUES (@projectId, @property, @value, @label, @now) " +
        "ON CONFLICT (project_id, property, value) DO NOTHING",
        new { projectId, property, value, label, now = Ms(now) });

    /// <summary>How many (value, client) series a flag has in an environment's minute.</summary>
    public async Task<long> CountUsageSeriesAsync(string environmentId, string flagKey, long minute) =>
        await ScalarAsync<long>("SELECT COUNT(*) FROM usage_counts WHERE environment_id = @environmentId AND flag_key = @flagKey AND minute = @minute", new { environmentId, flagKey, minute }).ConfigureAwait(false);

    /// <summary>Adds to an existing series' count; false when the series is not stored yet.</summary>
    public async Task<bool> AddToUsageSeriesAsync(UsageCount count) => await ExecuteAsync(
        "UPDATE usage_counts SET count = count + @Count WHERE environment_id = @EnvironmentId AND flag_key = @FlagKey AND minute = @Minute AND value = @Value AND client = @Client",
        count).ConfigureAwait(false) > 0;

    /// <summary>Adds to the counts of what reports carried past a limit, per reason.</summary>
    public async Task AddReportDropsAsync(string projectId, IEnumerable<KeyValuePair<string, long>> drops, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(drops);
        foreach (var (reason, count) in drops)
        {
            await ExecuteAsync(
                "INSERT INTO report_drops (project_id, reason, count, last_at) VALUES (@projectId, @reason, @count, @now) " +
                "ON CONFLICT (project_id, reason) DO UPDATE SET count = report_drops.count + excluded.count, last_at = excluded.last_at",
                new { projectId, reason, count, now = Ms(now) }).ConfigureAwait(false);
        }
    }

    /// <summary>What reports to a project carried past a limit, per reason: how much, and when last.</summary>
    public async Task<IReadOnlyList<(string Reason, long Count, DateTimeOffset LastAt)>> ListReportDropsAsync(string projectId) =>
        [.. (await QueryAsync<(string Reason, long Count, long LastAt)>("SELECT reason, count, last_at FROM report_drops WHERE project_id = @projectId ORDER BY reason", new { projectId }).ConfigureAwait(false))
            .Select(r => (r.Reason, r.Count, At(r.LastAt)))];

    /// <summary>The values seen for a project's context properties, most recent first, at most <paramref name="perProperty"/> each.</summary>
    public async Task<IReadOnlyList<(string Property, string Value, string? Label)>> ListContextValuesAsync(string projectId, int perProperty)
    {
        var rows = await QueryAsync<(string Property, string Value, string? Label, long LastSeen)>(
            "SELECT property, value, label, last_seen FROM context_values WHERE project_id = @projectId ORDER BY property, last_seen DESC, value", new { projectId }).ConfigureAwait(false);
        return [.. rows.GroupBy(r => r.Property).SelectMany(g => g.Take(perProperty)).Select(r => (r.Property, r.Value, r.Label))];
    }
}
