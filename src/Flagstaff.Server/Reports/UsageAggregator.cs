using System.Text.Json;
using System.Text.Json.Serialization;
using Flagstaff.DataPlane.Snapshots;
using Flagstaff.Domain;
using Flagstaff.Management.Telemetry;
using Flagstaff.Server.EvaluationApi;
using Flagstaff.Storage;
using Microsoft.Extensions.Options;

namespace Flagstaff.Server.Reports;

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

/// <summary>Why part of a usage report was not recorded (stable names, as the API lists them).</summary>
public static class ReportDrop
{
    /// <summary>A property name that breaks the rule for property names, or a sighting that is not two times.</summary>
    public const string InvalidProperty = "invalidProperty";

    /// <summary>A property name past the per-report limit.</summary>
    public const string ReportProperties = "reportPropertyLimit";

    /// <summary>A new property while the project already has as many learned ones as allowed.</summary>
    public const string CatalogueFull = "catalogueFull";

    /// <summary>A value that is not text, is too long, or belongs to a property not in the catalogue.</summary>
    public const string InvalidValue = "invalidValue";

    /// <summary>A value past the per-report limit.</summary>
    public const string ReportValues = "reportValueLimit";

    /// <summary>A new value of a property that already has as many as are remembered.</summary>
    public const string PropertyValuesFull = "propertyValuesFull";

    /// <summary>Usage of a flag the project does not have.</summary>
    public const string UnknownFlag = "unknownFlag";

    /// <summary>Usage under a client id that is too long or not text.</summary>
    public const string InvalidUsage = "invalidUsage";

    /// <summary>Counts or measurements the database refused for good (their environment deleted meanwhile); counted in the metrics only.</summary>
    public const string WriteFailed = "writeFailed";

    /// <summary>A new (value, client) series of a flag in a minute that already has as many as allowed.</summary>
    public const string FlagSeriesFull = "flagSeriesFull";

    /// <summary>Usage while the counts waiting for the database are at their limit.</summary>
    public const string Backlog = "backlogFull";
}

/// <summary>
/// Aggregates usage reports in memory (per environment, flag, value, client and minute; properties
/// and values per project) and writes them to the database every few seconds in one transaction. If
/// the database is unreachable the counts wait in memory (bounded) and are written later.
/// </summary>
/// <remarks>
/// Reports come with public client keys, so what they can add is bounded, and what goes past a bound
/// is dropped and counted per project and reason, never refused (an SDK cannot act on an error):
/// property names follow the rule of the management API; a report carries at most so many names and
/// values; a project learns at most so many properties from reports and remembers so many values of
/// each; usage is recorded only for the project's flags, with so many (value, client) series per
/// flag and minute. The limits that span reports are counted in the database when the recorder
/// writes (under a lock shared by every node), so they hold across reports, restarts and nodes; the
/// same limits applied in memory, against what the last write found, keep the backlog small.
/// </remarks>
public sealed partial class UsageAggregator(Store store, SnapshotCache snapshots, IOptions<EvaluationOptions> options, TimeProvider clock, FlagstaffMetrics metrics, ILogger<UsageAggregator> logger) : BackgroundService
{
    public const int MaxPendingCounts = 200_000;
    private const string MetricKind = "usage";
    public const int MaxValueLength = 1_000;
    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Retention = TimeSpan.FromDays(30);

    private readonly Lock _gate = new();
    // Not disposed: a host may stop the recorder (a last flush) after disposing it, and a
    // SemaphoreSlim holds nothing to release unless its wait handle is asked for.
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private Dictionary<(string Environment, string Flag, long Minute, string Value, string Client), long> _counts = [];
    private Dictionary<(string Environment, string Flag, long Minute), int> _series = [];
    private Dictionary<(string Project, string Key), (DateTimeOffset First, DateTimeOffset Last)> _properties = [];
    private Dictionary<string, int> _newProperties = [];
    private Dictionary<(string Project, string Property, string Value), string?> _values = [];
    private Dictionary<(string Project, string Property), int> _valuesPerProperty = [];
    private Dictionary<string, int> _unreadProperties = [];
    private Dictionary<(string Project, string Reason), long> _drops = [];
    private readonly Dictionary<string, string> _projectOfEnvironment = [];

    // What the last write found in each project's catalogue: its keys, and how many were learned.
    private readonly Dictionary<string, (HashSet<string> Keys, int Learned)> _catalogues = [];

