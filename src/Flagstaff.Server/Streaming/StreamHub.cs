using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks.Sources;
using Flagstaff.DataPlane.Snapshots;
using Flagstaff.Management.Telemetry;
using Flagstaff.Server.EvaluationApi;

namespace Flagstaff.Server.Streaming;

/// <summary>An event ready to write on a stream, with the configuration version it brings the subscriber to.</summary>
/// <param name="FromVersion">The version a subscriber must be at for this event to apply (-1: any).</param>
/// <param name="ToVersion">The version after it (-1: a heartbeat, which changes nothing).</param>
/// <param name="Bytes">The SSE text.</param>
/// <param name="CommittedAt">When the change it carries was committed, for the fan-out latency (null: not a change, or not known).</param>
public sealed record StreamEvent(long FromVersion, long ToVersion, ReadOnlyMemory<byte> Bytes, DateTimeOffset? CommittedAt = null);

/// <summary>
/// One open stream: a short queue of events that the hub fills and the stream's request drains. Ten
/// thousand of these live on one node, so it is a few small objects (no channel): one lock, one queue,
/// and one reusable awaitable for the writer waiting for the next event.
/// </summary>
public sealed class StreamSubscriber : IValueTaskSource<bool>, IThreadPoolWorkItem
{
    /// <summary>Events a stream may fall behind by before it is closed (it resumes with Last-Event-ID).</summary>
    private const int Capacity = 32;

    private readonly Queue<StreamEvent> _pending = new();
    // The writer is woken on the thread pool's global queue, not on the thread that queued the event:
    // one change wakes every stream of its environment at once, and all cores should share the writing.
    private ManualResetValueTaskSourceCore<bool> _signal;
    private bool _waiting;
    private bool _closed;

    internal StreamSubscriber(string environmentId, string? keyId, bool ofrep)
    {
        EnvironmentId = environmentId;
        KeyId = keyId;
        Ofrep = ofrep;
    }

    public string EnvironmentId { get; }

    public string? KeyId { get; }

    /// <summary>An OFREP change-notification stream (else a Flagstaff configuration stream).</summary>
    public bool Ofrep { get; }

