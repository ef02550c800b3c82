using System.Collections.Immutable;
using Flagstaff.DataPlane.Snapshots;

namespace Flagstaff.DataPlane.Changes;

/// <summary>
/// News that an environment's configuration reached a version. A change made on this node carries the
/// patch it committed (so it is applied without reading it back); news from elsewhere (another node's
/// notification, a resync) carries none, and the snapshot catches up from its source.
/// </summary>
/// <param name="EnvironmentId">The environment.</param>
/// <param name="Version">The configuration version it reached.</param>
/// <param name="Patch">The committed patch, when the change was made here.</param>
public sealed record ChangeNotice(string EnvironmentId, long Version, SnapshotPatch? Patch = null);

/// <summary>
/// Publishes versioned configuration changes in process, from whoever learns of them (the management
/// side when it commits, the database listener for other nodes) to whoever keeps state from them (the
/// snapshots). It has that one job: it neither remembers nor waits.
/// </summary>
public sealed class ChangeFeed
{
    private readonly Lock _gate = new();
    private ImmutableList<Action<ChangeNotice>> _subscribers = [];

    /// <summary>Calls <paramref name="subscriber"/> with every notice published until the result is disposed.</summary>
    public IDisposable Subscribe(Action<ChangeNotice> subscriber)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        lock (_gate)
        {
            _subscribers = _subscribers.Add(subscriber);
        }

        return new Subscription(this, subscriber);
    }

    /// <summary>Publishes a notice to every subscriber, on the caller's thread (subscribers must be quick).</summary>
    public void Publish(ChangeNotice notice)
    {
        ArgumentNullException.ThrowIfNull(notice);
        foreach (var subscriber in _subscribers)
        {
            subscriber(notice);
        }
    }

    private void Unsubscribe(Action<ChangeNotice> subscriber)
    {
        lock (_gate)
        {
            _subscribers = _subscribers.Remove(subscriber);
        }
    }

    private sealed class Subscription(ChangeFeed feed, Action<ChangeNotice> subscriber) : IDisposable
    {
        public void Dispose() => feed.Unsubscribe(subscriber);
    }
}
