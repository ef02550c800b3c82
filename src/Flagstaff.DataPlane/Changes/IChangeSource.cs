using Flagstaff.DataPlane.Snapshots;

namespace Flagstaff.DataPlane.Changes;

/// <summary>An environment and the configuration version its source has.</summary>
/// <param name="EnvironmentId">The environment's id.</param>
/// <param name="Version">Its configuration version at the source.</param>
public readonly record struct SourceVersion(string EnvironmentId, long Version);

/// <summary>
/// Where the snapshots come from: the store on a server, an upstream server's stream on a relay. The
/// source announces new versions on the <see cref="ChangeFeed"/>; <see cref="SnapshotCache"/> then
/// asks it for what it needs, one environment at a time, in version order.
/// </summary>
public interface IChangeSource
{
    /// <summary>Every environment the source has, with its version (the periodic resync compares them with the snapshots).</summary>
    Task<IReadOnlyList<SourceVersion>> ListEnvironmentsAsync(CancellationToken cancellationToken);

    /// <summary>An environment's whole snapshot, or null when the environment no longer exists.</summary>
    Task<EnvironmentSnapshot?> LoadAsync(string environmentId, CancellationToken cancellationToken);

    /// <summary>
    /// What changed in an environment after <paramref name="fromVersion"/>, or null when the environment
    /// is gone or the source's history no longer reaches back that far (load it whole instead).
    /// </summary>
    Task<SnapshotPatch?> CatchUpAsync(string environmentId, long fromVersion, CancellationToken cancellationToken);
}
