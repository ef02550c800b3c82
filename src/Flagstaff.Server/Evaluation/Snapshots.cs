using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Globalization;
using System.Threading.Channels;
using Flagstaff.Domain;
using Flagstaff.Evaluation;
using Flagstaff.Server.Services;
using Flagstaff.Server.Telemetry;
using Flagstaff.Storage;

namespace Flagstaff.Server.Evaluation;

/// <summary>
/// One environment's compiled configuration at one version: what every evaluation endpoint answers
/// from. Immutable; a change produces a new snapshot, swapped in whole, so no request ever sees half
/// of a change.
/// </summary>
public sealed class EnvironmentSnapshot
{
    private const int HistoryLength = 512;
    private readonly EvaluationCounter _evaluations = new();
    private byte[]? _configJson;
    private byte[]? _configEvent;

    internal EnvironmentSnapshot(
        Project project, ProjectEnvironment environment, ImmutableDictionary<string, CompiledFlagConfiguration> flags,
        FlagConfiguration active, ImmutableList<(long Version, IReadOnlySet<string> Keys)> history, DateTimeOffset? committedAt = null)
    {
        CommittedAt = committedAt;
        Project = project;
        Environment = environment;
        Flags = flags;
        Active = active;
        History = history;
    }

    public Project Project { get; }

    public ProjectEnvironment Environment { get; }

    /// <summary>The configuration version (the ETag of <c>GET /config</c>, the id of stream events).</summary>
    public long Version => Environment.ConfigVersion;

    /// <summary>Every flag of the project, compiled for this environment (disabled ones included).</summary>
    public ImmutableDictionary<string, CompiledFlagConfiguration> Flags { get; }

    /// <summary>The flags that are on, for the evaluation core.</summary>
    public FlagConfiguration Active { get; }

    /// <summary>The flag keys each recent version changed, oldest first (for streams that resume).</summary>
    internal ImmutableList<(long Version, IReadOnlySet<string> Keys)> History { get; }

    /// <summary>The body of <c>GET /config</c>: the flags that are on, built once per snapshot.</summary>
    public byte[] ConfigJson => _configJson ??= Serialize(Active.Select(f => Flags[f.Slug]));

    /// <summary>The first event of a stream (<c>event: config</c>), built once per snapshot and shared by every subscriber.</summary>
    public byte[] ConfigEvent => _configEvent ??= StreamHub.BuildConfigEvent(this);

    public string ETag => "\"" + Version.ToString(CultureInfo.InvariantCulture) + "\"";

    /// <summary>When the newest change this snapshot applied was committed (null for a snapshot loaded whole).</summary>
    public DateTimeOffset? CommittedAt { get; }

    /// <summary>This snapshot's count of contexts evaluated (folded into the metrics).</summary>
    internal EvaluationCounter Evaluations => _evaluations;

    /// <summary>Counts contexts evaluated from this snapshot (every flag that is on, for each): no allocation.</summary>
    public void CountEvaluations(int contexts)
    {
        _evaluations.Add(contexts);

        // The metrics fold this snapshot's count for the last time once it is collected: it must stay
        // alive until the add is done.
        GC.KeepAlive(this);
    }

    internal static byte[] Serialize(IEnumerable<CompiledFlagConfiguration> flags)
    {
        using var buffer = new MemoryStream();
        buffer.WriteByte((byte)'[');
        bool first = true;
        foreach (var flag in flags)
        {
            if (!first)
            {
                buffer.WriteByte((byte)',');
            }

            buffer.Write(flag.Json);
            first = false;
        }

        buffer.WriteByte((byte)']');
        return buffer.ToArray();
    }

    internal static EnvironmentSnapshot Create(CompiledEnvironment compiled)
    {
        var flags = compiled.Flags.ToImmutableDictionary(f => f.Key, StringComparer.Ordinal);
        var active = FlagConfiguration.Create(compiled.Flags.Where(f => f.Enabled).Select(f => f.Evaluator));
        return new EnvironmentSnapshot(compiled.Project, compiled.Environment, flags, active, []);
    }

