using System.Text.Json;
using System.Text.Json.Serialization;
using Flagstaff.DataPlane.Snapshots;
using Flagstaff.Domain;
using Flagstaff.Evaluation;
using Flagstaff.Management.Services;
using Flagstaff.Management.Telemetry;
using Flagstaff.Storage;

namespace Flagstaff.Server.Reports;

/// <summary>Measurements of migration flags, as SDKs send them to <c>POST /migrations/report</c> (docs/adr/0004-migrations.md).</summary>
public sealed class MigrationReport
{
    public List<MigrationMeasurement>? Measurements { get; set; }
}

/// <summary>One flag, stage and operation over an interval.</summary>
public sealed class MigrationMeasurement
{
    public string? Flag { get; set; }

    public string? Stage { get; set; }

    public string? Operation { get; set; }

    /// <summary>Unix milliseconds.</summary>
    public long? From { get; set; }

    /// <summary>Unix milliseconds.</summary>
    public long? To { get; set; }

    public MigrationSideReport? Old { get; set; }

    public MigrationSideReport? New { get; set; }

    public long Compared { get; set; }

    public long Inconsistent { get; set; }

    public long FailedWrites { get; set; }
}

/// <summary>Calls to one side: how many, how many threw, and their latency as [bucket, count] pairs.</summary>
public sealed class MigrationSideReport
{
    public long Invoked { get; set; }

    public long Errors { get; set; }

    public List<long[]>? Latency { get; set; }
}

/// <summary>The answer: how many measurements were taken, and which were ignored and why.</summary>
public sealed record MigrationReportResult(int Accepted, IReadOnlyList<IgnoredMeasurement> Ignored);

/// <summary>A measurement that was valid but not recorded (its index in the report, its flag, and why).</summary>
public sealed record IgnoredMeasurement(int Index, string Flag, string Reason);

// Unknown members are skipped: SDKs may send more than this server knows.
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, MaxDepth = 32)]
[JsonSerializable(typeof(MigrationReport))]
[JsonSerializable(typeof(MigrationReportResult))]
public sealed partial class MigrationJson : JsonSerializerContext;

/// <summary>
/// Sums migration measurements in memory per environment, flag, stage, operation and 10-second window
/// (by the time they arrive, so SDK clocks do not matter), and writes them every 2 seconds in one
/// transaction, where every node's guards read them. If the database is unreachable the sums wait in
/// memory (bounded) and are written later. Windows older than 7 days are pruned.
/// </summary>
public sealed partial class MigrationAggregator(Store store, TimeProvider clock, FlagstaffMetrics metrics, ILogger<MigrationAggregator> logger) : BackgroundService
{
    private const string MetricKind = "migration";

    public const int MaxMeasurements = 10_000;
    public const int MaxPendingWindows = 50_000;
    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(2);

    private readonly Lock _gate = new();
    private Dictionary<(string Environment, string Flag, long Window, string Stage, string Operation), Sums> _windows = [];
    private long _dropped;

    /// <summary>Checks a report: every problem with its path (<c>measurements[3].old.latency[2]</c>).</summary>
    public static void Validate(MigrationReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var errors = new ValidationErrors();
        if (report.Measurements is null)
        {
            errors.Add("measurements", "is required: a list of measurements");
        }
        else if (report.Measurements.Count > MaxMeasurements)
        {
            errors.Add("measurements", $"has {report.Measurements.Count:N0} measurements; at most {MaxMeasurements:N0} fit in one report");
        }
        else
        {
            for (int i = 0; i < report.Measurements.Count; i++)
            {
                Check(report.Measurements[i], ValidationErrors.Index("measurements", i), errors);
            }
        }

        errors.ThrowIfAny();
    }

