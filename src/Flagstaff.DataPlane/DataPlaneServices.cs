using Flagstaff.DataPlane.Changes;
using Flagstaff.DataPlane.Snapshots;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Flagstaff.DataPlane;

/// <summary>Registers the data plane in a host.</summary>
public static class DataPlaneServices
{
    /// <summary>
    /// The change feed and the snapshots, kept up to date by a hosted service. A source of changes must be
    /// registered too (<see cref="AddStoreChangeSource"/> on a server), and, for metrics, an <see cref="IDataPlaneObserver"/>.
    /// <see cref="SnapshotOptions"/> are bound by the host.
    /// </summary>
    public static IServiceCollection AddDataPlane(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<SnapshotOptions>().ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ChangeFeed>();
        services.AddSingleton<SnapshotCache>();
        services.AddHostedService(p => p.GetRequiredService<SnapshotCache>());
        return services;
    }

    /// <summary>The store as the source of changes, with the listener for other nodes' notifications (PostgreSQL).</summary>
    public static IServiceCollection AddStoreChangeSource(this IServiceCollection services)
    {
        services.AddSingleton<IChangeSource, StoreChangeSource>();
        services.AddSingleton<DatabaseChangeListener>();
        services.AddHostedService(p => p.GetRequiredService<DatabaseChangeListener>());
        return services;
    }
}
