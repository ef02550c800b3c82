using Flagstaff.Testing;

namespace Flagstaff.MigrationDemo.Tests;

/// <summary>
/// The migration demo's short form, end to end: the real server (SQLite), the records service with its
/// old store on SQLite and its new store on PostgreSQL (from FLAGSTAFF_TEST_POSTGRES: without it the
/// test fails, it never skips), the load, and the driver through the management API.
/// </summary>
public sealed class MigrationStoryTests
{
    [Fact]
    public async Task A_migration_with_an_outage_of_the_new_store_fails_no_request_loses_no_record_and_is_rolled_back_by_a_guard()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await ServerHost.StartAsync(DatabaseKind.Sqlite);
        await using var postgres = await TestDatabase.CreateAsync(DatabaseKind.Postgres);
        var folder = Directory.CreateTempSubdirectory("flagstaff-migration-demo-");
        var options = new StoryOptions
        {
            Flagstaff = server.Address,
            AccessToken = ServerHost.AdminToken,
            PostgresConnectionString = postgres.ConnectionString,
            WorkFolder = folder.FullName,
            Log = line => TestContext.Current.TestOutputHelper?.WriteLine(line),
        };
        options.Shorten();

        StoryReport report;
        try
        {
            report = await MigrationStory.RunAsync(options, ct);
        }
        finally
        {
            folder.Delete(recursive: true);
        }

        // What users saw: every request answered, every read the last value written.
        Assert.True(report.Reads > 1000 && report.Writes > 1000, $"{report.Reads} reads, {report.Writes} writes");
        Assert.True(report.FailedRequests == 0 && report.WrongReads == 0, string.Join(Environment.NewLine, report.FailureSamples));

        // What the stores hold: the same records on both sides at each check, and at the end every
        // acknowledged write in the new store.
        Assert.Equal(["after the backfill", "after recovery, at shadow", "at rampdown, the last stage writing both"], report.Comparisons.Select(c => c.When));
        Assert.All(report.Comparisons, c => Assert.True(c.Comparison.Identical, c.Comparison.ToString()));
        Assert.All(report.Comparisons, c => Assert.Equal(options.Workers * options.RecordsPerWorker, c.Comparison.Old));
        Assert.Equal(options.Workers * options.RecordsPerWorker, report.RecordsChecked);
        Assert.Equal(0, report.LostRecords);

        // The outage: the error-rate guard sent reads back by itself, and every failed write was repaired.
        Assert.Equal("maxNewErrorRate", report.Guard);
        Assert.Contains("new error rate", report.GuardFigures, StringComparison.Ordinal);
        Assert.True(report.RepairsQueued > 0, "the outage queued no repair");
        Assert.Equal(report.RepairsQueued, report.Repaired);

        // Each stage change reached the service (when is printed, not asserted).
        Assert.Equal(9, report.Changes.Count);
        Assert.Contains("live 100 %", report.Changes.Single(c => c.Step == "live for 100 % of accounts").Observed, StringComparison.Ordinal);
        Assert.Contains("complete 100 %", report.Changes[^1].Observed, StringComparison.Ordinal);
    }
}