    /// <summary>Takes a report for an environment (validated by the caller); what it carries past a limit is counted, not refused.</summary>
    public void Record(string projectId, string environmentId, UsageReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        metrics.ReportReceived(MetricKind);
        var limits = options.Value;
        long minute = clock.GetUtcNow().ToUnixTimeSeconds() / 60;
        snapshots.TryGet(environmentId, out var snapshot);
        lock (_gate)
        {
            _projectOfEnvironment[environmentId] = projectId;
            foreach (var client in report.Clients ?? [])
            {
                string clientId = client.Id ?? "";
                bool validClient = clientId.Length <= Limits.NameLength && IsText(clientId);
                foreach (var (flag, values) in client.Flags ?? [])
                {
                    if (values is null)
                    {
                        continue;
                    }

                    // Without the environment's snapshot (still loading) no flag is known yet.
                    if (snapshot is null || !snapshot.Flags.ContainsKey(flag))
                    {
                        Drop(projectId, ReportDrop.UnknownFlag, values.Count);
                        continue;
                    }

                    if (!validClient)
                    {
                        Drop(projectId, ReportDrop.InvalidUsage, values.Count);
                        continue;
                    }

                    foreach (var value in values)
                    {
                        if (value is null || value.Count <= 0)
                        {
                            continue;
                        }

                        var key = (environmentId, flag, minute, Truncate(value.Value is { } v ? v.GetRawText() : "null"), clientId);
                        var series = (environmentId, flag, minute);
                        if (_counts.TryGetValue(key, out long count))
                        {
                            _counts[key] = count + value.Count;
                        }
                        else if (_series.GetValueOrDefault(series) >= limits.MaxUsageSeriesPerFlag)
                        {
                            Drop(projectId, ReportDrop.FlagSeriesFull, 1);
                        }
                        else if (_counts.Count >= MaxPendingCounts)
                        {
                            Drop(projectId, ReportDrop.Backlog, 1);
                        }
                        else
                        {
                            _counts[key] = value.Count;
                            _series[series] = _series.GetValueOrDefault(series) + 1;
                        }
                    }
                }
            }

            _catalogues.TryGetValue(projectId, out var catalogue);
            int names = 0;
            foreach (var (property, range) in report.ReceivedProperties ?? [])
            {
                if (!Limits.IsValidPropertyName(property) || range.ValueKind != JsonValueKind.Array || range.GetArrayLength() != 2
                    || range[0].ValueKind != JsonValueKind.Number || range[1].ValueKind != JsonValueKind.Number
                    || !range[0].TryGetInt64(out long first) || !range[1].TryGetInt64(out long last))
                {
                    Drop(projectId, ReportDrop.InvalidProperty, 1);
                    continue;
                }

                if (++names > limits.MaxReportProperties)
                {
                    Drop(projectId, ReportDrop.ReportProperties, 1);
                    continue;
                }

                var seen = (DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(first, 0, 253402300799)), DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(last, 0, 253402300799)));
                var key = (projectId, property);
                if (_properties.TryGetValue(key, out var known))
                {
                    _properties[key] = (Min(known.First, seen.Item1), Max(known.Last, seen.Item2));
                }
                else if (catalogue.Keys?.Contains(property) == true)
                {
                    _properties[key] = seen;
                }
                else if (catalogue.Learned + _newProperties.GetValueOrDefault(projectId) < limits.MaxLearnedProperties)
                {
                    _properties[key] = seen;
                    _newProperties[projectId] = _newProperties.GetValueOrDefault(projectId) + 1;
                }
                else
                {
                    Drop(projectId, ReportDrop.CatalogueFull, 1);
                }
            }

