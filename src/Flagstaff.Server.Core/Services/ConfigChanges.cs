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

    public void Publish(ConfigChange change)
    {
        foreach (var subscriber in _subscribers)
        {
            subscriber(change);
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
public sealed class ChangeRecorder(StoreSession session, Actor actor, DateTimeOffset now, ConfigChangeFeed feed)
{
    public StoreSession Session { get; } = session;

    public Actor Actor { get; } = actor;

    public DateTimeOffset Now { get; } = now;

    public static JsonElement? ToJson<T>(T? value, JsonTypeInfo<T> info) where T : class =>
        value is null ? null : JsonSerializer.SerializeToElement(value, info);

    public Task AuditAsync(
        string resourceType, string resourceKey, string action, JsonElement? before, JsonElement? after,
        string? projectId = null, string? environmentId = null, string? flagId = null, long? revision = null, string? comment = null) =>
        Session.AppendAuditAsync(new AuditEntry
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
        });

    /// <summary>Records that flags of an environment changed and publishes it after commit.</summary>
    public async Task ConfigChangedAsync(string environmentId, IReadOnlyList<string> flagKeys)
    {
        if (flagKeys.Count == 0)
        {
            return;
        }

        var change = await Session.RecordConfigChangeAsync(environmentId, flagKeys, Now).ConfigureAwait(false);
        Session.AfterCommit(() => feed.Publish(change));
    }
}
