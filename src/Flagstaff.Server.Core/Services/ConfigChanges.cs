using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Flagstaff.Domain;
using Flagstaff.Storage;

namespace Flagstaff.Server.Services;

/// <summary>
/// In-process news of committed configuration changes: the evaluation snapshots and the streams
/// subscribe. (Changes made by other server nodes arrive through the database's notifications and are
/// published here too.)
/// </summary>
public sealed class ConfigChangeFeed
{
    private readonly Lock _gate = new();
    private ImmutableList<Action<ConfigChange>> _subscribers = [];

    public IDisposable Subscribe(Action<ConfigChange> subscriber)
    {
        lock (_gate)
        {
            _subscribers = _subscribers.Add(subscriber);
        }

        return new Subscription(this, subscriber);
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string, long), DateTimeOffset> _local = new();

    /// <summary>Whether a change was published by this node (its database notification comes back too).</summary>
    public bool IsLocal(string environmentId, long version) => _local.ContainsKey((environmentId, version));

    public void Publish(ConfigChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        _local[(change.EnvironmentId, change.Version)] = change.At;
        foreach (var old in _local.Where(e => change.At - e.Value > TimeSpan.FromMinutes(5)).Select(e => e.Key).ToList())
        {
            _local.TryRemove(old, out _);
        }

        PublishRemote(change);
    }

    /// <summary>Publishes a change made by another node.</summary>
    public void PublishRemote(ConfigChange change)
    {
        foreach (var subscriber in _subscribers)
        {
            subscriber(change);
        }
    }

    // The version each environment's evaluation snapshot has reached, and who waits for what.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _applied = new(StringComparer.Ordinal);
    private readonly List<(string Environment, long Version, TaskCompletionSource Done)> _waiters = [];

    /// <summary>Called by the evaluation snapshots once an environment's snapshot reached a version.</summary>
    public void MarkApplied(string environmentId, long version)
    {
        _applied.AddOrUpdate(environmentId, version, (_, old) => Math.Max(old, version));
        lock (_gate)
        {
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                var (environment, wanted, done) = _waiters[i];
                if (environment == environmentId && wanted <= version)
                {
                    done.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    /// <summary>
    /// Waits until this node's evaluation snapshots include the changes (read-your-writes: when a
    /// change is answered, this node already serves it), or until the timeout.
    /// </summary>
    public async Task WhenAppliedAsync(IEnumerable<ConfigChange> changes, TimeSpan timeout)
    {
        var pending = new List<Task>();
        lock (_gate)
        {
            foreach (var change in changes)
            {
                if (_applied.GetValueOrDefault(change.EnvironmentId, -1) < change.Version)
                {
                    var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    _waiters.Add((change.EnvironmentId, change.Version, done));
                    pending.Add(done.Task);
                }
            }
        }

        if (pending.Count > 0)
        {
            await Task.WhenAny(Task.WhenAll(pending), Task.Delay(timeout)).ConfigureAwait(false);
        }
    }

    private void Unsubscribe(Action<ConfigChange> subscriber)
    {
        lock (_gate)
        {
            _subscribers = _subscribers.Remove(subscriber);
        }
    }

    private sealed class Subscription(ConfigChangeFeed feed, Action<ConfigChange> subscriber) : IDisposable
    {
        public void Dispose() => feed.Unsubscribe(subscriber);
    }
}

/// <summary>
/// Records a change inside its transaction: the audit entry (who, when, from where, before and after)
/// and, when flags of an environment's configuration changed, the new configuration version, published
/// once the transaction commits.
/// </summary>
public sealed class ChangeRecorder(StoreSession session, Actor actor, DateTimeOffset now, ConfigChangeFeed feed, Webhooks.WebhookOutbox? outbox = null)
{
    private readonly List<ConfigChange> _changes = [];

    /// <summary>The configuration changes recorded in this transaction.</summary>
    public IReadOnlyList<ConfigChange> Changes => _changes;

    public StoreSession Session { get; } = session;

    public Actor Actor { get; } = actor;

    public DateTimeOffset Now { get; } = now;

    public static JsonElement? ToJson<T>(T? value, JsonTypeInfo<T> info) where T : class =>
        value is null ? null : JsonSerializer.SerializeToElement(value, info);

    /// <summary>
    /// Records a change in the history and, in the same transaction, the webhook deliveries it causes:
    /// every change is recorded here, so no change is missed by webhooks either.
    /// </summary>
    public async Task AuditAsync(
        string resourceType, string resourceKey, string action, JsonElement? before, JsonElement? after,
        string? projectId = null, string? environmentId = null, string? flagId = null, long? revision = null, string? comment = null)
    {
        await Session.AppendAuditAsync(new AuditEntry
        {
            At = Now,
            Actor = Actor,
            ProjectId = projectId,
            EnvironmentId = environmentId,
            FlagId = flagId,
            ResourceType = resourceType,
            ResourceKey = resourceKey,
            Action = action,
            Revision = revision,
            Before = before,
            After = after,
            Comment = comment,
        }).ConfigureAwait(false);
        if (outbox is not null && projectId is not null)
        {
            await outbox.RecordAsync(this, resourceType, resourceKey, action, before, after, projectId, environmentId, revision, comment).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Records that flags of an environment changed and publishes it after commit. With no flags it
    /// records nothing, unless <paramref name="always"/> (a new environment must be announced).
    /// </summary>
    public async Task ConfigChangedAsync(string environmentId, IReadOnlyList<string> flagKeys, bool always = false)
    {
        if (flagKeys.Count == 0 && !always)
        {
            return;
        }

        var change = await Session.RecordConfigChangeAsync(environmentId, flagKeys, Now).ConfigureAwait(false);
        _changes.Add(change);
        await Session.NotifyAsync(StoreSession.ConfigChannel, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{environmentId}:{change.Version}")).ConfigureAwait(false);
        Session.AfterCommit(() => feed.Publish(change));
    }
}

/// <summary>
/// Runs a change: one transaction with its audit entries and configuration changes, then waits (briefly)
/// until this node's evaluation answers with it. Every service writes through here.
/// </summary>
public sealed class ChangeRunner(Store store, TimeProvider clock, ConfigChangeFeed feed, Webhooks.WebhookOutbox outbox)
{
    private static readonly TimeSpan ApplyTimeout = TimeSpan.FromSeconds(2);

    public DateTimeOffset Now => clock.GetUtcNow();

    public async Task<T> WriteAsync<T>(Actor actor, Func<ChangeRecorder, Task<T>> work, CancellationToken cancellationToken)
    {
        ChangeRecorder? recorder = null;
        var result = await store.WriteAsync(s => work(recorder = new ChangeRecorder(s, actor, clock.GetUtcNow(), feed, outbox)), cancellationToken).ConfigureAwait(false);
        if (recorder is { Changes.Count: > 0 })
        {
            await feed.WhenAppliedAsync(recorder.Changes, ApplyTimeout).ConfigureAwait(false);
        }

        return result;
    }
}
