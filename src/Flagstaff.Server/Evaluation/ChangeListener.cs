using System.Globalization;
using Flagstaff.Server.Services;
using Flagstaff.Storage;
using Npgsql;

namespace Flagstaff.Server.Evaluation;

/// <summary>
/// With PostgreSQL, several server nodes share one database: this listens for the notifications the
/// others send when they commit a change (LISTEN/NOTIFY says what changed; the database says what it
/// is now) and passes them on, so their snapshots and streams update within milliseconds everywhere.
/// </summary>
public sealed partial class ChangeListener(Store store, ConfigChangeFeed feed, ApiKeyDirectory keys, TimeProvider clock, ILogger<ChangeListener> logger) : BackgroundService
{
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
                await using var connection = await postgres.OpenListenerAsync(stoppingToken).ConfigureAwait(false);
                connection.Notification += (_, e) => Received(e.Channel, e.Payload);
                await using (var command = new NpgsqlCommand($"LISTEN {StoreSession.ConfigChannel}; LISTEN {StoreSession.KeysChannel};", connection))
                {
                    await command.ExecuteNonQueryAsync(stoppingToken).ConfigureAwait(false);
                }

                // Anything missed while not listening is caught up by the snapshots' resync and this refresh.
                keys.RefreshSoon();
                LogListening(logger);
                while (!stoppingToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(stoppingToken).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogListenFailed(logger, e);
                await Task.Delay(TimeSpan.FromSeconds(1), clock, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private void Received(string channel, string payload)
    {
        if (channel == StoreSession.KeysChannel)
        {
            keys.RefreshSoon();
            return;
        }

        int colon = payload.LastIndexOf(':');
        if (colon <= 0 || !long.TryParse(payload.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out long version))
        {
            return;
        }

        var environmentId = payload[..colon];
        if (!feed.IsLocal(environmentId, version))
        {
            _ = PublishAsync(environmentId, version);
        }
    }

    private async Task PublishAsync(string environmentId, long version)
    {
        try
        {
            var changes = await store.ReadAsync(s => s.ListConfigChangesAsync(environmentId, version - 1)).ConfigureAwait(false);
            var change = changes.FirstOrDefault(c => c.Version == version) ?? new ConfigChange(environmentId, version, [], clock.GetUtcNow());
            feed.PublishRemote(change);
        }
        catch (Exception e)
        {
            LogListenFailed(logger, e);
            feed.PublishRemote(new ConfigChange(environmentId, version, [], clock.GetUtcNow()));
        }
    }

    [LoggerMessage(EventId = 2200, Level = LogLevel.Information, Message = "Listening for changes from other server nodes")]
    private static partial void LogListening(ILogger logger);

    [LoggerMessage(EventId = 2201, Level = LogLevel.Warning, Message = "Lost the change notifications of other nodes; reconnecting")]
    private static partial void LogListenFailed(ILogger logger, Exception exception);
}
