using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Flagstaff.DataPlane;
using Flagstaff.DataPlane.Snapshots;
using Flagstaff.Storage;
using Microsoft.Extensions.Options;

namespace Flagstaff.Server.Telemetry;

/// <summary>
/// Every metric of the server, defined in this one place (names, units and labels are documented in
/// the README and must not change: dashboards and alerts depend on them). Components report what
/// happens through these methods; observable instruments read state when a collector asks.
/// </summary>
/// <remarks>
/// Evaluation is the hot path and is counted without an instrument call per evaluation: each
/// snapshot carries an <see cref="EvaluationCounter"/> (one interlocked add per request), and the
/// per-environment and per-flag totals are folded from those counters when metrics are collected.
/// A snapshot's counter is folded for the last time once the snapshot is collected by the GC, when
/// nothing can add to it any more, so no evaluation is lost when a snapshot is replaced.
/// </remarks>
public sealed class FlagstaffMetrics : IStoreObserver, IDataPlaneObserver
{
    /// <summary>The name of the server's meter (what an OpenTelemetry pipeline must listen to).</summary>
    public const string MeterName = "Flagstaff.Server";

    // Boxed once: a status code as a label value must not box on every request.
    private static readonly object[] StatusCodes = [.. Enumerable.Range(0, 600).Select(code => (object)code)];

    private static readonly InstrumentAdvice<double> SecondsBuckets = new()
    {
        HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    };

    private readonly TimeProvider _clock;
    private readonly bool _perFlag;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _storeDuration;
    private readonly Counter<long> _storeErrors;
    private readonly Histogram<double> _fanOut;
    private readonly Counter<long> _reportsReceived;
    private readonly Counter<long> _reportItemsDropped;
    private readonly Counter<long> _guardEvaluations;
    private readonly Counter<long> _guardRollbacks;
    private readonly Counter<long> _loginFailures;
    private readonly Counter<long> _loginThrottled;
    private readonly ConcurrentDictionary<string, EnvironmentState> _environments = new(StringComparer.Ordinal);
    private long _streams;
    private long _ofrepStreams;

    public FlagstaffMetrics(IMeterFactory meterFactory, IOptions<TelemetryOptions> options, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(options);
        _clock = clock;
        _perFlag = options.Value.FlagEvaluations;

        // The factory owns the meter (and disposes it with the service provider).
        var meter = meterFactory.Create(MeterName);
        _requests = meter.CreateCounter<long>("flagstaff.http.requests", "{request}", "HTTP requests answered, by API area and status code.");
        meter.CreateObservableCounter("flagstaff.evaluation.contexts", ObserveContexts, "{context}", "Contexts evaluated (every flag that is on, for one context), by environment.");
        if (_perFlag)
        {
            meter.CreateObservableCounter("flagstaff.flag.evaluations", ObserveFlags, "{evaluation}", "Evaluations of each flag that is on, by environment and flag.");
        }

        meter.CreateObservableUpDownCounter("flagstaff.streams.open", ObserveStreams, "{stream}", "Open streams (Flagstaff configuration streams and OFREP change notifications).");
        _fanOut = meter.CreateHistogram("flagstaff.stream.fanout.duration", "s", "From a configuration change's commit to its write on each open stream.", advice: SecondsBuckets);
        meter.CreateObservableGauge("flagstaff.snapshot.version", ObserveVersions, "{version}", "The configuration version each environment's evaluation snapshot on this node has reached.");
        meter.CreateObservableGauge("flagstaff.snapshot.lag", ObserveLag, "{version}", "How many configuration versions each environment's snapshot is behind the newest this node knows the database has.");
        meter.CreateObservableGauge("flagstaff.snapshot.lag.time", ObserveLagTime, "s", "How long each environment's snapshot has been behind the database (0 when up to date).");
        _storeDuration = meter.CreateHistogram("flagstaff.db.operation.duration", "s", "Database sessions (a read, or a change in one transaction), waiting for the connection included.", advice: SecondsBuckets);
        _storeErrors = meter.CreateCounter<long>("flagstaff.db.errors", "{error}", "Database sessions that failed, by kind of failure.");
        _reportsReceived = meter.CreateCounter<long>("flagstaff.reports.received", "{report}", "Usage and migration reports received from SDKs.");
        _reportItemsDropped = meter.CreateCounter<long>("flagstaff.reports.dropped", "{item}", "Parts of usage and migration reports not recorded, by reason.");
        _guardEvaluations = meter.CreateCounter<long>("flagstaff.guard.evaluations", "{evaluation}", "Times a migration's guards judged its measurements.");
        _guardRollbacks = meter.CreateCounter<long>("flagstaff.guard.rollbacks", "{rollback}", "Migrations rolled back by a guard, by guard.");
        _loginFailures = meter.CreateCounter<long>("flagstaff.login.failures", "{attempt}", "Password sign-ins refused for a wrong e-mail, password or disabled account.");
        _loginThrottled = meter.CreateCounter<long>("flagstaff.login.throttled", "{attempt}", "Sign-ins refused unchecked because of too many recent failures.");
    }

