using Flagstaff.DataPlane.Compilation;
using Flagstaff.DataPlane.Snapshots;
using Flagstaff.Storage;

namespace Flagstaff.DataPlane.Changes;

/// <summary>
/// The store as the source of the snapshots: environments compiled whole, or just their changed flags,
/// each in one consistent read. The same reads run inside a write transaction, so that the node that
/// makes a change publishes the patch it committed and compiles it once (see <see cref="ReadPatchAsync"/>).
/// </summary>
public sealed class StoreChangeSource(Store store) : IChangeSource
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<SourceVersion>> ListEnvironmentsAsync(CancellationToken cancellationToken) =>
        [.. (await store.ReadAsync(s => s.ListAllEnvironmentsAsync(), cancellationToken).ConfigureAwait(false)).Select(e => new SourceVersion(e.Id, e.ConfigVersion))];

    /// <inheritdoc />
    public Task<EnvironmentSnapshot?> LoadAsync(string environmentId, CancellationToken cancellationToken) =>
        store.ReadAsync(s => ReadSnapshotAsync(s, environmentId), cancellationToken);

    /// <inheritdoc />
    public Task<SnapshotPatch?> CatchUpAsync(string environmentId, long fromVersion, CancellationToken cancellationToken) =>
        store.ReadAsync(s => ReadPatchAsync(s, environmentId, fromVersion), cancellationToken);

    /// <summary>Compiles every flag of an environment as the session sees it; null when the environment is gone.</summary>
    public static async Task<EnvironmentSnapshot?> ReadSnapshotAsync(StoreSession session, string environmentId)
    {
        ArgumentNullException.ThrowIfNull(session);
        var environment = await session.GetEnvironmentByIdAsync(environmentId).ConfigureAwait(false);
        if (environment is null)
        {
            return null;
        }

        var project = (await session.GetProjectByIdAsync(environment.ProjectId).ConfigureAwait(false))!;
        var segments = await session.SegmentsByKeyAsync(project).ConfigureAwait(false);
        var flags = (await session.ListAllFlagsAsync(project.Id).ConfigureAwait(false)).ToDictionary(f => f.Id);
        var compiled = new List<SnapshotFlag>(flags.Count);
        foreach (var targeting in await session.ListTargetingsOfEnvironmentAsync(environment.Id).ConfigureAwait(false))
        {
            compiled.Add(FlagCompiler.Compile(project, flags[targeting.FlagId], targeting, segments));
        }

        return EnvironmentSnapshot.Create(project, environment, compiled);
    }

    /// <summary>
    /// Reads what changed in an environment after <paramref name="fromVersion"/> as the session sees it,
    /// and compiles just those flags. Null when the environment is gone or its change history no longer
    /// reaches back that far.
    /// </summary>
    public static async Task<SnapshotPatch?> ReadPatchAsync(StoreSession session, string environmentId, long fromVersion)
    {
        ArgumentNullException.ThrowIfNull(session);
        var environment = await session.GetEnvironmentByIdAsync(environmentId).ConfigureAwait(false);
        if (environment is null)
        {
            return null;
        }

        var changes = await session.ListConfigChangesAsync(environmentId, fromVersion).ConfigureAwait(false);
        if (environment.ConfigVersion > fromVersion && (changes.Count == 0 || changes[0].Version != fromVersion + 1 || changes[^1].Version != environment.ConfigVersion))
        {
            return null;
        }

        var project = (await session.GetProjectByIdAsync(environment.ProjectId).ConfigureAwait(false))!;
        var segments = await session.SegmentsByKeyAsync(project).ConfigureAwait(false);
        var keys = changes.SelectMany(c => c.Changed).ToHashSet(StringComparer.Ordinal);
        var compiled = new List<SnapshotFlag>(keys.Count);
        foreach (var key in keys)
        {
            var flag = await session.GetFlagAsync(project.Id, key).ConfigureAwait(false);
            if (flag is not null && await session.GetTargetingAsync(flag.Id, environment.Id).ConfigureAwait(false) is { } targeting)
            {
                compiled.Add(FlagCompiler.Compile(project, flag, targeting, segments));
            }
        }

        return new SnapshotPatch(project, environment, fromVersion, changes, keys, compiled);
    }
}