    private static void Check(MigrationMeasurement? m, string path, ValidationErrors errors)
    {
        if (m is null)
        {
            errors.Add(path, "must be a measurement object");
            return;
        }

        Limits.CheckKey(m.Flag, path + ".flag", errors);
        if (m.Stage is null)
        {
            errors.Add(path + ".stage", "is required");
        }
        else if (!MigrationStageNames.All.Contains(m.Stage))
        {
            errors.Add(path + ".stage", $"\"{Limits.Truncate(m.Stage)}\" is not a stage: use {string.Join(", ", MigrationStageNames.All)}");
        }

        if (m.Operation is not ("read" or "write"))
        {
            errors.Add(path + ".operation", m.Operation is null ? "is required: read or write" : $"\"{Limits.Truncate(m.Operation)}\" is not an operation: use read or write");
        }

        if (m.From is null)
        {
            errors.Add(path + ".from", "is required (Unix milliseconds)");
        }

        if (m.To is null)
        {
            errors.Add(path + ".to", "is required (Unix milliseconds)");
        }
        else if (m.From > m.To)
        {
            errors.Add(path + ".to", "must not be before from");
        }

        if (m.Old is null && m.New is null)
        {
            errors.Add(path, "measures at least one side: old, new or both");
        }

        CheckSide(m.Old, path + ".old", errors);
        CheckSide(m.New, path + ".new", errors);
        NotNegative(m.Compared, path + ".compared", errors);
        NotNegative(m.Inconsistent, path + ".inconsistent", errors);
        NotNegative(m.FailedWrites, path + ".failedWrites", errors);
        if (m.Inconsistent > m.Compared)
        {
            errors.Add(path + ".inconsistent", "must not be more than compared");
        }
    }

    private static void CheckSide(MigrationSideReport? side, string path, ValidationErrors errors)
    {
        if (side is null)
        {
            return;
        }

        NotNegative(side.Invoked, path + ".invoked", errors);
        NotNegative(side.Errors, path + ".errors", errors);
        if (side.Errors > side.Invoked)
        {
            errors.Add(path + ".errors", "must not be more than invoked");
        }

        var latency = side.Latency ?? [];
        for (int i = 0; i < latency.Count; i++)
        {
            var pair = latency[i];
            string at = ValidationErrors.Index(path + ".latency", i);
            if (pair is not { Length: 2 })
            {
                errors.Add(at, "must be a [bucket, count] pair");
            }
            else if (pair[0] is < 0 or >= LatencyBuckets.Count)
            {
                errors.Add(at, $"bucket {pair[0]} is not between 0 and {LatencyBuckets.Count - 1}");
            }
            else if (pair[1] < 0)
            {
                errors.Add(at, "the count must not be negative");
            }
        }
    }

    private static void NotNegative(long value, string path, ValidationErrors errors)
    {
        if (value < 0)
        {
            errors.Add(path, "must not be negative");
        }
    }

    /// <summary>
    /// Takes a validated report for an environment. Measurements of flags the environment does not
    /// have as migration flags, or of stages not on the flag's path, are ignored and listed.
    /// </summary>
    public MigrationReportResult Record(string environmentId, EnvironmentSnapshot snapshot, MigrationReport report)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(report);
        metrics.ReportReceived(MetricKind);
        long window = MigrationService.WindowOf(clock.GetUtcNow());
        var ignored = new List<IgnoredMeasurement>();
        int accepted = 0;
        long backlogFull = 0;
        lock (_gate)
        {
            for (int i = 0; i < report.Measurements!.Count; i++)
            {
                var m = report.Measurements[i];
                string? reason = !snapshot.Flags.TryGetValue(m.Flag!, out var flag) ? $"this environment has no flag \"{m.Flag}\""
                    : flag.Migration?.Path is not { } path ? $"\"{m.Flag}\" is not a migration flag"
                    : !MigrationPaths.Of(path).Contains(m.Stage!) ? $"\"{m.Stage}\" is not a stage of the {JsonName(path)} path of \"{m.Flag}\""
                    : null;
                if (reason is not null)
                {
                    ignored.Add(new IgnoredMeasurement(i, m.Flag!, reason));
                    continue;
                }

                var key = (environmentId, m.Flag!, window, m.Stage!, m.Operation!);
                if (!_windows.TryGetValue(key, out var sums))
                {
                    if (_windows.Count >= MaxPendingWindows)
                    {
                        _dropped++;
                        backlogFull++;
                        continue;
                    }

                    _windows[key] = sums = new Sums();
                }

                sums.Add(m);
                accepted++;
            }
        }

