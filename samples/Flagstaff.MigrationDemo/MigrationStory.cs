using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Flagstaff.Client;
using Npgsql;

namespace Flagstaff.MigrationDemo;

/// <summary>How long and how big the story is.</summary>
public sealed class StoryOptions
{
    public required Uri Flagstaff { get; set; }

    /// <summary>A Flagstaff access token allowed to create projects.</summary>
    public required string AccessToken { get; set; }

    /// <summary>A PostgreSQL database for the new store (the story makes a schema of its own in it).</summary>
    public required string PostgresConnectionString { get; set; }

    /// <summary>Where the old store's SQLite file goes.</summary>
    public required string WorkFolder { get; set; }

    /// <summary>How long the load runs at each stage.</summary>
    public TimeSpan StepDuration { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>The guards' window (a multiple of 10 s).</summary>
    public int GuardWindowSeconds { get; set; } = 60;

    /// <summary>The calls a guard needs in its window before it judges.</summary>
    public int GuardMinSamples { get; set; } = 50;

    /// <summary>How often the service's SDK sends migration measurements.</summary>
    public TimeSpan MeasurementInterval { get; set; } = TimeSpan.FromSeconds(5);

    public int Workers { get; set; } = 8;

    public int RecordsPerWorker { get; set; } = 500;

    public int Accounts { get; set; } = 1000;

    /// <summary>A pause between two requests of one worker.</summary>
    public TimeSpan OperationDelay { get; set; } = TimeSpan.FromMilliseconds(2);

    public Action<string> Log { get; set; } = Console.WriteLine;

    /// <summary>
    /// The short form the test suite runs: tens of seconds, and a lighter load (it shares two cores
    /// with the other test projects).
    /// </summary>
    public void Shorten()
    {
        StepDuration = TimeSpan.FromSeconds(2);
        GuardWindowSeconds = 10;
        GuardMinSamples = 20;
        MeasurementInterval = TimeSpan.FromSeconds(1);
        Workers = 4;
        RecordsPerWorker = 150;
        OperationDelay = TimeSpan.FromMilliseconds(5);
    }
}

/// <summary>
/// One stage change: how long the management API took to answer the change, and when the service saw
/// it, counted from the answer (negative when the stream brought it before the answer reached the driver).
/// </summary>
public sealed record StageChange(string Step, double ApiMilliseconds, double SeenAfterMilliseconds, string Observed);

/// <summary>What the story measured.</summary>
public sealed class StoryReport
{
    public List<StageChange> Changes { get; } = [];

    public List<(string When, StoreComparison Comparison)> Comparisons { get; } = [];

    public string? Guard { get; set; }

    public string? GuardFigures { get; set; }

    /// <summary>From the outage of the new store to the service seeing no account at live any more.</summary>
    public double RollbackSeconds { get; set; }

    public long Reads { get; set; }

    public long Writes { get; set; }

    public long FailedRequests { get; set; }

    public long WrongReads { get; set; }

    public IReadOnlyCollection<string> FailureSamples { get; set; } = [];

    /// <summary>Acknowledged records the new store does not hold (or holds with another value) at the end.</summary>
    public int LostRecords { get; set; }

    public int RecordsChecked { get; set; }

    public long RepairsQueued { get; set; }

    public long Repaired { get; set; }

    public TimeSpan Duration { get; set; }
}

/// <summary>
/// The migration of the records service from SQLite to PostgreSQL, driven through Flagstaff's
/// management API while the load runs: create the migration flag, dual-write, backfill, shadow, live
/// for a few accounts, 2 %, 50 %, an outage of the new store that a guard answers by sending reads back
/// to old, recovery, 50 % and 100 % again, rampdown, complete.
/// </summary>
public static class MigrationStory
{
    private const string Environment = "production";
    private const string Flag = "records-store";
    private static readonly string[] HandPicked = ["acct-007", "acct-042", "acct-314"];