    /// <summary>Applies the changed flags; its cost grows with the number of changes, not of flags.</summary>
    internal EnvironmentSnapshot Apply(EnvironmentDelta delta)
    {
        var compiled = delta.Flags.ToDictionary(f => f.Key, StringComparer.Ordinal);
        var flags = Flags.ToBuilder();
        var upserted = new List<CompiledFlag>();
        var removed = new List<string>();
        foreach (var key in delta.ChangedKeys)
        {
            if (compiled.TryGetValue(key, out var flag))
            {
                flags[key] = flag;
                if (flag.Enabled)
                {
                    upserted.Add(flag.Evaluator);
                }
                else
                {
                    removed.Add(key);
                }
            }
            else
            {
                flags.Remove(key);
                removed.Add(key);
            }
        }

        var history = History.AddRange(delta.Changes.Select(c => (c.Version, (IReadOnlySet<string>)c.Changed.ToHashSet(StringComparer.Ordinal))));
        if (history.Count > HistoryLength)
        {
            history = history.RemoveRange(0, history.Count - HistoryLength);
        }

        var committedAt = delta.Changes.Count > 0 ? delta.Changes.Max(c => c.At) : (DateTimeOffset?)null;
        return new EnvironmentSnapshot(delta.Project, delta.Environment, flags.ToImmutable(), Active.WithChanges(upserted, removed), history, committedAt);
    }

    /// <summary>The flags changed after <paramref name="version"/>, or null when this snapshot's history does not reach back that far.</summary>
    internal IReadOnlySet<string>? ChangedSince(long version)
    {
        if (version == Version)
        {
            return new HashSet<string>();
        }

        if (version > Version || History.IsEmpty || History[0].Version > version + 1)
        {
            return null;
        }

        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (v, changed) in History)
        {
            if (v > version)
            {
                keys.UnionWith(changed);
            }
        }

        return keys;
    }
}

/// <summary>A new snapshot and what changed from the previous one.</summary>
public sealed record SnapshotUpdate(EnvironmentSnapshot? Previous, EnvironmentSnapshot Current, IReadOnlySet<string>? ChangedKeys);