    /// <summary>An HTTP request answered, in an API area (a fixed, short name).</summary>
    public void RequestCompleted(string area, int statusCode)
    {
        if (!_requests.Enabled)
        {
            return;
        }

        var tags = new TagList { { "area", area }, { "status", (uint)statusCode < StatusCodes.Length ? StatusCodes[statusCode] : statusCode } };
        _requests.Add(1, tags);
    }

    /// <summary>
    /// Starts counting the evaluations of a new snapshot of an environment: its counter is folded for
    /// the last time once the snapshot is collected; the slugs of the flags it evaluates are read when folding.
    /// </summary>
    public void SnapshotApplied(EnvironmentSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var state = _environments.GetOrAdd(snapshot.Environment.Id, static _ => new EnvironmentState());
        lock (state)
        {
            state.Project = snapshot.Project.Key;
            state.Environment = snapshot.Environment.Key;
            state.Applied = Math.Max(state.Applied, snapshot.Version);
            state.Tracked.Add(new TrackedCounter(snapshot.Evaluations, new WeakReference<object>(snapshot), snapshot.Active.Select(f => f.Slug)));

            // Folding here too keeps the list to the snapshots still alive when nothing collects metrics.
            state.Fold(_perFlag);
        }
    }

    /// <summary>An environment's configuration at the source has reached a version (a notice, or a resync).</summary>
    public void SourceVersion(string environmentId, long version)
    {
        var state = _environments.GetOrAdd(environmentId, static _ => new EnvironmentState());
        lock (state)
        {
            if (version > state.Known)
            {
                if (state.Known <= state.Applied)
                {
                    state.BehindSince = _clock.GetUtcNow();
                }

                state.Known = version;
            }
        }
    }

    /// <summary>An environment was deleted: its series end.</summary>
    public void EnvironmentRemoved(string environmentId) => _environments.TryRemove(environmentId, out _);

    /// <summary>A flag evaluated alone (OFREP's single-flag evaluation) in an environment: one context, one flag.</summary>
    public void FlagEvaluated(string environmentId, string flag)
    {
        if (_perFlag && _environments.TryGetValue(environmentId, out var state))
        {
            var count = state.Single.TryGetValue(flag, out var existing) ? existing : state.Single.GetOrAdd(flag, static _ => new StrongCount());
            Interlocked.Increment(ref count.Value);
        }

        if (_environments.TryGetValue(environmentId, out var environment))
        {
            Interlocked.Increment(ref environment.SingleContexts);
        }
    }

    public void StreamOpened(bool ofrep)
    {
        if (ofrep)
        {
            Interlocked.Increment(ref _ofrepStreams);
        }
        else
        {
            Interlocked.Increment(ref _streams);
        }
    }

    public void StreamClosed(bool ofrep)
    {
        if (ofrep)
        {
            Interlocked.Decrement(ref _ofrepStreams);
        }
        else
        {
            Interlocked.Decrement(ref _streams);
        }
    }

    /// <summary>An event written on a stream, for a change committed at <paramref name="committedAt"/>.</summary>
    public void StreamWritten(DateTimeOffset committedAt, bool ofrep)
    {
        if (_fanOut.Enabled)
        {
            _fanOut.Record(Math.Max(0, (_clock.GetUtcNow() - committedAt).TotalSeconds), new KeyValuePair<string, object?>("stream", ofrep ? "ofrep" : "flagstaff"));
        }
    }

    /// <inheritdoc />
    public void Completed(StoreOperation operation, TimeSpan elapsed, StoreException? failure)
    {
        var name = new KeyValuePair<string, object?>("operation", operation == StoreOperation.Read ? "read" : "write");
        _storeDuration.Record(elapsed.TotalSeconds, name);
        if (failure is not null)
        {
            string kind = failure switch
            {
                StoreFullException => "full",
                StoreUnavailableException => "unavailable",
                DuplicateKeyException => "duplicate_key",
                ConcurrencyConflictException => "conflict",
                _ => "failed",
            };
            _storeErrors.Add(1, name, new KeyValuePair<string, object?>("error", kind));
        }
    }

    /// <summary>A report received (<paramref name="kind"/>: <c>usage</c> or <c>migration</c>).</summary>
    public void ReportReceived(string kind) => _reportsReceived.Add(1, new KeyValuePair<string, object?>("kind", kind));

    /// <summary>Parts of reports not recorded, for a reason (a fixed name).</summary>
    public void ReportItemsDropped(string kind, string reason, long count)
    {
        if (count > 0)
        {
            _reportItemsDropped.Add(count, new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("reason", reason));
        }
    }

