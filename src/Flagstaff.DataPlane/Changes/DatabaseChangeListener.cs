using System.Globalization;
using Flagstaff.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Flagstaff.DataPlane.Changes;

/// <summary>
/// With PostgreSQL, several server nodes share one database: this listens for the notifications the
/// others send when they commit a change (LISTEN/NOTIFY says what changed; the database says what it
/// is now) and publishes them on the <see cref="ChangeFeed"/>, so their snapshots and streams update
/// within milliseconds everywhere. A node's own notifications come back too; the snapshots, already at
/// that version, ignore them.
/// </summary>
public sealed partial class DatabaseChangeListener(Store store, ChangeFeed feed, TimeProvider clock, ILogger<DatabaseChangeListener> logger) : BackgroundService
{
    /// <summary>
    /// Raised when API keys changed on some node, and each time listening starts again (what was sent
    /// while not listening is lost): the key directory reloads.
    /// </summary>
    public event Action? KeysChanged;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (store.Dialect is not PostgresDialect postgres)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // Configuration changes missed while not listening are caught up by the snapshots' resync.
                await postgres.ListenAsync([StoreSession.ConfigChannel, StoreSession.KeysChannel], Received, Listening, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogListenFailed(logger, e);
                await Task.Delay(TimeSpan.FromSeconds(1), clock, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private void Listening()
    {
        KeysChanged?.Invoke();
        LogListening(logger);
    }

    private void Received(string channel, string payload)
    {
        if (channel == StoreSession.KeysChannel)
        {
            KeysChanged?.Invoke();
            return;
        }

        int colon = payload.LastIndexOf(':');
        if (colon > 0 && long.TryParse(payload.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out long version))
        {
            feed.Publish(new ChangeNotice(payload[..colon], version));
        }
    }

    [LoggerMessage(EventId = LogEvents.ListeningForChanges, Level = LogLevel.Information, Message = "Listening for changes from other server nodes")]
    private static partial void LogListening(ILogger logger);

    [LoggerMessage(EventId = LogEvents.ListenFailed, Level = LogLevel.Warning, Message = "Lost the change notifications of other nodes; reconnecting")]
    private static partial void LogListenFailed(ILogger logger, Exception exception);
}
