using Microsoft.Extensions.Hosting;

namespace Flagstaff.Server.Services;

/// <summary>
/// Runs the migration guards every 5 seconds on every node (the measurements are in the database, so
/// any node judges what every node received); optimistic concurrency makes one rollback out of several
/// nodes' judgements.
/// </summary>
public sealed partial class MigrationGuard(MigrationService migrations, TimeProvider clock, ILogger<MigrationGuard> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                foreach (var rollback in await migrations.GuardAsync(stoppingToken).ConfigureAwait(false))
                {
                    LogRollback(logger, rollback.Guard, rollback.Project, rollback.Flag, rollback.Environment, rollback.Figures);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogFailed(logger, e);
            }
        }
    }

    [LoggerMessage(EventId = LogEvents.GuardRolledBack, Level = LogLevel.Warning, Message = "Guard {Guard} rolled back migration {Project}/{Flag} in {Environment}: {Figures}")]
    private static partial void LogRollback(ILogger logger, string guard, string project, string flag, string environment, string figures);

    [LoggerMessage(EventId = LogEvents.GuardFailed, Level = LogLevel.Warning, Message = "Could not run the migration guards; trying again shortly")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