        metrics.ReportItemsDropped(MetricKind, "ignored", ignored.Count);
        metrics.ReportItemsDropped(MetricKind, ReportDrop.Backlog, backlogFull);
        return new MigrationReportResult(accepted, ignored);
    }

    private static string JsonName(MigrationPath path) => JsonSerializer.Serialize(path, DomainJson.Default.MigrationPath).Trim('"');

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(FlushInterval, clock);
        int flushes = 0;
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            await FlushAsync(stoppingToken).ConfigureAwait(false);
            if (++flushes % 1800 == 1)
            {
                await PruneAsync(stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Writes what has been summed (also on shutdown).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        Dictionary<(string, string, long, string, string), Sums> windows;
        lock (_gate)
        {
            (windows, _windows) = (_windows, []);
        }

        if (windows.Count == 0)
        {
            return;
        }

        try
        {
            var rows = new List<MigrationWindow>(windows.Count);
            var latency = new List<MigrationLatency>();
            foreach (var ((environment, flag, start, stage, operation), sums) in windows)
            {
                rows.Add(new MigrationWindow
                {
                    EnvironmentId = environment,
                    FlagKey = flag,
                    WindowStart = start,
                    Stage = stage,
                    Operation = operation,
                    OldInvoked = sums.OldInvoked,
                    OldErrors = sums.OldErrors,
                    NewInvoked = sums.NewInvoked,
                    NewErrors = sums.NewErrors,
                    Compared = sums.Compared,
                    Inconsistent = sums.Inconsistent,
                    FailedWrites = sums.FailedWrites,
                });
                foreach (var (side, counts) in new[] { ("old", sums.OldLatency), ("new", sums.NewLatency) })
                {
                    for (int b = 0; b < counts.Length; b++)
                    {
                        if (counts[b] > 0)
                        {
                            latency.Add(new MigrationLatency { EnvironmentId = environment, FlagKey = flag, WindowStart = start, Stage = stage, Operation = operation, Side = side, Bucket = b, Count = counts[b] });
                        }
                    }
                }
            }

            await store.WriteAsync(s => s.AddMigrationWindowsAsync(rows, latency), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // An environment deleted meanwhile fails for ever: drop unless the database is unreachable.
            if (e is not StoreUnavailableException)
            {
                LogFlushDropped(logger, e, windows.Count);
                metrics.ReportItemsDropped(MetricKind, ReportDrop.WriteFailed, windows.Count);
                return;
            }

            LogFlushFailed(logger, e);
            lock (_gate)
            {
                foreach (var (key, sums) in windows)
                {
                    if (_windows.TryGetValue(key, out var newer))
                    {
                        newer.Add(sums);
                    }
                    else if (_windows.Count < MaxPendingWindows)
                    {
                        _windows[key] = sums;
                    }
                }
            }
        }
    }

    private async Task PruneAsync(CancellationToken cancellationToken)
    {
        try
        {
            long before = MigrationService.WindowOf(clock.GetUtcNow() - MigrationService.Retention);
            await store.WriteAsync(s => s.PruneMigrationWindowsAsync(before), cancellationToken).ConfigureAwait(false);
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

    /// <summary>Measurements dropped because too many windows waited in memory.</summary>
    public long Dropped
    {
        get
        {
            lock (_gate)
            {
                return _dropped;
            }
        }
    }

    private sealed class Sums
    {
        public long OldInvoked, OldErrors, NewInvoked, NewErrors, Compared, Inconsistent, FailedWrites;
        public readonly long[] OldLatency = new long[LatencyBuckets.Count];
        public readonly long[] NewLatency = new long[LatencyBuckets.Count];

        public void Add(MigrationMeasurement m)
        {
            if (m.Old is { } old)
            {
                OldInvoked += old.Invoked;
                OldErrors += old.Errors;
                AddLatency(OldLatency, old.Latency);
            }

            if (m.New is { } @new)
            {
                NewInvoked += @new.Invoked;
                NewErrors += @new.Errors;
                AddLatency(NewLatency, @new.Latency);
            }

            Compared += m.Compared;
            Inconsistent += m.Inconsistent;
            FailedWrites += m.FailedWrites;
        }

        public void Add(Sums other)
        {
            OldInvoked += other.OldInvoked;
            OldErrors += other.OldErrors;
            NewInvoked += other.NewInvoked;
            NewErrors += other.NewErrors;
            Compared += other.Compared;
            Inconsistent += other.Inconsistent;
            FailedWrites += other.FailedWrites;
            for (int b = 0; b < LatencyBuckets.Count; b++)
            {
                OldLatency[b] += other.OldLatency[b];
                NewLatency[b] += other.NewLatency[b];
            }
        }

        private static void AddLatency(long[] histogram, List<long[]>? pairs)
        {
            foreach (var pair in pairs ?? [])
            {
                histogram[pair[0]] += pair[1];
            }
        }
    }

    [LoggerMessage(EventId = LogEvents.MigrationMeasurementsFlushFailed, Level = LogLevel.Warning, Message = "Could not write migration measurements; they wait in memory")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = LogEvents.MigrationMeasurementsDropped, Level = LogLevel.Warning, Message = "Could not write migration measurements; {Count} windows dropped")]
    private static partial void LogFlushDropped(ILogger logger, Exception exception, int count);
}