    public static async Task<StoryReport> RunAsync(StoryOptions options, CancellationToken cancellationToken)
    {
        var log = options.Log;
        var report = new StoryReport();
        var total = Stopwatch.StartNew();
        var project = "migration-demo-" + Guid.NewGuid().ToString("N")[..8];
        using var api = new ManagementApi(options.Flagstaff, options.AccessToken);
        await api.CreateProjectAsync(project, cancellationToken);
        var key = await api.CreateServerKeyAsync(project, Environment, cancellationToken);
        await api.WaitForKeyAsync(key, cancellationToken);
        var postgres = await CreateSchemaAsync(options.PostgresConnectionString, project.Replace('-', '_'), cancellationToken);
        Directory.CreateDirectory(options.WorkFolder);

        await using var service = await RecordService.StartAsync(new RecordServiceOptions
        {
            FlagstaffUrl = options.Flagstaff,
            ServerKey = key,
            Flag = Flag,
            SqlitePath = Path.Combine(options.WorkFolder, project + ".db"),
            PostgresConnectionString = postgres,
            MeasurementInterval = options.MeasurementInterval,
        }, cancellationToken);
        log($"Records service on {service.Address} (old: SQLite {project}.db, new: PostgreSQL schema {project.Replace('-', '_')}); Flagstaff {options.Flagstaff}, project {project}");

        await using var load = new LoadDriver(service.Address, options.Workers, options.RecordsPerWorker, options.Accounts, options.OperationDelay);
        var accounts = Enumerable.Range(0, options.Accounts).Select(i => RecordService.Account("acct-" + i.ToString("000", CultureInfo.InvariantCulture))).ToArray();
        string Share(FlagSnapshot snapshot) => string.Join(", ", accounts
            .GroupBy(a => service.Migration.GetStage(snapshot, a))
            .OrderBy(g => g.Key)
            .Select(g => $"{g.Key.ToName()} {100.0 * g.Count() / accounts.Length:0.#} %"));

        async Task ChangeAsync(string step, JsonNode targeting)
        {
            var (sent, answered) = await api.SetTargetingAsync(project, Flag, Environment, targeting, cancellationToken);
            double apiMs = (answered - sent).TotalMilliseconds;
            var seenAt = await service.Stages.FirstAsync(sent, _ => true, TimeSpan.FromSeconds(30), cancellationToken);
            var observed = Share(service.Client.GetSnapshot());
            var change = new StageChange(step, apiMs, (seenAt - answered).TotalMilliseconds, observed);
            report.Changes.Add(change);
            log($"  {step,-34} API answered in {apiMs,5:0.0} ms; service saw it {change.SeenAfterMilliseconds,5:0.0} ms after the answer, {(seenAt - sent).TotalMilliseconds,5:0.0} ms after the request ({observed})");
        }

        async Task CompareAsync(string when)
        {
            await load.PauseAsync(cancellationToken);
            await service.Repairs.DrainedAsync(cancellationToken);
            var comparison = await service.CompareAsync(cancellationToken);
            load.Resume();
            report.Comparisons.Add((when, comparison));
            log($"  compared record by record ({when}, load paused, repairs drained): {comparison}");
        }

        Task RunLoadAsync() => Task.Delay(options.StepDuration, cancellationToken);

        log($"Seeding {load.Records:N0} records before the migration (stage off: old store only)...");
        await load.SeedAsync(cancellationToken);
        load.Start();

        await api.CreateMigrationFlagAsync(project, Flag, new JsonObject
        {
            ["path"] = "full",
            ["compareRate"] = 0.5,
            ["windowSeconds"] = options.GuardWindowSeconds,
            ["minSamples"] = options.GuardMinSamples,
            // The new store is a database over the network, the old one a local file: new is expected
            // to be several times slower, so the latency guard would judge the wrong thing here.
            ["maxLatencyRatio"] = null,
        }, cancellationToken);
        log($"Migration flag {Flag} created (path full, compare rate 0.5, guards over {options.GuardWindowSeconds} s, at least {options.GuardMinSamples} samples)");

        await ChangeAsync("dualwrite", Serve("dualwrite"));
        var backfill = Stopwatch.StartNew();
        int copied = await service.BackfillAsync(cancellationToken);
        log($"  backfill: {copied:N0} records copied old -> new in {backfill.Elapsed.TotalSeconds:0.0} s (newer versions written meanwhile kept)");
        await CompareAsync("after the backfill");
        await RunLoadAsync();

        await ChangeAsync("shadow", Serve("shadow"));
        await RunLoadAsync();
        await ChangeAsync($"live for {HandPicked.Length} hand-picked accounts", Split(0, "shadow"));
        await RunLoadAsync();
        await ChangeAsync("live for 2 % of accounts", Split(2, "shadow"));
        await RunLoadAsync();
        await ChangeAsync("live for 50 % of accounts", Split(50, "shadow"));
        await RunLoadAsync();

        log("Outage: the new store fails every call from now on...");
        var outage = DateTimeOffset.UtcNow;
        service.New.Failing = true;
        var rolledBack = await service.Stages.FirstAsync(
            outage, snapshot => accounts.All(a => service.Migration.GetStage(snapshot, a) != MigrationStage.Live), TimeSpan.FromSeconds(options.GuardWindowSeconds * 3), cancellationToken);
        report.RollbackSeconds = (rolledBack - outage).TotalSeconds;
        var status = await api.GetStatusAsync(project, Flag, Environment, cancellationToken);
        report.Guard = status["lastTrip"]?["guard"]?.GetValue<string>();
        report.GuardFigures = status["lastTrip"]?["comment"]?.GetValue<string>();
        log($"  guard {report.Guard} rolled back by itself: {report.GuardFigures}");
        log($"  the service saw no account at live {report.RollbackSeconds:0.0} s after the outage began ({Share(service.Client.GetSnapshot())}); repairs queued so far: {service.Repairs.Queued:N0}");

        service.New.Failing = false;
        log("Recovery: the new store answers again; the repair queue drains...");
        await CompareAsync("after recovery, at shadow");

        // The rolled-back window still holds the outage's errors: rolling forward before it has passed
        // would have the guard judge them again.
        var quiet = TimeSpan.FromSeconds(options.GuardWindowSeconds + 5);
        log($"  waiting {quiet.TotalSeconds:0} s at shadow for the outage to leave the guards' window");
        await Task.Delay(quiet, cancellationToken);

        await ChangeAsync("live for 50 % of accounts again", Split(50, "shadow"));
        await RunLoadAsync();
        await ChangeAsync("live for 100 % of accounts", Serve("live"));
        await RunLoadAsync();
        await ChangeAsync("rampdown", Serve("rampdown"));
        await RunLoadAsync();
        await CompareAsync("at rampdown, the last stage writing both");
        await ChangeAsync("complete", Serve("complete"));
        await RunLoadAsync();
        await load.StopAsync();

        // Every write a user saw acknowledged must be in the new store, with its last value.
        var acknowledged = load.Acknowledged().ToList();
        foreach (var (id, _, value) in acknowledged)
        {
            if ((await service.New.GetAsync(id, cancellationToken))?.Value != value)
            {
                report.LostRecords++;
            }
        }

        report.RecordsChecked = acknowledged.Count;
        report.Reads = load.Reads;
        report.Writes = load.Writes;
        report.FailedRequests = load.FailedRequests;
        report.WrongReads = load.WrongReads;
        report.FailureSamples = load.FailureSamples;
        report.RepairsQueued = service.Repairs.Queued;
        report.Repaired = service.Repairs.Repaired;
        report.Duration = total.Elapsed;
        log($"Done in {report.Duration.TotalSeconds:0} s: {report.Reads:N0} reads and {report.Writes:N0} writes; {report.FailedRequests} failed requests, {report.WrongReads} wrong reads; "
            + $"{report.LostRecords} of {report.RecordsChecked:N0} acknowledged records lost or different in the new store; {report.Repaired:N0} of {report.RepairsQueued:N0} failed writes repaired");
        foreach (var sample in report.FailureSamples)
        {
            log("  failure: " + sample);
        }

        return report;
    }

