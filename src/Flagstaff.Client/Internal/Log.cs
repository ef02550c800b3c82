using Microsoft.Extensions.Logging;

namespace Flagstaff.Client.Internal;

/// <summary>
/// Every log line of the SDK, with stable event ids (6000-6099). No line ever holds an API key: keys
/// are only ever written into request headers.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6000, Level = LogLevel.Information, Message = "Flagstaff stream connected to {Server}")]
    public static partial void StreamConnected(ILogger logger, string server);

    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Flagstaff configuration {Version} received ({Count} flags, from {Source})")]
    public static partial void ConfigurationReceived(ILogger logger, long? version, int count, string source);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Debug, Message = "Flagstaff configuration patched to version {Version} ({Changed} changed, {Deleted} removed)")]
    public static partial void Patched(ILogger logger, long? version, int changed, int deleted);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "Flagstaff connection failed ({Reason}); evaluations use the last configuration; retrying in {Delay}")]
    public static partial void ConnectionFailed(ILogger logger, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Debug, Message = "Flagstaff connection failed again ({Reason}), attempt {Attempt}; retrying in {Delay}")]
    public static partial void ConnectionFailedAgain(ILogger logger, string reason, int attempt, TimeSpan delay);

    [LoggerMessage(EventId = 6005, Level = LogLevel.Information, Message = "Flagstaff connection restored after {Attempts} failed attempts")]
    public static partial void ConnectionRestored(ILogger logger, int attempts);

    [LoggerMessage(EventId = 6006, Level = LogLevel.Error, Message = "The Flagstaff server refused the API key ({Status}: {Message}). The client keeps evaluating its last configuration (or defaults) and asks again only every {RetryInterval}. Check the ServerKey setting: a server key of the environment, not revoked.")]
    public static partial void KeyRefused(ILogger logger, int status, string message, TimeSpan retryInterval);

    [LoggerMessage(EventId = 6007, Level = LogLevel.Warning, Message = "Flagstaff sent a malformed {Event} event ({Problem}); reconnecting and keeping the last good configuration")]
    public static partial void MalformedEvent(ILogger logger, string @event, string problem);

    [LoggerMessage(EventId = 6008, Level = LogLevel.Warning, Message = "Flagstaff configuration has {Count} invalid flags, which evaluate to the caller's default; the first: {First}")]
    public static partial void InvalidFlags(ILogger logger, int count, string first);

    [LoggerMessage(EventId = 6009, Level = LogLevel.Warning, Message = "Flagstaff streaming is not available ({Reason}); polling every {Interval} instead")]
    public static partial void StreamingUnavailable(ILogger logger, string reason, TimeSpan interval);

    [LoggerMessage(EventId = 6010, Level = LogLevel.Information, Message = "Flagstaff started from its {Source} configuration (version {Version}, saved {SavedAt:O}, {Count} flags)")]
    public static partial void StartedFromStored(ILogger logger, string source, long? version, DateTimeOffset savedAt, int count);

    [LoggerMessage(EventId = 6011, Level = LogLevel.Warning, Message = "Flagstaff could not save its last good configuration")]
    public static partial void PersistFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6012, Level = LogLevel.Warning, Message = "Flagstaff could not read a stored or bootstrap configuration ({Source})")]
    public static partial void StoredConfigurationUnreadable(ILogger logger, Exception exception, string source);

    [LoggerMessage(EventId = 6013, Level = LogLevel.Debug, Message = "Flagstaff {What} report not sent ({Reason}); it is kept for the next one")]
    public static partial void ReportFailed(ILogger logger, string what, string reason);

    [LoggerMessage(EventId = 6014, Level = LogLevel.Error, Message = "The Flagstaff server refused the {What} report's API key ({Status}); these reports stop")]
    public static partial void ReportKeyRefused(ILogger logger, string what, int status);

    [LoggerMessage(EventId = 6015, Level = LogLevel.Warning, Message = "A handler of the Flagstaff client's {Event} event threw")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string @event);

    [LoggerMessage(EventId = 6016, Level = LogLevel.Warning, Message = "Flagstaff stream silent for {Timeout}: the connection is taken for dead and reopened")]
    public static partial void DeadConnection(ILogger logger, TimeSpan timeout);

    [LoggerMessage(EventId = 6017, Level = LogLevel.Warning, Message = "Flagstaff remote evaluation failed ({Reason}); the caller's defaults are used")]
    public static partial void RemoteFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 6019, Level = LogLevel.Debug, Message = "Flagstaff {Request} answered {Status}")]
    public static partial void RequestFailed(ILogger logger, string request, int status);

    [LoggerMessage(EventId = 6020, Level = LogLevel.Warning, Message = "The failed-write handler of migration {Flag} threw; the failed write it was given may not be repaired")]
    public static partial void FailedWriteHandlerThrew(ILogger logger, Exception exception, string flag);

    [LoggerMessage(EventId = 6021, Level = LogLevel.Warning, Message = "Migration {Flag}: {Count} measurements could not be sent for too long and were dropped")]
    public static partial void MeasurementsDropped(ILogger logger, string flag, int count);

    [LoggerMessage(EventId = 6022, Level = LogLevel.Warning, Message = "The Flagstaff server rejected a {What} report ({Status}); it is dropped, as sending it again would fail again")]
    public static partial void ReportRejected(ILogger logger, string what, int status);

    [LoggerMessage(EventId = 6023, Level = LogLevel.Debug, Message = "Flagstaff {What} report answered {Status}; it is kept for the next one")]
    public static partial void ReportAnswered(ILogger logger, string what, int status);

    [LoggerMessage(EventId = 6018, Level = LogLevel.Debug, Message = "Flagstaff poll: configuration unchanged at version {Version}")]
    public static partial void PollUnchanged(ILogger logger, long? version);
}
