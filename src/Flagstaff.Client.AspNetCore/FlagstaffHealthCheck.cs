using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Flagstaff.Client.AspNetCore;

/// <summary>
/// Reports whether the client can evaluate and how stale its configuration is: healthy when it is
/// current, degraded when it evaluates a configuration older than the allowed staleness (server
/// unreachable, key refused), and the failure status when it has no configuration at all.
/// </summary>
public sealed class FlagstaffHealthCheck(IFlagstaffClient client, TimeSpan maxStaleness) : IHealthCheck
{
    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var snapshot = client.GetSnapshot();
        var state = client.State;
        var lastSynced = client.LastSyncedAt;
        var staleness = lastSynced is { } at ? DateTimeOffset.UtcNow - at : (TimeSpan?)null;
        var data = new Dictionary<string, object>
        {
            ["state"] = state.ToString(),
            ["version"] = snapshot.Version?.ToString(CultureInfo.InvariantCulture) ?? "none",
            ["lastSyncedAt"] = lastSynced?.ToString("O", CultureInfo.InvariantCulture) ?? "never",
            ["stalenessSeconds"] = staleness is { } s ? Math.Round(s.TotalSeconds, 1) : -1,
        };

        HealthCheckResult result;
        if (!snapshot.HasConfiguration)
        {
            result = new HealthCheckResult(context.Registration.FailureStatus, $"No flag configuration yet ({state}): evaluations return the callers' defaults.", data: data);
        }
        else if (state == ClientState.Ready && staleness is { } fresh && fresh <= maxStaleness)
        {
            result = HealthCheckResult.Healthy($"Configuration {data["version"]} is current.", data);
        }
        else
        {
            result = HealthCheckResult.Degraded($"Evaluating configuration {data["version"]}, last known current {data["lastSyncedAt"]} ({state}).", data: data);
        }

        return Task.FromResult(result);
    }
}

/// <summary>Registers the Flagstaff health check.</summary>
public static class FlagstaffHealthCheckExtensions
{
    /// <summary>Adds a check of the Flagstaff client: ready and fresh, degraded when stale, failing with no configuration.</summary>
    /// <param name="builder">The health checks.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="maxStaleness">How old the configuration may be before the check reports degraded; default 2 minutes (the server sends a heartbeat every 15 s).</param>
    /// <param name="failureStatus">The status with no configuration; default unhealthy.</param>
    /// <param name="tags">Tags to filter checks by (for example "ready").</param>
    public static IHealthChecksBuilder AddFlagstaff(this IHealthChecksBuilder builder, string name = "flagstaff", TimeSpan? maxStaleness = null, HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Add(new HealthCheckRegistration(
            name,
            services => new FlagstaffHealthCheck(services.GetRequiredService<IFlagstaffClient>(), maxStaleness ?? TimeSpan.FromMinutes(2)),
            failureStatus,
            tags));
    }
}
