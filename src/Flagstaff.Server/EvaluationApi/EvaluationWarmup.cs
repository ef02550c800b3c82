using Flagstaff.DataPlane.Snapshots;

namespace Flagstaff.Server.EvaluationApi;

/// <summary>
/// Holds the server back from listening until the API keys and every environment's snapshot are
/// loaded, so that its first answers are already right. If the database is unreachable at start it
/// waits a while, then listens anyway (evaluation answers 503 until the snapshots load).
/// </summary>
public sealed partial class EvaluationWarmup(SnapshotCache snapshots, ApiKeyDirectory keys, ILogger<EvaluationWarmup> logger) : IHostedService
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Patience);
            await Task.WhenAll(snapshots.WaitUntilLoadedAsync(timeout.Token), keys.WaitUntilLoadedAsync(timeout.Token)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogNotLoaded(logger, Patience.TotalSeconds);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = LogEvents.WarmupTimedOut, Level = LogLevel.Warning, Message = "The configuration was not loaded within {Seconds} s; listening anyway (evaluation answers 503 until it loads)")]
    private static partial void LogNotLoaded(ILogger logger, double seconds);
}
