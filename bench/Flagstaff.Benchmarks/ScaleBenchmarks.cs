using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Flagstaff.DataPlane.Changes;
using Flagstaff.DataPlane.Snapshots;
using Flagstaff.Domain;
using Flagstaff.Server.Services;
using Flagstaff.Server.Webhooks;
using Flagstaff.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Flagstaff.Benchmarks;

/// <summary>
/// A project of 10,000 flags on the server's storage: importing it, compiling an environment, and the
/// flag list's queries. SQLite always; PostgreSQL too when <c>FLAGSTAFF_BENCH_POSTGRES</c> holds a
/// connection string to a server where the benchmark may create databases.
/// </summary>
public abstract class ScaleBenchmarkBase
{
    public const int FlagCount = 10_000;

    public static IEnumerable<string> Databases =>
        string.IsNullOrEmpty(Environment.GetEnvironmentVariable("FLAGSTAFF_BENCH_POSTGRES")) ? ["sqlite"] : ["sqlite", "postgres"];

    [ParamsSource(nameof(Databases))]
    public string Database { get; set; } = "sqlite";

    private readonly List<Action> _cleanups = [];

    /// <summary>A new, empty, migrated store.</summary>
    protected async Task<Store> NewStoreAsync()
    {
        SqlDialect dialect;
        if (Database == "postgres")
        {
            var admin = Environment.GetEnvironmentVariable("FLAGSTAFF_BENCH_POSTGRES")!;
            var name = "flagstaff_bench_" + Guid.NewGuid().ToString("N")[..12];
            await using (var connection = new NpgsqlConnection(admin))
            {
                await connection.OpenAsync();
                await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
                await create.ExecuteNonQueryAsync();
            }

            dialect = new PostgresDialect(new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString);
            _cleanups.Add(() =>
            {
                NpgsqlConnection.ClearAllPools();
                using var connection = new NpgsqlConnection(admin);
                connection.Open();
                using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", connection);
                drop.ExecuteNonQuery();
            });
        }
        else
        {
            var directory = Directory.CreateTempSubdirectory("flagstaff-bench-");
            dialect = new SqliteDialect(Path.Combine(directory.FullName, "flagstaff.db"));
            _cleanups.Add(() =>
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                directory.Delete(recursive: true);
            });
        }

        var store = new Store(dialect);
        await store.MigrateAsync();
        return store;
    }

    /// <summary>
    /// The change runner the services write through, with the data plane's snapshots running as on a
    /// server: a change is measured until this node serves it.
    /// </summary>
    protected ChangeRunner Changes(Store store)
    {
        var feed = new ChangeFeed();
        var snapshots = new SnapshotCache(new StoreChangeSource(store), feed, TimeProvider.System, Options.Create(new SnapshotOptions()), NullLogger<SnapshotCache>.Instance);
        snapshots.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        snapshots.WaitUntilLoadedAsync(CancellationToken.None).GetAwaiter().GetResult();
        _cleanups.Add(() =>
        {
            snapshots.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
            snapshots.Dispose();
        });
        return new ChangeRunner(store, TimeProvider.System, feed, snapshots, new WebhookOutbox());
    }

    protected void CleanUp()
    {
        foreach (var cleanup in _cleanups)
        {
            cleanup();
        }

        _cleanups.Clear();
    }

    /// <summary>
    /// 10,000 flags of four shapes (as <c>bench/load/project.py</c> writes them): a list of user ids
    /// then a 25 % split; an e-mail domain and a plan; a version and ten countries; a schedule.
    /// </summary>
    protected static ProjectDocument Document()
    {
        var flags = new List<FlagDocument>(FlagCount);
        for (int i = 0; i < FlagCount; i++)
        {
            var (rules, defaultServe) = (i % 4) switch
            {
                0 => ((IReadOnlyList<TargetingRule>)[Rule(new Clause { Property = "userId", Operator = "STR_EQUAL", Values = ["u-1001", "u-1002", "u-1003", "u-1004", "u-1005"] })],
                    new Serve { Split = new Split { Buckets = [new SplitBucket { Variation = "on", Weight = 25 }, new SplitBucket { Variation = "off", Weight = 75 }] } }),
                1 => ([Rule(
                        new Clause { Property = "email", Operator = "STR_ENDS_WITH", Values = ["@acme.com", "@example.org"] },
                        new Clause { Property = "plan", Operator = "STR_EQUAL", Values = ["pro", "enterprise"] })],
                    Serve.Of("off")),
                2 => ([Rule(
                        new Clause { Property = "appVersion", Operator = "SEMVER_GTE", Version = "2.4.0" },
                        new Clause { Property = "country", Operator = "STR_EQUAL", Values = ["FR", "DE", "ES", "IT", "NL", "BE", "PT", "AT", "IE", "FI"] })],
                    Serve.Of("off")),
                _ => ([new TargetingRule { Serve = Serve.Of("on"), Schedule = new Schedule { From = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero) } }],
                    Serve.Of("off")),
            };
            flags.Add(new FlagDocument
            {
                Key = $"flag-{i:D5}",
                Name = $"Flag {i}",
                Description = $"Area {i % 20}: flag number {i}",
                Tags = [$"area-{i % 20}"],
                Kind = FlagKind.Release,
                ValueType = FlagValueType.Boolean,
                Variations = [new Variation { Key = "on", Value = System.Text.Json.JsonSerializer.SerializeToElement(true) }, new Variation { Key = "off", Fallback = true }],
                Environments = new Dictionary<string, EnvironmentTargeting>
                {
                    ["production"] = new() { Enabled = true, Rules = rules, DefaultServe = defaultServe },
                },
            });
        }

        return new ProjectDocument
        {
            Key = "scale",
            Name = "Scale",
            Environments = [new EnvironmentDocument { Key = "production", Name = "Production", Critical = true }],
            Flags = flags,
        };

        static TargetingRule Rule(params Clause[] clauses) => new() { Clauses = clauses, Serve = Serve.Of("on") };
    }
}

