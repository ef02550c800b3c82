using Flagstaff.Domain;
using Flagstaff.Storage;

namespace Flagstaff.Server.Services;

/// <summary>An environment's flags compiled to the wire format, read in one consistent transaction.</summary>
/// <param name="Project">The project.</param>
/// <param name="Environment">The environment (its <see cref="ProjectEnvironment.ConfigVersion"/> is the version compiled).</param>
/// <param name="Flags">Every flag of the project, compiled for the environment (disabled ones included, marked).</param>
public sealed record CompiledEnvironment(Project Project, ProjectEnvironment Environment, IReadOnlyList<CompiledFlagConfiguration> Flags)
{
    /// <summary>The body of <c>GET /config</c>: the flags that are on, as a JSON array.</summary>
    public byte[] ConfigJson()
    {
        using var buffer = new MemoryStream();
        buffer.WriteByte((byte)'[');
        bool first = true;
        foreach (var flag in Flags.Where(f => f.Enabled))
        {
            if (!first)
            {
                buffer.WriteByte((byte)',');
            }

            buffer.Write(flag.Json);
            first = false;
        }

        buffer.WriteByte((byte)']');
        return buffer.ToArray();
    }
}

/// <summary>The changes of an environment since a version, with the changed flags compiled.</summary>
/// <param name="Project">The project, as it is now.</param>
/// <param name="Environment">The environment, at its current configuration version.</param>
/// <param name="Changes">The changes, oldest first.</param>
/// <param name="ChangedKeys">Every flag key the changes name.</param>
/// <param name="Flags">Those of the changed flags that still exist, compiled.</param>
public sealed record EnvironmentDelta(Project Project, ProjectEnvironment Environment, IReadOnlyList<ConfigChange> Changes, IReadOnlySet<string> ChangedKeys, IReadOnlyList<CompiledFlagConfiguration> Flags);

/// <summary>Compiles environments, or single flags of them, from storage.</summary>
public sealed class EnvironmentCompiler(Store store)
{
    /// <summary>Compiles every flag of an environment.</summary>
    public Task<CompiledEnvironment?> CompileAsync(string environmentId, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async s =>
        {
            var environment = await s.GetEnvironmentByIdAsync(environmentId).ConfigureAwait(false);
            if (environment is null)
            {
                return null;
            }

            var project = (await s.GetProjectByIdAsync(environment.ProjectId).ConfigureAwait(false))!;
            var segments = await s.SegmentsByKeyAsync(project).ConfigureAwait(false);
            var flags = (await s.ListAllFlagsAsync(project.Id).ConfigureAwait(false)).ToDictionary(f => f.Id);
            var compiled = new List<CompiledFlagConfiguration>(flags.Count);
            foreach (var targeting in await s.ListTargetingsOfEnvironmentAsync(environment.Id).ConfigureAwait(false))
            {
                compiled.Add(Compile(project, flags[targeting.FlagId], targeting, segments));
            }

            return new CompiledEnvironment(project, environment, compiled);
        }, cancellationToken);

    /// <summary>
    /// Reads what changed in an environment after <paramref name="fromVersion"/> and compiles just those
    /// flags, in one consistent read. Null when the environment is gone or its change history no longer
    /// reaches back that far (compile it whole instead).
    /// </summary>
    public Task<EnvironmentDelta?> CatchUpAsync(string environmentId, long fromVersion, CancellationToken cancellationToken = default) =>
        store.ReadAsync<EnvironmentDelta?>(async s =>
        {
            var environment = await s.GetEnvironmentByIdAsync(environmentId).ConfigureAwait(false);
            if (environment is null)
            {
                return null;
            }

            var changes = await s.ListConfigChangesAsync(environmentId, fromVersion).ConfigureAwait(false);
            if (environment.ConfigVersion > fromVersion && (changes.Count == 0 || changes[0].Version != fromVersion + 1 || changes[^1].Version != environment.ConfigVersion))
            {
                return null;
            }

            var project = (await s.GetProjectByIdAsync(environment.ProjectId).ConfigureAwait(false))!;
            var segments = await s.SegmentsByKeyAsync(project).ConfigureAwait(false);
            var keys = changes.SelectMany(c => c.Changed).ToHashSet(StringComparer.Ordinal);
            var compiled = new List<CompiledFlagConfiguration>(keys.Count);
            foreach (var key in keys)
            {
                var flag = await s.GetFlagAsync(project.Id, key).ConfigureAwait(false);
                if (flag is not null && await s.GetTargetingAsync(flag.Id, environment.Id).ConfigureAwait(false) is { } targeting)
                {
                    compiled.Add(Compile(project, flag, targeting, segments));
                }
            }

            return new EnvironmentDelta(project, environment, changes, keys, compiled);
        }, cancellationToken);

    // An archived project or flag is served to no one: it compiles as disabled.
    private static CompiledFlagConfiguration Compile(Project project, Flag flag, Targeting targeting, IReadOnlyDictionary<string, Segment> segments) =>
        FlagCompiler.Compile(project, project.ArchivedAt is null ? flag : flag with { ArchivedAt = project.ArchivedAt }, targeting, segments);
}
