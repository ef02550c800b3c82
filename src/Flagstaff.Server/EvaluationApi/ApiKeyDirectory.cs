using System.Collections.Concurrent;
using System.Collections.Frozen;
using Flagstaff.DataPlane.Changes;
using Flagstaff.Domain;
using Flagstaff.Server.Security;
using Flagstaff.Server.Services;
using Flagstaff.Storage;

namespace Flagstaff.Server.EvaluationApi;

/// <summary>An API key as the evaluation endpoints see it.</summary>
public sealed record KeyEntry(string Id, string ProjectId, string EnvironmentId, ApiKeyKind Kind);

/// <summary>
/// Authenticates evaluation requests from memory: the active API keys (by the keyed hash of their
/// secret) are loaded at start and reloaded when keys change on any node, so evaluation never waits
/// for the database. When keys disappear (revoked, or their environment deleted), <see cref="Removed"/>
/// lets the open streams close.
/// </summary>
public sealed partial class ApiKeyDirectory(Store store, Secrets secrets, ApiKeyRevocations revocations, DatabaseChangeListener changes, TimeProvider clock, ILogger<ApiKeyDirectory> logger)
    : BackgroundService
{
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(30);
    private const int SeenCapacity = 10_000;

    private FrozenDictionary<string, KeyEntry> _byHash = FrozenDictionary<string, KeyEntry>.Empty;

    // Secrets seen recently, so that the keyed hash is not computed on every request.
    private readonly ConcurrentDictionary<string, KeyEntry> _seen = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _used = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Raised with the ids of keys that stopped being valid.</summary>
    public event Action<IReadOnlySet<string>>? Removed;

    public Task WaitUntilLoadedAsync(CancellationToken cancellationToken) => _loaded.Task.WaitAsync(cancellationToken);

    /// <summary>Finds the key a request presents; null when it is unknown or revoked.</summary>
    public KeyEntry? Find(string secret)
    {
        if (_seen.TryGetValue(secret, out var entry))
        {
            // Only the first use since the last write is recorded: no write on the hot path.
            _used.TryAdd(entry.Id, default);
            return entry;
        }

        if (!_byHash.TryGetValue(secrets.Hash(secret), out entry))
        {
            return null;
        }

        if (_seen.Count < SeenCapacity)
        {
            _seen[secret] = entry;
        }

        _used.TryAdd(entry.Id, default);
        return entry;
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        revocations.Register(() => RefreshAsync(CancellationToken.None));
        changes.KeysChanged += RefreshSoon;
        return base.StartAsync(cancellationToken);
    }

    // Another node changed keys (or listening restarted, and a change may have been missed).
    private void RefreshSoon() => _ = RefreshAsync(CancellationToken.None);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(RefreshInterval, clock);
        do
        {
            await RefreshAsync(stoppingToken).ConfigureAwait(false);
            await TouchAsync(stoppingToken).ConfigureAwait(false);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>Reloads the keys now.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await _refreshing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var keys = await store.ReadAsync(s => s.ListActiveApiKeysAsync(), cancellationToken).ConfigureAwait(false);
            var next = keys.ToFrozenDictionary(k => k.Hash, k => new KeyEntry(k.Key.Id, k.Key.ProjectId, k.Key.EnvironmentId, k.Key.Kind), StringComparer.Ordinal);
            var remaining = next.Values.Select(e => e.Id).ToHashSet(StringComparer.Ordinal);
            var removed = _byHash.Values.Select(e => e.Id).Where(id => !remaining.Contains(id)).ToHashSet(StringComparer.Ordinal);
            _byHash = next;
            foreach (var (secret, entry) in _seen)
            {
                if (removed.Contains(entry.Id))
                {
                    _seen.TryRemove(secret, out _);
                }
            }

            _loaded.TrySetResult();
            if (removed.Count > 0)
            {
                Removed?.Invoke(removed);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogRefreshFailed(logger, e);
        }
        finally
        {
            _refreshing.Release();
        }
    }

    // Last-used times are written in one batch per refresh interval, never on the request path.
    private async Task TouchAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var due = _used.Keys.ToList();
        if (due.Count == 0)
        {
            return;
        }

        foreach (var id in due)
        {
            _used.TryRemove(id, out _);
        }

        try
        {
            await store.WriteAsync(s => s.TouchApiKeysAsync(due, now), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogRefreshFailed(logger, e);
        }
    }

    public override void Dispose()
    {
        changes.KeysChanged -= RefreshSoon;
        _refreshing.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = LogEvents.ApiKeysRefreshFailed, Level = LogLevel.Warning, Message = "Could not reload or record API keys; using the ones in memory")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);
}
