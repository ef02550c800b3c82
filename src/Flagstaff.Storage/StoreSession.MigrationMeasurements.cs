namespace Flagstaff.Storage;

public sealed partial class StoreSession
{
    /// <summary>Adds migration measurements (summed with what is stored for the same window).</summary>
    public async Task AddMigrationWindowsAsync(IEnumerable<MigrationWindow> windows, IEnumerable<MigrationLatency> latency)
    {
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentNullException.ThrowIfNull(latency);
        foreach (var w in windows)
        {
            await ExecuteAsync(
                "INSERT INTO migration_windows (environment_id, flag_key, window_start, stage, operation, old_invoked, old_errors, new_invoked, new_errors, compared, inconsistent, failed_writes) " +
                "VALUES (@EnvironmentId, @FlagKey, @WindowStart, @Stage, @Operation, @OldInvoked, @OldErrors, @NewInvoked, @NewErrors, @Compared, @Inconsistent, @FailedWrites) " +
                "ON CONFLICT (environment_id, flag_key, window_start, stage, operation) DO UPDATE SET " +
                "old_invoked = migration_windows.old_invoked + excluded.old_invoked, old_errors = migration_windows.old_errors + excluded.old_errors, " +
                "new_invoked = migration_windows.new_invoked + excluded.new_invoked, new_errors = migration_windows.new_errors + excluded.new_errors, " +
                "compared = migration_windows.compared + excluded.compared, inconsistent = migration_windows.inconsistent + excluded.inconsistent, " +
                "failed_writes = migration_windows.failed_writes + excluded.failed_writes",
                w).ConfigureAwait(false);
        }

        foreach (var l in latency)
        {
            await ExecuteAsync(
                "INSERT INTO migration_latency (environment_id, flag_key, window_start, stage, operation, side, bucket, count) " +
                "VALUES (@EnvironmentId, @FlagKey, @WindowStart, @Stage, @Operation, @Side, @Bucket, @Count) " +
                "ON CONFLICT (environment_id, flag_key, window_start, stage, operation, side, bucket) DO UPDATE SET count = migration_latency.count + excluded.count",
                l).ConfigureAwait(false);
        }
    }

    /// <summary>A flag's migration windows from one window start (inclusive) to another (exclusive), oldest first.</summary>
    public async Task<IReadOnlyList<MigrationWindow>> ListMigrationWindowsAsync(string environmentId, string flagKey, long fromStart, long toStart) =>
        await QueryAsync<MigrationWindow>(
            "SELECT environment_id, flag_key, window_start, stage, operation, old_invoked, old_errors, new_invoked, new_errors, compared, inconsistent, failed_writes FROM migration_windows " +
            "WHERE environment_id = @environmentId AND flag_key = @flagKey AND window_start >= @fromStart AND window_start < @toStart ORDER BY window_start, stage, operation",
            new { environmentId, flagKey, fromStart, toStart }).ConfigureAwait(false);

    /// <summary>A flag's latency buckets over the same windows.</summary>
    public async Task<IReadOnlyList<MigrationLatency>> ListMigrationLatencyAsync(string environmentId, string flagKey, long fromStart, long toStart) =>
        await QueryAsync<MigrationLatency>(
            "SELECT environment_id, flag_key, window_start, stage, operation, side, bucket, count FROM migration_latency " +
            "WHERE environment_id = @environmentId AND flag_key = @flagKey AND window_start >= @fromStart AND window_start < @toStart ORDER BY window_start, side, bucket",
            new { environmentId, flagKey, fromStart, toStart }).ConfigureAwait(false);

    /// <summary>The environments and flags with migration measurements since a window start.</summary>
    public async Task<IReadOnlyList<(string EnvironmentId, string FlagKey)>> ListMeasuredMigrationsAsync(long sinceStart) =>
        await QueryAsync<(string, string)>(
            "SELECT DISTINCT environment_id, flag_key FROM migration_windows WHERE window_start >= @sinceStart ORDER BY environment_id, flag_key", new { sinceStart }).ConfigureAwait(false);

    /// <summary>Deletes migration measurements of windows that start before an instant (Unix seconds).</summary>
    public async Task PruneMigrationWindowsAsync(long beforeStart)
    {
        await ExecuteAsync("DELETE FROM migration_windows WHERE window_start < @beforeStart", new { beforeStart }).ConfigureAwait(false);
        await ExecuteAsync("DELETE FROM migration_latency WHERE window_start < @beforeStart", new { beforeStart }).ConfigureAwait(false);
    }
}
