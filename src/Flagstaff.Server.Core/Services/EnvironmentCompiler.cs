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

    /// <summary>Compiles some flags of an environment (by key); flags that no longer exist are left out.</summary>
    public Task<(ProjectEnvironment Environment, IReadOnlyList<CompiledFlagConfiguration> Flags)?> CompileFlagsAsync(
        string environmentId, IReadOnlyCollection<string> flagKeys, CancellationToken cancellationToken = default) =>
        store.ReadAsync<(ProjectEnvironment, IReadOnlyList<CompiledFlagConfiguration>)?>(async s =>
        {
            var environment = await s.GetEnvironmentByIdAsync(environmentId).ConfigureAwait(false);
            if (environment is null)
            {
                return null;
            }

            var project = (await s.GetProjectByIdAsync(environment.ProjectId).ConfigureAwait(false))!;
            var segments = await s.SegmentsByKeyAsync(project).ConfigureAwait(false);
            var compiled = new List<CompiledFlagConfiguration>(flagKeys.Count);
            foreach (var key in flagKeys)
            {
                var flag = await s.GetFlagAsync(project.Id, key).ConfigureAwait(false);
                if (flag is not null && await s.GetTargetingAsync(flag.Id, environment.Id).ConfigureAwait(false) is { } targeting)
                {
                    compiled.Add(Compile(project, flag, targeting, segments));
                }
            }

            return (environment, compiled);
        }, cancellationToken);

    // An archived project or flag is served to no one: it compiles as disabled.
    private static CompiledFlagConfiguration Compile(Project project, Flag flag, Targeting targeting, IReadOnlyDictionary<string, Segment> segments) =>
        FlagCompiler.Compile(project, project.ArchivedAt is null ? flag : flag with { ArchivedAt = project.ArchivedAt }, targeting, segments);
}
