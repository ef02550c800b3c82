using System.Text.Json;
using System.Text.Json.Serialization;
using Flagstaff.Client;
using Flagstaff.Evaluation;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Flagstaff.MigrationDemo;

/// <summary>Where the records service finds Flagstaff and its two stores.</summary>
public sealed class RecordServiceOptions
{
    public required Uri FlagstaffUrl { get; set; }

    public required string ServerKey { get; set; }

    /// <summary>The migration flag.</summary>
    public string Flag { get; set; } = "records-store";

    public required string SqlitePath { get; set; }

    public required string PostgresConnectionString { get; set; }

    /// <summary>How often the SDK sends migration measurements (the SDK's default is 5 s).</summary>
    public TimeSpan MeasurementInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a failing repair waits before trying again.</summary>
    public TimeSpan RepairRetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);
}

public sealed record RecordView(string Id, string Account, string Value, long Version, string Stage, string Side);

public sealed record WriteRequest(string Account, string Value);

public sealed record WriteView(long Version, string Stage, string Side, bool FailedOver);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(RecordView))]
[JsonSerializable(typeof(WriteRequest))]
[JsonSerializable(typeof(WriteView))]
internal sealed partial class DemoJson : JsonSerializerContext;

/// <summary>
/// The application being migrated: an ASP.NET Core service that stores and reads records, old store
/// SQLite, new store PostgreSQL, every read and write through the SDK's migration helper, the account
/// as the evaluation context (so that targeting can move a few accounts, then a percentage).
/// </summary>
public sealed class RecordService : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly NpgsqlDataSource _dataSource;
    private long _version = DateTime.UtcNow.Ticks;

    private RecordService(WebApplication app, NpgsqlDataSource dataSource, RecordServiceOptions options)
    {
        _app = app;
        _dataSource = dataSource;
        Old = new SqliteRecordStore(options.SqlitePath);
        New = new PostgresRecordStore(dataSource);
        Repairs = new RepairQueue(Old, New, options.RepairRetryDelay);
        Client = new FlagstaffClient(new FlagstaffClientOptions
        {
            BaseUrl = options.FlagstaffUrl,
            ServerKey = options.ServerKey,
            AppName = "migration-demo",
            PersistConfiguration = false,
            MigrationReportInterval = options.MeasurementInterval,
            InitialReconnectDelay = TimeSpan.FromMilliseconds(100),
            MaxReconnectDelay = TimeSpan.FromSeconds(2),
        });
        Migration = new MigrationBuilder<string, StoredRecord?, StoredRecord, bool>(Client, options.Flag)
            .Read(Old.GetAsync, New.GetAsync)
            .Write(Old.PutAsync, New.PutAsync)
            .OnFailedWrite(Repairs.Enqueue)
            .Build();
        Stages = new StageWatch(Client, options.Flag);
    }

    public SqliteRecordStore Old { get; }

    public PostgresRecordStore New { get; }

    public RepairQueue Repairs { get; }

    public FlagstaffClient Client { get; }

    public Migration<string, StoredRecord?, StoredRecord, bool> Migration { get; }

    /// <summary>When each configuration change of the migration flag reached the service.</summary>
    public StageWatch Stages { get; }

    public Uri Address { get; private set; } = null!;

    public static EvaluationContext Account(string account) => EvaluationContext.CreateBuilder().Set("accountId", account).Build();

    public static async Task<RecordService> StartAsync(RecordServiceOptions options, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, DemoJson.Default));
        var app = builder.Build();
        var service = new RecordService(app, NpgsqlDataSource.Create(options.PostgresConnectionString), options);
        await service.Old.CreateAsync(cancellationToken);
        await service.New.CreateAsync(cancellationToken);
        service.Repairs.Start();
        app.MapGet("/records/{id}", service.ReadAsync);
        app.MapPut("/records/{id}", service.WriteAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        service.Address = new Uri(address.TrimEnd('/') + "/");
        await service.Client.WaitUntilReadyAsync(TimeSpan.FromSeconds(30), cancellationToken);
        return service;
    }

    private async Task<Results<Ok<RecordView>, NotFound, ProblemHttpResult>> ReadAsync(string id, string account, CancellationToken cancellationToken)
    {
        try
        {
            var result = await Migration.ReadAsync(Account(account), id, cancellationToken);
            return result.Value is { } record
                ? TypedResults.Ok(new RecordView(record.Id, record.Account, record.Value, record.Version, result.Stage.ToName(), result.Side.ToString()))
                : TypedResults.NotFound();
        }
        catch (Exception e) when (e is NpgsqlException or Microsoft.Data.Sqlite.SqliteException)
        {
            return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }

    private async Task<Results<Ok<WriteView>, ProblemHttpResult>> WriteAsync(string id, WriteRequest request, CancellationToken cancellationToken)
    {
        var record = new StoredRecord(id, request.Account, request.Value, Interlocked.Increment(ref _version));
        try
        {
            var result = await Migration.WriteAsync(Account(request.Account), record, cancellationToken);
            return TypedResults.Ok(new WriteView(record.Version, result.Stage.ToName(), result.Side.ToString(), result.FailedOver));
        }
        catch (Exception e) when (e is NpgsqlException or Microsoft.Data.Sqlite.SqliteException)
        {
            return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }

    /// <summary>Copies every record of the old store into the new one (keeping newer versions written meanwhile).</summary>
    public async Task<int> BackfillAsync(CancellationToken cancellationToken)
    {
        int copied = 0;
        await foreach (var record in Old.ListAsync(cancellationToken))
        {
            await New.PutAsync(record, cancellationToken);
            copied++;
        }

        return copied;
    }

    /// <summary>Compares the two stores record by record.</summary>
    public async Task<StoreComparison> CompareAsync(CancellationToken cancellationToken)
    {
        var old = new Dictionary<string, StoredRecord>(StringComparer.Ordinal);
        await foreach (var record in Old.ListAsync(cancellationToken))
        {
            old[record.Id] = record;
        }

        int inNew = 0, divergent = 0, extra = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var record in New.ListAsync(cancellationToken))
        {
            inNew++;
            seen.Add(record.Id);
            if (!old.TryGetValue(record.Id, out var before))
            {
                extra++;
            }
            else if (before != record)
            {
                divergent++;
            }
        }

        return new StoreComparison(old.Count, inNew, old.Keys.Count(id => !seen.Contains(id)), extra, divergent);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        await Repairs.DisposeAsync();
        await Client.DisposeAsync();
        await _dataSource.DisposeAsync();
        Old.Dispose();
    }
}