    /// <summary>Queues an event; a subscriber already <see cref="Capacity"/> events behind is closed instead.</summary>
    internal void Send(StreamEvent e)
    {
        bool wake;
        lock (_pending)
        {
            if (_closed)
            {
                return;
            }

            if (_pending.Count == Capacity)
            {
                _closed = true;
                _pending.Clear();
            }
            else
            {
                _pending.Enqueue(e);
            }

            wake = _waiting;
            _waiting = false;
        }

        if (wake)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    /// <summary>
    /// Ends the stream: events not yet taken are dropped and the writer's wait ends (key revoked, queue
    /// overflow, client gone, server stopping).
    /// </summary>
    internal void Close()
    {
        bool wake;
        lock (_pending)
        {
            _closed = true;
            _pending.Clear();
            wake = _waiting;
            _waiting = false;
        }

        if (wake)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    /// <summary>The next queued event, if any and the stream is open. One reader only.</summary>
    public bool TryTake([System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out StreamEvent next)
    {
        lock (_pending)
        {
            next = null;
            return !_closed && _pending.TryDequeue(out next);
        }
    }

    /// <summary>
    /// Waits until an event is queued (true) or the stream is closed (false). One reader only, and not
    /// again before the previous wait has completed.
    /// </summary>
    public ValueTask<bool> WaitAsync()
    {
        lock (_pending)
        {
            if (_closed || _pending.Count > 0)
            {
                return new ValueTask<bool>(!_closed);
            }

            _signal.Reset();
            _waiting = true;
            return new ValueTask<bool>(this, _signal.Version);
        }
    }

    void IThreadPoolWorkItem.Execute() => _signal.SetResult(true);

    bool IValueTaskSource<bool>.GetResult(short token)
    {
        _signal.GetResult(token);
        lock (_pending)
        {
            return !_closed;
        }
    }

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _signal.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _signal.OnCompleted(continuation, state, token, flags);
}

/// <summary>
/// Pushes configuration changes to every open stream: each change is serialised once per environment
/// and handed to all its subscribers; heartbeats keep idle connections alive through proxies; streams
/// of keys that stop being valid are closed.
/// </summary>
public sealed partial class StreamHub : IHostedService, IDisposable
{
    private static readonly StreamEvent Heartbeat = new(-1, -1, Encoding.UTF8.GetBytes(": heartbeat\n\n"));

    private readonly ConcurrentDictionary<StreamSubscriber, byte> _subscribers = new();
    private readonly SnapshotCache _snapshots;

    // The first event of a stream (event: config), built once per snapshot and shared by every subscriber.
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<EnvironmentSnapshot, byte[]> _configEvents = new();
    private readonly ApiKeyDirectory _keys;
    private readonly TimeProvider _clock;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly FlagstaffMetrics _metrics;
    private readonly TimeSpan _heartbeatInterval;
    private ITimer? _heartbeat;
    private CancellationTokenRegistration _stopping;

    public StreamHub(SnapshotCache snapshots, ApiKeyDirectory keys, TimeProvider clock, IHostApplicationLifetime lifetime, Microsoft.Extensions.Options.IOptions<EvaluationOptions> options, FlagstaffMetrics metrics)
    {
        _metrics = metrics;
        _snapshots = snapshots;
        _keys = keys;
        _clock = clock;
        _lifetime = lifetime;
        _heartbeatInterval = TimeSpan.FromSeconds(options.Value.HeartbeatSeconds);
    }

    /// <summary>How many streams are open.</summary>
    public int Count => _subscribers.Count;

    public StreamSubscriber Subscribe(string environmentId, string? keyId, bool ofrep)
    {
        var subscriber = new StreamSubscriber(environmentId, keyId, ofrep);
        _subscribers[subscriber] = 0;
        _metrics.StreamOpened(ofrep);
        return subscriber;
    }

    public void Unsubscribe(StreamSubscriber subscriber)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        if (_subscribers.TryRemove(subscriber, out _))
        {
            _metrics.StreamClosed(subscriber.Ofrep);
        }
    }

    /// <summary>An event was written on a stream: the fan-out latency of the change it carries.</summary>
    public void Written(StreamSubscriber subscriber, StreamEvent e)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        ArgumentNullException.ThrowIfNull(e);
        if (e.CommittedAt is { } committedAt)
        {
            _metrics.StreamWritten(committedAt, subscriber.Ofrep);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _snapshots.Updated += OnUpdated;
        _keys.Removed += OnKeysRemoved;
        _heartbeat = _clock.CreateTimer(_ => SendToAll(Heartbeat), null, _heartbeatInterval, _heartbeatInterval);

        // Streams close as soon as the server begins stopping (clients reconnect to another node), not
        // when the server has waited its shutdown timeout for them, which is before StopAsync.
        _stopping = _lifetime.ApplicationStopping.Register(CloseAll);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _snapshots.Updated -= OnUpdated;
        _keys.Removed -= OnKeysRemoved;
        _heartbeat?.Dispose();
        _stopping.Dispose();
        CloseAll();
        return Task.CompletedTask;
    }

    private void CloseAll()
    {
        foreach (var subscriber in _subscribers.Keys)
        {
            subscriber.Close();
        }
    }

    private void SendToAll(StreamEvent e)
    {
        foreach (var subscriber in _subscribers.Keys)
        {
            subscriber.Send(e);
        }
    }

    private void OnKeysRemoved(IReadOnlySet<string> keyIds)
    {
        foreach (var subscriber in _subscribers.Keys)
        {
            if (subscriber.KeyId is { } id && keyIds.Contains(id))
            {
                subscriber.Close();
            }
        }
    }

    private void OnUpdated(SnapshotUpdate update)
    {
        var current = update.Current;
        long from = update.Previous?.Version ?? -1;
        var environmentId = current.Environment.Id;
        var patch = update.ChangedKeys is { } keys && update.Previous is not null
            ? new StreamEvent(from, current.Version, PatchEvent(current, keys), current.CommittedAt)
            : new StreamEvent(-1, current.Version, ConfigEvent(current), current.CommittedAt);
        var refetch = new StreamEvent(-1, current.Version, RefetchEvent(current.Version), current.CommittedAt);
        foreach (var subscriber in _subscribers.Keys)
        {
            if (subscriber.EnvironmentId == environmentId)
            {
                subscriber.Send(subscriber.Ofrep ? refetch : patch);
            }
        }
    }

    /// <summary>The whole configuration of a snapshot as the first event of a stream: <c>event: config</c>, built once per snapshot.</summary>
    public byte[] ConfigEvent(EnvironmentSnapshot snapshot) => _configEvents.GetValue(snapshot, BuildConfigEvent);

    private static byte[] BuildConfigEvent(EnvironmentSnapshot snapshot)
    {
        var json = snapshot.ConfigJson;
        using var buffer = new MemoryStream(json.Length + 64);
        Write(buffer, $"id: {snapshot.Version}\nevent: config\ndata: {{\"version\":{snapshot.Version},\"flags\":");
        buffer.Write(json);
        Write(buffer, "}\n\n");
        return buffer.ToArray();
    }

    /// <summary>What changed since an earlier version: <c>event: patch</c> with the changed flags and the deleted slugs.</summary>
    public static byte[] PatchEvent(EnvironmentSnapshot snapshot, IReadOnlySet<string> changedKeys)
    {
        using var buffer = new MemoryStream();
        Write(buffer, $"id: {snapshot.Version}\nevent: patch\ndata: {{\"version\":{snapshot.Version},\"flags\":");
        var present = changedKeys.Where(k => snapshot.Active.TryGetFlag(k, out _)).Order(StringComparer.Ordinal).ToList();
        buffer.Write(EnvironmentSnapshot.Serialize(present.Select(k => snapshot.Flags[k])));
        Write(buffer, ",\"deleted\":");
        buffer.Write(JsonSerializer.SerializeToUtf8Bytes(changedKeys.Where(k => !snapshot.Active.TryGetFlag(k, out _)).Order(StringComparer.Ordinal).ToList(), StreamJson.Default.ListString));
        Write(buffer, "}\n\n");
        return buffer.ToArray();
    }

    /// <summary>The OFREP change notification: <c>{"type":"refetchEvaluation"}</c>.</summary>
    public static byte[] RefetchEvent(long version) =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"id: {version}\ndata: {{\"type\":\"refetchEvaluation\",\"etag\":\"{version}\"}}\n\n"));

    private static void Write(Stream stream, string text) => stream.Write(Encoding.UTF8.GetBytes(text));

    public void Dispose()
    {
        _heartbeat?.Dispose();
        _stopping.Dispose();
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(List<string>))]
internal sealed partial class StreamJson : System.Text.Json.Serialization.JsonSerializerContext;