            int valueCount = 0;
            foreach (var (property, list) in report.ReceivedValues ?? [])
            {
                int items = list.ValueKind == JsonValueKind.Array ? list.GetArrayLength() : 1;

                // Values are remembered only for properties in the catalogue (or joining it now):
                // otherwise values alone could invent properties without bound. Before this node has
                // read the project's catalogue, so many properties are taken on trust, and the write
                // drops the values of those the catalogue does not have.
                var known = (projectId, property);
                if (list.ValueKind != JsonValueKind.Array || !Limits.IsValidPropertyName(property)
                    || (!_properties.ContainsKey(known) && catalogue.Keys?.Contains(property) != true && !_valuesPerProperty.ContainsKey(known)
                        && (catalogue.Keys is not null || _unreadProperties.GetValueOrDefault(projectId) >= limits.MaxLearnedProperties)))
                {
                    Drop(projectId, ReportDrop.InvalidValue, items);
                    continue;
                }

                if (!_valuesPerProperty.ContainsKey(known))
                {
                    _valuesPerProperty[known] = 0;
                    if (catalogue.Keys is null)
                    {
                        _unreadProperties[projectId] = _unreadProperties.GetValueOrDefault(projectId) + 1;
                    }
                }

                foreach (var item in list.EnumerateArray())
                {
                    if (++valueCount > limits.MaxReportValues)
                    {
                        Drop(projectId, ReportDrop.ReportValues, 1);
                        continue;
                    }

                    if (item.ValueKind != JsonValueKind.Array || item.GetArrayLength() < 1 || !TryGetText(item[0], out var value) || value.Length > limits.MaxLearnedValueLength)
                    {
                        Drop(projectId, ReportDrop.InvalidValue, 1);
                        continue;
                    }

                    // A label is only shown beside its value: one too long (or not text) is left out, the value kept.
                    string? label = item.GetArrayLength() > 1 && TryGetText(item[1], out var text) && text.Length <= limits.MaxLearnedValueLength ? text : null;
                    var key = (projectId, property, value);
                    if (_values.TryGetValue(key, out var knownLabel))
                    {
                        _values[key] = label ?? knownLabel;
                    }
                    else if (_valuesPerProperty.GetValueOrDefault((projectId, property)) < limits.MaxLearnedValues)
                    {
                        _values[key] = label;
                        _valuesPerProperty[(projectId, property)] = _valuesPerProperty.GetValueOrDefault((projectId, property)) + 1;
                    }
                    else
                    {
                        Drop(projectId, ReportDrop.PropertyValuesFull, 1);
                    }
                }
            }
        }
    }

    private void Drop(string projectId, string reason, long count)
    {
        if (count > 0)
        {
            _drops[(projectId, reason)] = _drops.GetValueOrDefault((projectId, reason)) + count;
        }
    }

    // Text a database can store: no unpaired surrogate (PostgreSQL refuses it, and one such value would fail the whole write).
    private static bool IsText(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryGetText(JsonElement element, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? text)
    {
        text = null;
        if (element.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        try
        {
            text = element.GetString()!;
        }
        catch (InvalidOperationException)
        {
            // An escaped lone surrogate cannot become a string.
            return false;
        }

        return IsText(text);
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

    /// <summary>
    /// Writes what has been aggregated (also on shutdown). One flush runs at a time: a call made while
    /// another is writing waits for it, so everything recorded before the call is written when it returns.
    /// </summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await FlushPendingAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _flushing.Release();
        }
    }

    private async Task FlushPendingAsync(CancellationToken cancellationToken)
    {
        Dictionary<(string, string, long, string, string), long> counts;
        Dictionary<(string, string), (DateTimeOffset, DateTimeOffset)> properties;
        Dictionary<(string, string, string), string?> values;
        Dictionary<(string Project, string Reason), long> drops;
        Dictionary<string, string> projectOfEnvironment;
        lock (_gate)
        {
            (counts, _counts) = (_counts, []);
            (properties, _properties) = (_properties, []);
            (values, _values) = (_values, []);
            (drops, _drops) = (_drops, []);
            _series = [];
            _newProperties = [];
            _valuesPerProperty = [];
            _unreadProperties = [];
            projectOfEnvironment = new(_projectOfEnvironment);
        }

        if (counts.Count == 0 && properties.Count == 0 && values.Count == 0 && drops.Count == 0)
        {
            return;
        }

        var limits = options.Value;
        var written = new Dictionary<(string Project, string Reason), long>(drops);
        var catalogues = new Dictionary<string, (HashSet<string> Keys, int Learned)>();
        try
        {
            var now = clock.GetUtcNow();
            await store.WriteAsync(async s =>
            {
                // Counted, then filled up to the limits: no other node writes reports meanwhile.
                await s.LockForReportsAsync().ConfigureAwait(false);
                foreach (var series in counts.GroupBy(c => (c.Key.Item1, c.Key.Item2, c.Key.Item3)))
                {
                    long stored = await s.CountUsageSeriesAsync(series.Key.Item1, series.Key.Item2, series.Key.Item3).ConfigureAwait(false);
                    foreach (var (key, count) in series)
                    {
                        var usage = new UsageCount { EnvironmentId = key.Item1, FlagKey = key.Item2, Minute = key.Item3, Value = key.Item4, Client = key.Item5, Count = count };
                        if (await s.AddToUsageSeriesAsync(usage).ConfigureAwait(false))
                        {
                            continue;
                        }

                        if (stored < limits.MaxUsageSeriesPerFlag)
                        {
                            await s.AddUsageAsync([usage]).ConfigureAwait(false);
                            stored++;
                        }
                        else
                        {
                            Count(written, projectOfEnvironment[key.Item1], ReportDrop.FlagSeriesFull, 1);
                        }
                    }
                }

                var projects = properties.Keys.Select(p => p.Item1).Concat(values.Keys.Select(v => v.Item1)).Concat(drops.Keys.Select(d => d.Project)).Distinct();
                foreach (var project in projects)
                {
                    var keys = await s.ListCatalogueKeysAsync(project).ConfigureAwait(false);
                    int learned = keys.Count(k => k.Value);
                    foreach (var ((_, key), (first, last)) in properties.Where(p => p.Key.Item1 == project))
                    {
                        if (keys.ContainsKey(key))
                        {
                            await s.SeeContextPropertyAsync(project, key, first, last).ConfigureAwait(false);
                        }
                        else if (learned < limits.MaxLearnedProperties)
                        {
                            await s.LearnContextPropertyAsync(project, key, first, last, now).ConfigureAwait(false);
                            keys[key] = true;
                            learned++;
                        }
                        else
                        {
                            Count(written, project, ReportDrop.CatalogueFull, 1);
                        }
                    }

                    foreach (var property in values.Where(v => v.Key.Item1 == project).GroupBy(v => v.Key.Item2))
                    {
                        if (!keys.ContainsKey(property.Key))
                        {
                            Count(written, project, ReportDrop.InvalidValue, property.Count());
                            continue;
                        }

                        long stored = await s.CountContextValuesAsync(project, property.Key).ConfigureAwait(false);
                        foreach (var ((_, _, value), label) in property)
                        {
                            if (await s.SeeContextValueAsync(project, property.Key, value, label, now).ConfigureAwait(false))
                            {
                                continue;
                            }

                            if (stored < limits.MaxLearnedValues)
                            {
                                await s.LearnContextValueAsync(project, property.Key, value, label, now).ConfigureAwait(false);
                                stored++;
                            }
                            else
                            {
                                Count(written, project, ReportDrop.PropertyValuesFull, 1);
                            }
                        }
                    }

                    catalogues[project] = ([.. keys.Keys], learned);
                }

                foreach (var project in written.GroupBy(d => d.Key.Project))
                {
                    await s.AddReportDropsAsync(project.Key, project.Select(d => KeyValuePair.Create(d.Key.Reason, d.Value)), now).ConfigureAwait(false);
                }
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Keep the counts for the next flush (an environment deleted meanwhile fails for ever: drop on a foreign-key error).
            if (e is not StoreUnavailableException)
            {
                LogFlushDropped(logger, e, counts.Count);
                metrics.ReportItemsDropped(MetricKind, ReportDrop.WriteFailed, counts.Count);
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

                foreach (var (key, count) in drops)
                {
                    _drops[key] = _drops.GetValueOrDefault(key) + count;
                }
            }

            return;
        }

        lock (_gate)
        {
            foreach (var (project, catalogue) in catalogues)
            {
                _catalogues[project] = catalogue;
            }
        }

        // Counted once written: a write that failed and is retried must not count its drops twice.
        foreach (var ((_, reason), count) in written)
        {
            metrics.ReportItemsDropped(MetricKind, reason, count);
        }

        foreach (var project in written.GroupBy(d => d.Key.Project))
        {
            LogReportItemsDropped(logger, project.Key, project.Sum(d => d.Value), string.Join(", ", project.OrderBy(d => d.Key.Reason, StringComparer.Ordinal).Select(d => $"{d.Key.Reason} {d.Value}")));
        }
    }

    private static void Count(Dictionary<(string Project, string Reason), long> drops, string projectId, string reason, long count) =>
        drops[(projectId, reason)] = drops.GetValueOrDefault((projectId, reason)) + count;

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

    [LoggerMessage(EventId = LogEvents.UsageFlushFailed, Level = LogLevel.Warning, Message = "Could not write usage; it waits in memory")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = LogEvents.UsageDropped, Level = LogLevel.Warning, Message = "Could not write usage; {Count} counts dropped")]
    private static partial void LogFlushDropped(ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = LogEvents.UsageReportLimited, Level = LogLevel.Warning, Message = "Usage reports to project {ProjectId} went past their limits: {Count} items dropped ({Reasons})")]
    private static partial void LogReportItemsDropped(ILogger logger, string projectId, long count, string reasons);
}