/// <summary>The two stores side by side: records in each, missing from new, only in new, different.</summary>
public sealed record StoreComparison(int Old, int New, int MissingInNew, int OnlyInNew, int Divergent)
{
    public bool Identical => MissingInNew == 0 && OnlyInNew == 0 && Divergent == 0 && Old == New;

    public override string ToString() =>
        $"old {Old:N0} records, new {New:N0}; missing in new {MissingInNew}, only in new {OnlyInNew}, different {Divergent}";
}

/// <summary>
/// Notes when each configuration change of the migration flag reached the service, with the
/// configuration it brought, so that the driver can ask when the service first saw a stage.
/// </summary>
public sealed class StageWatch
{
    private readonly List<(DateTimeOffset At, FlagSnapshot Snapshot)> _changes = [];
    private readonly Lock _gate = new();

    public StageWatch(FlagstaffClient client, string flag)
    {
        client.ConfigurationChanged += (_, e) =>
        {
            if (e.ChangedSlugs.Contains(flag))
            {
                lock (_gate)
                {
                    _changes.Add((DateTimeOffset.UtcNow, e.Snapshot));
                }
            }
        };
    }

    /// <summary>When the first configuration received after <paramref name="since"/> that satisfies <paramref name="seen"/> arrived.</summary>
    public async Task<DateTimeOffset> FirstAsync(DateTimeOffset since, Func<FlagSnapshot, bool> seen, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            lock (_gate)
            {
                foreach (var (at, snapshot) in _changes)
                {
                    if (at >= since && seen(snapshot))
                    {
                        return at;
                    }
                }
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException("The service never saw the change.");
            }

            await Task.Delay(5, cancellationToken);
        }
    }
}
