using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;
using Flagstaff.DataPlane.Changes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Flagstaff.DataPlane.Snapshots;

/// <summary>How the snapshots follow their source (bound from <c>Flagstaff:Evaluation</c>).</summary>
public sealed class SnapshotOptions
{
    /// <summary>How often every snapshot is checked against its source (the safety net for lost notifications).</summary>
    [Range(0.01, 86_400)]
    public double ResyncSeconds { get; set; } = 30;
}

/// <summary>A new snapshot and what changed from the previous one (null: loaded whole).</summary>
/// <param name="Previous">The snapshot replaced, if there was one.</param>
/// <param name="Current">The snapshot now served.</param>
/// <param name="ChangedKeys">The flags that changed, or null when the snapshot was loaded whole.</param>
public sealed record SnapshotUpdate(EnvironmentSnapshot? Previous, EnvironmentSnapshot Current, IReadOnlySet<string>? ChangedKeys);

/// <summary>
/// Keeps a compiled snapshot of every environment in memory and brings it up to date from the notices
/// on the <see cref="ChangeFeed"/>, one environment at a time, in version order: a notice with the
/// patch its change committed is applied as it is; any other makes the snapshot catch up from its
/// <see cref="IChangeSource"/>. Evaluation never waits for the source: when it is unreachable, the last
/// snapshots go on answering.
/// </summary>
public sealed partial class SnapshotCache(
    IChangeSource source, ChangeFeed feed, TimeProvider clock, IOptions<SnapshotOptions> options, ILogger<SnapshotCache> logger, IDataPlaneObserver? observer = null)
    : BackgroundService
{
    private readonly TimeSpan _resyncInterval = TimeSpan.FromSeconds(options.Value.ResyncSeconds);
    private readonly ConcurrentDictionary<string, EnvironmentSnapshot> _snapshots = new(StringComparer.Ordinal);
    private readonly Channel<ChangeNotice> _pending = Channel.CreateUnbounded<ChangeNotice>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private readonly List<(string Environment, long Version, TaskCompletionSource Done)> _waiters = [];
    private IDisposable? _subscription;

    /// <summary>Raised after a snapshot is replaced (on the updating thread; handlers must be quick).</summary>
    public event Action<SnapshotUpdate>? Updated;

    /// <summary>When the source last answered, for the readiness check.</summary>
    public DateTimeOffset? LastSourceContact { get; private set; }

    /// <summary>The last failure to read from the source, if the last contact failed.</summary>
    public string? SourceError { get; private set; }

    /// <summary>Whether every environment has been loaded once.</summary>
    public bool IsLoaded => _loaded.Task.IsCompletedSuccessfully;

    /// <summary>The environments loaded.</summary>
    public ICollection<string> EnvironmentIds => _snapshots.Keys;

    /// <summary>The snapshot of an environment, if it is loaded.</summary>
    public bool TryGet(string environmentId, [NotNullWhen(true)] out EnvironmentSnapshot? snapshot) =>
        _snapshots.TryGetValue(environmentId, out snapshot);

    /// <summary>Waits until every environment is loaded (the server takes evaluation traffic after that).</summary>
    public Task WaitUntilLoadedAsync(CancellationToken cancellationToken) => _loaded.Task.WaitAsync(cancellationToken);

    /// <summary>
    /// Waits until the snapshots include the given versions (read-your-writes: when a change is answered,
    /// this node already serves it), or until the timeout.
    /// </summary>
    public async Task WhenAppliedAsync(IEnumerable<(string EnvironmentId, long Version)> versions, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(versions);
        var pending = new List<Task>();
        lock (_gate)
        {
            foreach (var (environmentId, version) in versions)
            {
                if (!_snapshots.TryGetValue(environmentId, out var current) || current.Version < version)
                {
                    var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    _waiters.Add((environmentId, version, done));
                    pending.Add(done.Task);
                }
            }
        }

        if (pending.Count > 0)
        {
            await Task.WhenAny(Task.WhenAll(pending), Task.Delay(timeout)).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _subscription = feed.Subscribe(notice =>
        {
            observer?.SourceVersion(notice.EnvironmentId, notice.Version);
            _pending.Writer.TryWrite(notice);
        });
        return base.StartAsync(cancellationToken);
    }

    /// <inheritdoc />
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

            // Several notices for one environment collapse into one update.
            var notices = new Dictionary<string, List<ChangeNotice>>(StringComparer.Ordinal);
            while (_pending.Reader.TryRead(out var notice))
            {
                (notices.TryGetValue(notice.EnvironmentId, out var list) ? list : notices[notice.EnvironmentId] = []).Add(notice);
            }

            foreach (var (environmentId, list) in notices)
            {
                await Guard(() => UpdateAsync(environmentId, list, stoppingToken)).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Applies the committed patches that follow on from the snapshot, in order, and catches up from the
    /// source for whatever is left (a notice from elsewhere, or a patch that arrived before the one it
    /// follows). Notices the snapshot already has, such as this node's own notifications, are ignored.
    /// </summary>
    private async Task UpdateAsync(string environmentId, List<ChangeNotice> notices, CancellationToken cancellationToken)
    {
        if (!_snapshots.TryGetValue(environmentId, out var current))
        {
            await LoadAsync(environmentId, null, cancellationToken).ConfigureAwait(false);
            return;
        }

        var patches = notices.Where(n => n.Patch is not null).Select(n => n.Patch!).OrderBy(p => p.FromVersion).ToList();
        foreach (var patch in patches)
        {
            if (patch.FromVersion == current.Version)
            {
                current = Swap(current, patch);
            }
        }

        if (notices.Max(n => n.Version) > current.Version)
        {
            await CatchUpAsync(environmentId, cancellationToken).ConfigureAwait(false);
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
        SourceError = e.Message;
        LogUpdateFailed(logger, e);
    }

    private void Contact()
    {
        LastSourceContact = clock.GetUtcNow();
        SourceError = null;
    }

    /// <summary>Loads environments that are new or behind, and forgets deleted ones (also the safety net for lost notices).</summary>
    private async Task ResyncAsync(CancellationToken cancellationToken)
    {
        var environments = await source.ListEnvironmentsAsync(cancellationToken).ConfigureAwait(false);
        Contact();
        foreach (var (environmentId, version) in environments)
        {
            observer?.SourceVersion(environmentId, version);
            if (!_snapshots.TryGetValue(environmentId, out var current))
            {
                await LoadAsync(environmentId, null, cancellationToken).ConfigureAwait(false);
            }
            else if (current.Version < version)
            {
                await CatchUpAsync(environmentId, cancellationToken).ConfigureAwait(false);
            }
        }

        var existing = environments.Select(e => e.EnvironmentId).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _snapshots.Keys.Where(id => !existing.Contains(id)).ToList())
        {
            Remove(gone);
        }
    }

    private async Task CatchUpAsync(string environmentId, CancellationToken cancellationToken)
    {
        if (!_snapshots.TryGetValue(environmentId, out var current))
        {
            await LoadAsync(environmentId, null, cancellationToken).ConfigureAwait(false);
            return;
        }

        var patch = await source.CatchUpAsync(environmentId, current.Version, cancellationToken).ConfigureAwait(false);
        Contact();
        if (patch is null)
        {
            await LoadAsync(environmentId, current, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (patch.Version > current.Version || patch.Project != current.Project)
        {
            Swap(current, patch);
        }
    }

    private EnvironmentSnapshot Swap(EnvironmentSnapshot current, SnapshotPatch patch)
    {
        var next = current.Apply(patch);
        Publish(new SnapshotUpdate(current, next, patch.ChangedKeys));
        return next;
    }

    private async Task LoadAsync(string environmentId, EnvironmentSnapshot? previous, CancellationToken cancellationToken)
    {
        var snapshot = await source.LoadAsync(environmentId, cancellationToken).ConfigureAwait(false);
        Contact();
        if (snapshot is null)
        {
            Remove(environmentId);
            return;
        }

        Publish(new SnapshotUpdate(previous, snapshot, null));
    }

    private void Publish(SnapshotUpdate update)
    {
        var snapshot = update.Current;
        _snapshots[snapshot.Environment.Id] = snapshot;
        observer?.SnapshotApplied(snapshot);
        Updated?.Invoke(update);
        lock (_gate)
        {
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                var (environment, wanted, done) = _waiters[i];
                if (environment == snapshot.Environment.Id && wanted <= snapshot.Version)
                {
                    done.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    private void Remove(string environmentId)
    {
        _snapshots.TryRemove(environmentId, out _);
        observer?.EnvironmentRemoved(environmentId);
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _subscription?.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = LogEvents.SnapshotUpdateFailed, Level = LogLevel.Warning, Message = "Could not update the evaluation snapshots; serving the last ones")]
    private static partial void LogUpdateFailed(ILogger logger, Exception exception);
}
