using System.Text.Json;
using System.Text.Json.Serialization;
using Flagstaff.Storage;

namespace Flagstaff.Server.Evaluation;

/// <summary>A usage report, as SDKs send it to <c>POST /report</c> (every part optional).</summary>
public sealed class UsageReport
{
    public List<UsageReportClient>? Clients { get; set; }

    /// <summary>Property name to [first seen, last seen] in Unix seconds.</summary>
    public Dictionary<string, JsonElement>? ReceivedProperties { get; set; }

    /// <summary>Property name to a list of [value] or [value, label].</summary>
    public Dictionary<string, JsonElement>? ReceivedValues { get; set; }
}

public sealed class UsageReportClient
{
    public string? Id { get; set; }

    public Dictionary<string, List<UsageReportValue>>? Flags { get; set; }
}

public sealed class UsageReportValue
{
    public JsonElement? Value { get; set; }

    public JsonElement? Default { get; set; }

    public long Count { get; set; }

    public bool? Active { get; set; }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, MaxDepth = 32)]
[JsonSerializable(typeof(UsageReport))]
public sealed partial class UsageJson : JsonSerializerContext;

/// <summary>
/// Aggregates usage reports in memory (per environment, flag, value, client and minute; properties
/// and values per project) and writes them to the database every few seconds in one transaction. If
/// the database is unreachable the counts wait in memory (bounded) and are written later.
/// </summary>
public sealed partial class UsageRecorder(Store store, TimeProvider clock, ILogger<UsageRecorder> logger) : BackgroundService
{
    public const int MaxPendingCounts = 200_000;
    public const int MaxValueLength = 1_000;
    private const int MaxValuesPerProperty = 200;
    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Retention = TimeSpan.FromDays(30);

    private readonly Lock _gate = new();
    private Dictionary<(string Environment, string Flag, long Minute, string Value, string Client), long> _counts = [];
    private Dictionary<(string Project, string Key), (DateTimeOffset First, DateTimeOffset Last)> _properties = [];
    private Dictionary<(string Project, string Property, string Value), string?> _values = [];
    private long _dropped;

    /// <summary>Takes a report for an environment (validated by the caller).</summary>
    public void Record(string projectId, string environmentId, UsageReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        long minute = clock.GetUtcNow().ToUnixTimeSeconds() / 60;
        lock (_gate)
        {
            foreach (var client in report.Clients ?? [])
            {
                foreach (var (flag, values) in client.Flags ?? [])
                {
                    foreach (var value in values)
                    {
                        if (value.Count <= 0)
                        {
                            continue;
                        }

                        var key = (environmentId, flag, minute, Truncate(value.Value is { } v ? v.GetRawText() : "null"), client.Id ?? "");
                        if (_counts.TryGetValue(key, out long count))
                        {
                            _counts[key] = count + value.Count;
                        }
                        else if (_counts.Count < MaxPendingCounts)
                        {
                            _counts[key] = value.Count;
                        }
                        else
                        {
                            _dropped += value.Count;
                        }
                    }
                }
            }

            foreach (var (property, range) in report.ReceivedProperties ?? [])
            {
                if (range.ValueKind == JsonValueKind.Array && range.GetArrayLength() == 2
                    && range[0].ValueKind == JsonValueKind.Number && range[1].ValueKind == JsonValueKind.Number
                    && range[0].TryGetInt64(out long first) && range[1].TryGetInt64(out long last))
                {
                    var seen = (DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(first, 0, 253402300799)), DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(last, 0, 253402300799)));
                    var key = (projectId, property);
                    _properties[key] = _properties.TryGetValue(key, out var known)
                        ? (Min(known.First, seen.Item1), Max(known.Last, seen.Item2))
                        : seen;
                }
            }

            foreach (var (property, list) in report.ReceivedValues ?? [])
            {
                if (list.ValueKind != JsonValueKind.Array)
                {
                    continue;
                }

                foreach (var item in list.EnumerateArray().Take(MaxValuesPerProperty))
                {
                    if (item.ValueKind == JsonValueKind.Array && item.GetArrayLength() >= 1 && item[0].ValueKind == JsonValueKind.String)
                    {
                        string? label = item.GetArrayLength() > 1 && item[1].ValueKind == JsonValueKind.String ? Truncate(item[1].GetString()!) : null;
                        _values[(projectId, property, Truncate(item[0].GetString()!))] = label;
                    }
                }
            }
        }
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static string Truncate(string text) => text.Length <= MaxValueLength ? text : text[..MaxValueLength];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(FlushInterval, clock);
        int flushes = 0;
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            await FlushAsync(stoppingToken).ConfigureAwait(false);
            if (++flushes % 720 == 1)
            {
                await PruneAsync(stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Writes what has been aggregated (also on shutdown).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        Dictionary<(string, string, long, string, string), long> counts;
        Dictionary<(string, string), (DateTimeOffset, DateTimeOffset)> properties;
        Dictionary<(string, string, string), string?> values;
        lock (_gate)
        {
            (counts, _counts) = (_counts, []);
            (properties, _properties) = (_properties, []);
            (values, _values) = (_values, []);
        }

        if (counts.Count == 0 && properties.Count == 0 && values.Count == 0)
        {
            return;
        }

        try
        {
            var now = clock.GetUtcNow();
            await store.WriteAsync(async s =>
            {
                await s.AddUsageAsync(counts.Select(c => new UsageCount
                {
                    EnvironmentId = c.Key.Item1, FlagKey = c.Key.Item2, Minute = c.Key.Item3, Value = c.Key.Item4, Client = c.Key.Item5, Count = c.Value,
                })).ConfigureAwait(false);
                foreach (var project in properties.GroupBy(p => p.Key.Item1))
                {
                    await s.SeePropertiesAsync(project.Key, project.Select(p => (p.Key.Item2, p.Value.Item1, p.Value.Item2)), now).ConfigureAwait(false);
                }

                foreach (var project in values.GroupBy(v => v.Key.Item1))
                {
                    await s.SeeValuesAsync(project.Key, project.Select(v => (v.Key.Item2, v.Key.Item3, v.Value)), now).ConfigureAwait(false);
                }
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Keep the counts for the next flush (an environment deleted meanwhile fails for ever: drop on a foreign-key error).
            if (e is not StoreUnavailableException)
            {
                LogFlushDropped(logger, e, counts.Count);
                return;
            }

            LogFlushFailed(logger, e);
            lock (_gate)
            {
                foreach (var (key, count) in counts)
                {
                    if (_counts.Count < MaxPendingCounts || _counts.ContainsKey(key))
                    {
                        _counts[key] = _counts.GetValueOrDefault(key) + count;
                    }
                }

                foreach (var (key, range) in properties)
                {
                    _properties.TryAdd(key, range);
                }

                foreach (var (key, label) in values)
                {
                    _values.TryAdd(key, label);
                }
            }
        }
    }

    private async Task PruneAsync(CancellationToken cancellationToken)
    {
        try
        {
            long before = (clock.GetUtcNow() - Retention).ToUnixTimeSeconds() / 60;
            await store.WriteAsync(async s =>
            {
                await s.PruneUsageAsync(before).ConfigureAwait(false);
                await s.PruneConfigChangesAsync(clock.GetUtcNow() - Retention).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogFlushFailed(logger, e);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 2300, Level = LogLevel.Warning, Message = "Could not write usage; it waits in memory")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2301, Level = LogLevel.Warning, Message = "Could not write usage; {Count} counts dropped")]
    private static partial void LogFlushDropped(ILogger logger, Exception exception, int count);
}