/// <summary>
/// Keeps a compiled snapshot of every environment in memory and brings it up to date when the
/// configuration changes (on this node, or on another through the database's notifications), one
/// environment change at a time, in version order. Evaluation never waits for the database: when it
/// is unreachable, the last snapshots go on answering.
/// </summary>
public sealed partial class Snapshots(
    EnvironmentCompiler compiler, Store store, ConfigChangeFeed feed, TimeProvider clock, Microsoft.Extensions.Options.IOptions<EvaluationOptions> options, FlagstaffMetrics metrics, ILogger<Snapshots> logger)
    : BackgroundService
{
    private readonly TimeSpan _resyncInterval = TimeSpan.FromSeconds(options.Value.ResyncSeconds);
    private readonly ConcurrentDictionary<string, EnvironmentSnapshot> _snapshots = new(StringComparer.Ordinal);
    private readonly Channel<string> _pending = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IDisposable? _subscription;

    /// <summary>Raised after a snapshot is replaced (on the updating thread; handlers must be quick).</summary>
    public event Action<SnapshotUpdate>? Updated;

    /// <summary>When the database last answered, for the readiness check.</summary>
    public DateTimeOffset? LastStorageContact { get; private set; }

    /// <summary>The last storage failure, if the last contact failed.</summary>
    public string? StorageError { get; private set; }

    /// <summary>Whether every environment has been loaded once.</summary>
    public bool IsLoaded => _loaded.Task.IsCompletedSuccessfully;

    /// <summary>The environments loaded.</summary>
    public ICollection<string> EnvironmentIds => _snapshots.Keys;

    public bool TryGet(string environmentId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out EnvironmentSnapshot? snapshot) =>
        _snapshots.TryGetValue(environmentId, out snapshot);

    /// <summary>Waits until every environment is loaded (the server takes evaluation traffic after that).</summary>
    public Task WaitUntilLoadedAsync(CancellationToken cancellationToken) => _loaded.Task.WaitAsync(cancellationToken);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _subscription = feed.Subscribe(change =>
        {
            metrics.DatabaseVersion(change.EnvironmentId, change.Version);
            _pending.Writer.TryWrite(change.EnvironmentId);
        });
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested && !IsLoaded)
        {
            try
            {
                await ResyncAsync(stoppingToken).ConfigureAwait(false);
                _loaded.TrySetResult();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Failed(e);
                await Task.Delay(TimeSpan.FromSeconds(1), clock, stoppingToken).ConfigureAwait(false);
            }
        }

        using var timer = new PeriodicTimer(_resyncInterval, clock);
        var tick = timer.WaitForNextTickAsync(stoppingToken).AsTask();
        while (!stoppingToken.IsCancellationRequested)
        {
            var next = _pending.Reader.WaitToReadAsync(stoppingToken).AsTask();
            if (await Task.WhenAny(next, tick).ConfigureAwait(false) == tick)
            {
                await tick.ConfigureAwait(false);
                tick = timer.WaitForNextTickAsync(stoppingToken).AsTask();
                await Guard(() => ResyncAsync(stoppingToken)).ConfigureAwait(false);
                continue;
            }

            if (!await next.ConfigureAwait(false))
            {
                break;
            }

            // Several signals for one environment collapse into one catch-up.
            var environments = new HashSet<string>(StringComparer.Ordinal);
            while (_pending.Reader.TryRead(out var environmentId))
            {
                environments.Add(environmentId);
            }

            foreach (var environmentId in environments)
            {
                await Guard(() => CatchUpAsync(environmentId, stoppingToken)).ConfigureAwait(false);
            }
        }
    }

    private async Task Guard(Func<Task> work)
    {
        try
        {
            await work().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Failed(e);
        }
    }

    private void Failed(Exception e)
    {
        StorageError = e.Message;
        LogUpdateFailed(logger, e);
    }

    private void Contact()
    {
        LastStorageContact = clock.GetUtcNow();
        StorageError = null;
    }

    /// <summary>Loads environments that are new or behind, and forgets deleted ones (also the safety net for lost notifications).</summary>
    private async Task ResyncAsync(CancellationToken cancellationToken)
    {
        var environments = await store.ReadAsync(s => s.ListAllEnvironmentsAsync(), cancellationToken).ConfigureAwait(false);
        Contact();
        foreach (var environment in environments)
        {
            metrics.DatabaseVersion(environment.Id, environment.ConfigVersion);
            if (!_snapshots.TryGetValue(environment.Id, out var current))
            {
                await LoadAsync(environment.Id, null, cancellationToken).ConfigureAwait(false);
            }
            else if (current.Version < environment.ConfigVersion)
            {
                await CatchUpAsync(environment.Id, cancellationToken).ConfigureAwait(false);
            }
        }

        var existing = environments.Select(e => e.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _snapshots.Keys.Where(id => !existing.Contains(id)).ToList())
        {
            _snapshots.TryRemove(gone, out _);
            metrics.Forget(gone);
        }
    }

    private async Task CatchUpAsync(string environmentId, CancellationToken cancellationToken)
    {
        if (!_snapshots.TryGetValue(environmentId, out var current))
        {
            await LoadAsync(environmentId, null, cancellationToken).ConfigureAwait(false);
            return;
        }

        var delta = await compiler.CatchUpAsync(environmentId, current.Version, cancellationToken).ConfigureAwait(false);
        Contact();
        if (delta is null)
        {
            await LoadAsync(environmentId, current, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (delta.Environment.ConfigVersion <= current.Version && delta.Project == current.Project)
        {
            return;
        }

        var next = current.Apply(delta);
        _snapshots[environmentId] = next;
        Track(next);
        Updated?.Invoke(new SnapshotUpdate(current, next, delta.ChangedKeys));
        feed.MarkApplied(environmentId, next.Version);
    }

    private async Task LoadAsync(string environmentId, EnvironmentSnapshot? previous, CancellationToken cancellationToken)
    {
        var compiled = await compiler.CompileAsync(environmentId, cancellationToken).ConfigureAwait(false);
        Contact();
        if (compiled is null)
        {
            _snapshots.TryRemove(environmentId, out _);
            metrics.Forget(environmentId);
            return;
        }

        var snapshot = EnvironmentSnapshot.Create(compiled);
        _snapshots[environmentId] = snapshot;
        Track(snapshot);
        Updated?.Invoke(new SnapshotUpdate(previous, snapshot, null));
        feed.MarkApplied(environmentId, snapshot.Version);
    }

    private void Track(EnvironmentSnapshot snapshot)
    {
        // The slugs are read only when the counter is folded (at collection), not here.
        var active = snapshot.Active;
        metrics.Track(snapshot.Environment.Id, snapshot.Project.Key, snapshot.Environment.Key, snapshot.Version, snapshot.Evaluations, snapshot, active.Select(f => f.Slug));
    }

    public override void Dispose()
    {
        _subscription?.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 2000, Level = LogLevel.Warning, Message = "Could not update the evaluation snapshots; serving the last ones")]
    private static partial void LogUpdateFailed(ILogger logger, Exception exception);
}
