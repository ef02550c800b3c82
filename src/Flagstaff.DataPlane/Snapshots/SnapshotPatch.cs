using Flagstaff.Domain;
using Flagstaff.Storage;

namespace Flagstaff.DataPlane.Snapshots;

/// <summary>
/// What changed in an environment from one version to a later one, with the changed flags compiled:
/// applied to the snapshot at <see cref="FromVersion"/>, it gives the snapshot at the environment's
/// current version.
/// </summary>
/// <param name="Project">The project, as it is at the new version.</param>
/// <param name="Environment">The environment, at the new configuration version.</param>
/// <param name="FromVersion">The version the patch applies to.</param>
/// <param name="Changes">The changes, oldest first.</param>
/// <param name="ChangedKeys">Every flag key the changes name.</param>
/// <param name="Flags">Those of the changed flags that still exist, compiled.</param>
public sealed record SnapshotPatch(
    Project Project, ProjectEnvironment Environment, long FromVersion, IReadOnlyList<ConfigChange> Changes, IReadOnlySet<string> ChangedKeys, IReadOnlyList<SnapshotFlag> Flags)
{
    /// <summary>The version the patch brings the snapshot to.</summary>
    public long Version => Environment.ConfigVersion;
}