    public void GuardEvaluated() => _guardEvaluations.Add(1);

    public void GuardRolledBack(string guard) => _guardRollbacks.Add(1, new KeyValuePair<string, object?>("guard", guard));

    public void LoginFailed() => _loginFailures.Add(1);

    public void LoginThrottled() => _loginThrottled.Add(1);

    private IEnumerable<Measurement<long>> ObserveContexts()
    {
        var measurements = new List<Measurement<long>>();
        foreach (var state in _environments.Values)
        {
            lock (state)
            {
                state.Fold(_perFlag);
                if (state.Project is not null)
                {
                    measurements.Add(new Measurement<long>(state.Contexts + Volatile.Read(ref state.SingleContexts), state.Labels()));
                }
            }
        }

        return measurements;
    }

    private IEnumerable<Measurement<long>> ObserveFlags()
    {
        var measurements = new List<Measurement<long>>();
        foreach (var state in _environments.Values)
        {
            lock (state)
            {
                state.Fold(_perFlag);
                if (state.Project is null)
                {
                    continue;
                }

                foreach (var (flag, count) in state.FlagTotals)
                {
                    long single = state.Single.TryGetValue(flag, out var alone) ? Volatile.Read(ref alone.Value) : 0;
                    measurements.Add(new Measurement<long>(count + single, state.Labels(flag)));
                }

                foreach (var (flag, alone) in state.Single)
                {
                    if (!state.FlagTotals.ContainsKey(flag))
                    {
                        measurements.Add(new Measurement<long>(Volatile.Read(ref alone.Value), state.Labels(flag)));
                    }
                }
            }
        }

        return measurements;
    }

    private IEnumerable<Measurement<long>> ObserveStreams() =>
    [
        new(Volatile.Read(ref _streams), new KeyValuePair<string, object?>("stream", "flagstaff")),
        new(Volatile.Read(ref _ofrepStreams), new KeyValuePair<string, object?>("stream", "ofrep")),
    ];

    private IEnumerable<Measurement<long>> ObserveVersions() => Observe(state => state.Applied);

    private IEnumerable<Measurement<long>> ObserveLag() => Observe(state => Math.Max(0, state.Known - state.Applied));

    private IEnumerable<Measurement<double>> ObserveLagTime()
    {
        var now = _clock.GetUtcNow();
        var measurements = new List<Measurement<double>>();
        foreach (var state in _environments.Values)
        {
            lock (state)
            {
                if (state.Project is not null)
                {
                    measurements.Add(new Measurement<double>(state.Known > state.Applied ? (now - state.BehindSince).TotalSeconds : 0, state.Labels()));
                }
            }
        }

        return measurements;
    }

    private List<Measurement<long>> Observe(Func<EnvironmentState, long> value)
    {
        var measurements = new List<Measurement<long>>();
        foreach (var state in _environments.Values)
        {
            lock (state)
            {
                if (state.Project is not null)
                {
                    measurements.Add(new Measurement<long>(value(state), state.Labels()));
                }
            }
        }

        return measurements;
    }

    private sealed class StrongCount
    {
        public long Value;
    }

    private sealed record TrackedCounter(EvaluationCounter Counter, WeakReference<object> Owner, IEnumerable<string> Flags)
    {
        public long Folded { get; set; }
    }

    /// <summary>One environment's totals; guarded by locking the instance.</summary>
    private sealed class EnvironmentState
    {
        public string? Project;
        public string? Environment;
        public long Applied = -1;
        public long Known = -1;
        public DateTimeOffset BehindSince;
        public long Contexts;
        public long SingleContexts;
        public readonly List<TrackedCounter> Tracked = [];
        public readonly Dictionary<string, long> FlagTotals = new(StringComparer.Ordinal);
        public readonly ConcurrentDictionary<string, StrongCount> Single = new(StringComparer.Ordinal);

        public KeyValuePair<string, object?>[] Labels() => [new("project", Project), new("environment", Environment)];

        public KeyValuePair<string, object?>[] Labels(string flag) => [new("project", Project), new("environment", Environment), new("flag", flag)];

        public void Fold(bool perFlag)
        {
            for (int i = Tracked.Count - 1; i >= 0; i--)
            {
                var tracked = Tracked[i];

                // Liveness first: once the owner is gone nothing can add to its counter, so what is read after is final.
                bool alive = tracked.Owner.TryGetTarget(out _);
                long count = tracked.Counter.Read();
                long delta = count - tracked.Folded;
                if (delta > 0)
                {
                    Contexts += delta;
                    if (perFlag)
                    {
                        foreach (var flag in tracked.Flags)
                        {
                            FlagTotals[flag] = FlagTotals.GetValueOrDefault(flag) + delta;
                        }
                    }

                    tracked.Folded = count;
                }

                if (!alive)
                {
                    Tracked.RemoveAt(i);
                }
            }
        }
    }
}