    private static JsonObject Serve(string stage) => new JsonObject
    {
        ["enabled"] = true,
        ["rules"] = new JsonArray(),
        ["defaultServe"] = new JsonObject { ["variation"] = stage },
    };

    // The hand-picked accounts at live, then a sticky share of the others.
    private static JsonObject Split(double livePercent, string rest) => new JsonObject
    {
        ["enabled"] = true,
        ["rules"] = new JsonArray(new JsonObject
        {
            ["name"] = "hand-picked accounts",
            ["clauses"] = new JsonArray(new JsonObject { ["property"] = "accountId", ["operator"] = "STR_EQUAL", ["values"] = new JsonArray([.. HandPicked.Select(a => JsonValue.Create(a))]) }),
            ["serve"] = new JsonObject { ["variation"] = "live" },
        }),
        ["defaultServe"] = livePercent == 0
            ? new JsonObject { ["variation"] = rest }
            : new JsonObject
            {
                ["split"] = new JsonObject
                {
                    ["property"] = "accountId",
                    ["buckets"] = new JsonArray(
                        new JsonObject { ["variation"] = "live", ["weight"] = livePercent },
                        new JsonObject { ["variation"] = rest, ["weight"] = 100 - livePercent }),
                },
            },
    };

    private static async Task<string> CreateSchemaAsync(string connectionString, string schema, CancellationToken cancellationToken)
    {
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand($"CREATE SCHEMA {schema}", connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        return new NpgsqlConnectionStringBuilder(connectionString) { SearchPath = schema }.ToString();
    }
}