/// <summary>Importing a 10,000-flag project into an empty store: validation, one transaction, history.</summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class ScaleImportBenchmarks : ScaleBenchmarkBase
{
    private ProjectDocument _document = null!;
    private ImportExportService _importer = null!;

    [GlobalSetup]
    public void Setup() => _document = Document();

    [IterationSetup]
    public void NewStore()
    {
        var store = NewStoreAsync().GetAwaiter().GetResult();
        _importer = new ImportExportService(store, Changes(store));
    }

    [IterationCleanup]
    public void Drop() => CleanUp();

    [Benchmark]
    public Task Import() => _importer.ImportAsync(_document, Actor.System("benchmark"));
}

/// <summary>Compiling an environment of 10,000 flags, and the flag list's queries, on a store holding the project.</summary>
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class ScaleQueryBenchmarks : ScaleBenchmarkBase
{
    private StoreChangeSource _source = null!;
    private FlagService _flags = null!;
    private string _environmentId = "";

    [GlobalSetup]
    public void Setup()
    {
        var store = NewStoreAsync().GetAwaiter().GetResult();
        var changes = Changes(store);
        new ImportExportService(store, changes).ImportAsync(Document(), Actor.System("benchmark")).GetAwaiter().GetResult();
        _source = new StoreChangeSource(store);
        _flags = new FlagService(store, changes);
        _environmentId = store.ReadAsync(s => s.ListAllEnvironmentsAsync()).GetAwaiter().GetResult().Single().Id;
    }

    [GlobalCleanup]
    public void Drop() => CleanUp();

    /// <summary>Reads every flag and its targeting, compiles them to the wire format and the evaluator.</summary>
    [Benchmark]
    public async Task<int> CompileEnvironment() => (await _source.LoadAsync(_environmentId, CancellationToken.None))!.Flags.Count;

    /// <summary>The first page of the flag list (50 flags with their targeting).</summary>
    [Benchmark]
    public async Task<int> ListFirstPage() => (await _flags.ListAsync("scale", new FlagQuery())).Items.Count;

    /// <summary>A page deep in the list.</summary>
    [Benchmark]
    public async Task<int> ListPage150() => (await _flags.ListAsync("scale", new FlagQuery { Offset = 7_500 })).Items.Count;

    /// <summary>A search matching 10 flags out of 10,000 (key, name and description are searched).</summary>
    [Benchmark]
    public async Task<int> SearchFew() => (await _flags.ListAsync("scale", new FlagQuery { Search = "flag-0999" })).Items.Count;

    /// <summary>A search matching 500 flags, first page.</summary>
    [Benchmark]
    public async Task<int> SearchMany() => (await _flags.ListAsync("scale", new FlagQuery { Search = "area 7:" })).Items.Count;

    /// <summary>The whole list, as the dashboard's flags page reads it (500 at a time, the API's largest page).</summary>
    [Benchmark]
    public async Task<int> ListAll()
    {
        int total = 0;
        for (int offset = 0; ; offset += 500)
        {
            var page = await _flags.ListAsync("scale", new FlagQuery { Offset = offset, Limit = 500 });
            total += page.Items.Count;
            if (page.Items.Count < 500)
            {
                return total;
            }
        }
    }
}
