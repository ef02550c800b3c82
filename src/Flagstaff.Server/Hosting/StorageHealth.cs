using Flagstaff.Storage;
using Microsoft.Extensions.Options;

namespace Flagstaff.Server.Hosting;

/// <summary>
/// Asks the database to answer <c>SELECT 1</c> every few seconds, each time within a short deadline,
/// for the readiness check. Evaluation never touches the database, so without this probe a database
/// that stopped or froze would go unnoticed until the next write or resync happened to need it.
/// </summary>
public sealed partial class StorageHealth(Store store, TimeProvider clock, IOptions<FlagstaffOptions> options, ILogger<StorageHealth> logger) : BackgroundService
{
    private readonly TimeSpan _interval = TimeSpan.FromSeconds(options.Value.Storage.ProbeIntervalSeconds);
    private readonly TimeSpan _timeout = TimeSpan.FromSeconds(options.Value.Storage.ProbeTimeoutSeconds);
    private volatile State _state = new(null, null);

    /// <summary>When the database last answered the probe.</summary>
    public DateTimeOffset? LastAnswer => _state.LastAnswer;

    /// <summary>
    /// Why the last probe failed, in words fit for anyone (never a host, port or driver message: the
    /// readiness check is anonymous); null when it answered.
    /// </summary>
    public string? Problem => _state.Problem;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_interval, clock);
        do
        {
            await ProbeAsync(stoppingToken).ConfigureAwait(false);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    private async Task ProbeAsync(CancellationToken stoppingToken)
    {
        try
        {
            await store.PingAsync(_timeout, stoppingToken).ConfigureAwait(false);
            if (_state.Problem is not null)
            {
                LogRecovered(logger);
            }

            _state = new State(clock.GetUtcNow(), null);
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            if (_state.Problem is null)
            {
                LogUnreachable(logger, e.Message);
            }

            _state = new State(_state.LastAnswer, "The database is not answering.");
        }
    }

    private sealed record State(DateTimeOffset? LastAnswer, string? Problem);

    [LoggerMessage(EventId = LogEvents.StorageUnhealthy, Level = LogLevel.Warning, Message = "The database failed its health check: {Message}")]
    private static partial void LogUnreachable(ILogger logger, string message);

    [LoggerMessage(EventId = LogEvents.StorageRecovered, Level = LogLevel.Information, Message = "The database answers its health check again")]
    private static partial void LogRecovered(ILogger logger);
}
