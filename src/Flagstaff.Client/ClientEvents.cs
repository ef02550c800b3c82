namespace Flagstaff.Client;

/// <summary>Where a client stands.</summary>
public enum ClientState
{
    /// <summary>No configuration yet: evaluations give the caller's defaults (<see cref="FlagReason.NotReady"/>).</summary>
    Initializing,

    /// <summary>The configuration is current: the stream is open, or the last poll succeeded (or, offline, the bootstrap is loaded).</summary>
    Ready,

    /// <summary>
    /// Evaluating a configuration that may be out of date (a persisted or bootstrap one, or the last good
    /// one while the server cannot be reached); the client keeps trying to reconnect.
    /// </summary>
    Stale,

    /// <summary>The server refused the key (401 or 403). The client evaluates what it has and asks again only every <see cref="FlagstaffClientOptions.UnauthorizedRetryInterval"/>.</summary>
    Unauthorized,

    /// <summary>The client was disposed.</summary>
    Disposed,
}

/// <summary>What made a client raise <see cref="FlagstaffClient.Error"/>.</summary>
public enum ClientErrorKind
{
    /// <summary>The server could not be reached, or answered with an unexpected status.</summary>
    Connection,

    /// <summary>The server refused the key (401 or 403).</summary>
    Unauthorized,

    /// <summary>A stream event or configuration could not be read; the last good configuration is kept.</summary>
    MalformedData,

    /// <summary>The stream went silent past the heartbeat timeout and was reopened.</summary>
    DeadConnection,

    /// <summary>Some flags of a configuration are invalid; they evaluate to the caller's defaults.</summary>
    InvalidFlags,

    /// <summary>The last good configuration could not be saved or read.</summary>
    Persistence,
}

/// <summary>Describes a configuration change.</summary>
public sealed class ConfigurationChangedEventArgs : EventArgs
{
    /// <summary>Creates one.</summary>
    /// <param name="snapshot">The new configuration.</param>
    /// <param name="changedSlugs">The flags added, changed or removed.</param>
    /// <param name="source">Where it came from: stream, poll, persisted or bootstrap.</param>
    public ConfigurationChangedEventArgs(FlagSnapshot snapshot, IReadOnlyList<string> changedSlugs, string source)
    {
        Snapshot = snapshot;
        ChangedSlugs = changedSlugs;
        Source = source;
    }

    /// <summary>The new configuration.</summary>
    public FlagSnapshot Snapshot { get; }

    /// <summary>The flags added, changed or removed.</summary>
    public IReadOnlyList<string> ChangedSlugs { get; }

    /// <summary>Where it came from: <c>stream</c>, <c>poll</c>, <c>persisted</c> or <c>bootstrap</c>.</summary>
    public string Source { get; }
}

/// <summary>Describes a problem the client met (and handled: evaluations go on).</summary>
public sealed class ClientErrorEventArgs : EventArgs
{
    /// <summary>Creates one.</summary>
    /// <param name="kind">What kind of problem.</param>
    /// <param name="message">What happened.</param>
    /// <param name="exception">The exception, if any.</param>
    /// <param name="statusCode">The HTTP status, if any.</param>
    public ClientErrorEventArgs(ClientErrorKind kind, string message, Exception? exception = null, int? statusCode = null)
    {
        Kind = kind;
        Message = message;
        Exception = exception;
        StatusCode = statusCode;
    }

    /// <summary>What kind of problem.</summary>
    public ClientErrorKind Kind { get; }

    /// <summary>What happened.</summary>
    public string Message { get; }

    /// <summary>The exception, if any.</summary>
    public Exception? Exception { get; }

    /// <summary>The HTTP status, if any.</summary>
    public int? StatusCode { get; }
}

/// <summary>Describes a change of <see cref="FlagstaffClient.State"/>.</summary>
public sealed class ClientStateChangedEventArgs : EventArgs
{
    /// <summary>Creates one.</summary>
    /// <param name="previous">The state before.</param>
    /// <param name="current">The state now.</param>
    public ClientStateChangedEventArgs(ClientState previous, ClientState current)
    {
        Previous = previous;
        Current = current;
    }

    /// <summary>The state before.</summary>
    public ClientState Previous { get; }

    /// <summary>The state now.</summary>
    public ClientState Current { get; }
}
