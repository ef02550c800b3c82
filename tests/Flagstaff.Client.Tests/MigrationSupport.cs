using System.Collections.Concurrent;
using Flagstaff.Client.Internal;

namespace Flagstaff.Client.Tests;

/// <summary>
/// An in-memory stand-in for one of the application's stores (old or new), as a migration's tests need
/// it: it records every call in a log shared with the other side, and fails on demand.
/// </summary>
public sealed class FakeStore(string name, ConcurrentQueue<string> log)
{
    private readonly ConcurrentDictionary<string, string> _records = new(StringComparer.Ordinal);

    public string Name { get; } = name;

    public bool FailReads { get; set; }

    public bool FailWrites { get; set; }

    public IReadOnlyDictionary<string, string> Records => _records;

    private int _reads;
    private int _writes;

    public int Reads => Volatile.Read(ref _reads);

    public int Writes => Volatile.Read(ref _writes);

    public void Seed(string id, string value) => _records[id] = value;

    public async Task<string?> ReadAsync(string id, CancellationToken cancellationToken)
    {
        log.Enqueue(Name + ".read");
        Interlocked.Increment(ref _reads);
        await Task.Yield();
        return FailReads ? throw new StoreException($"{Name} cannot read") : _records.GetValueOrDefault(id);
    }

    public async Task<string> WriteAsync(Record record, CancellationToken cancellationToken)
    {
        log.Enqueue(Name + ".write");
        Interlocked.Increment(ref _writes);
        await Task.Yield();
        if (FailWrites)
        {
            throw new StoreException($"{Name} cannot write");
        }

        _records[record.Id] = record.Value;
        return Name;
    }
}

public sealed record Record(string Id, string Value);

public sealed class StoreException(string message) : Exception(message);

/// <summary>Two fake stores, a failed-write log and a migration over them.</summary>
public sealed class MigrationRig
{
    public MigrationRig(FlagstaffClient client, string flag, Func<string?, string?, bool>? compare = null, string? readFlag = null)
    {
        Old = new FakeStore("old", Calls);
        New = new FakeStore("new", Calls);
        var builder = readFlag is null
            ? new MigrationBuilder<string, string?, Record, string>(client, flag)
            : new MigrationBuilder<string, string?, Record, string>(client, flag, readFlag);
        Migration = builder
            .Read(Old.ReadAsync, New.ReadAsync, compare)
            .Write(Old.WriteAsync, New.WriteAsync)
            .OnFailedWrite(FailedWrites.Enqueue)
            .Build();
    }

    public ConcurrentQueue<string> Calls { get; } = new();

    public FakeStore Old { get; }

    public FakeStore New { get; }

    public ConcurrentQueue<MigrationWriteFailure<Record>> FailedWrites { get; } = new();

    public Migration<string, string?, Record, string> Migration { get; }

    public string[] TakeCalls()
    {
        var calls = Calls.ToArray();
        Calls.Clear();
        return calls;
    }
}

public static class MigrationFlags
{
    public static readonly string[] Stages = ["off", "dualwrite", "shadow", "live", "rampdown", "complete"];

    /// <summary>
    /// A migration flag as the configuration carries it: user <c>u-{stage}</c> at each stage,
    /// <c>u-junk</c> at a value that is not a stage, everyone else inactive.
    /// </summary>
    public static string PerUser(string slug, double? compareRate)
    {
        var conditions = Stages.Append("junk").Select(stage =>
            $$"""{"rules":[{"key":"userId","operator":"STR_EQUAL","negate":false,"values":["u-{{stage}}"]}],"variation":{"active":true,"value":"{{stage}}" """ + "}}");
        var migration = compareRate is { } rate ? ""","migration":{"compareRate":""" + rate.ToString(System.Globalization.CultureInfo.InvariantCulture) + "}" : "";
        return $$"""{"slug":"{{slug}}","conditions":[{{string.Join(",", conditions)}}],"defaultVariation":{"active":false,"value":null}""" + migration + "}";
    }

    public static FlagstaffClient Offline(params string[] flags) =>
        new(new FlagstaffClientOptions { Mode = SyncMode.Offline, BootstrapJson = "[" + string.Join(",", flags) + "]" });

    /// <summary>Every measurement the client made since the last collection.</summary>
    internal static List<MigrationMeasurement> Collect(FlagstaffClient client)
    {
        var measurements = new List<MigrationMeasurement>();
        client.Migrations.Collect(measurements);
        return measurements;
    }

    internal static MigrationMeasurement Single(List<MigrationMeasurement> measurements, string stage, string operation) =>
        measurements.Single(m => m.Stage == stage && m.Operation == operation);
}
