using Flagstaff.DataPlane.Snapshots;

namespace Flagstaff.DataPlane;

/// <summary>
/// Told what the data plane does, for metrics (the server's metrics implement it, as they implement the
/// store's observer). Called on the updating thread: implementations must be quick and never throw.
/// </summary>
public interface IDataPlaneObserver
{
    /// <summary>The source of changes says an environment's configuration has reached a version.</summary>
    void SourceVersion(string environmentId, long version);

    /// <summary>A snapshot was swapped in.</summary>
    void SnapshotApplied(EnvironmentSnapshot snapshot);

    /// <summary>An environment is gone: its snapshot was dropped.</summary>
    void EnvironmentRemoved(string environmentId);
}
