using Flagstaff.Domain;
using Flagstaff.Storage;

namespace Flagstaff.Server.Services;

/// <summary>
/// Finds resources by their path (project key, then a key within it) or says they are not there.
/// Everything is looked up under its parent, so an id of another project is simply not found.
/// </summary>
public static class Lookups
{
    public static async Task<Project> ProjectAsync(this StoreSession session, string projectKey) =>
        await session.GetProjectAsync(projectKey).ConfigureAwait(false)
        ?? throw new NotFoundException($"There is no project \"{Limits.Truncate(projectKey)}\".");

    public static async Task<ProjectEnvironment> EnvironmentAsync(this StoreSession session, Project project, string environmentKey) =>
        await session.GetEnvironmentAsync(project.Id, environmentKey).ConfigureAwait(false)
        ?? throw new NotFoundException($"Project \"{project.Key}\" has no environment \"{Limits.Truncate(environmentKey)}\".");

    public static async Task<Flag> FlagAsync(this StoreSession session, Project project, string flagKey) =>
        await session.GetFlagAsync(project.Id, flagKey).ConfigureAwait(false)
        ?? throw new NotFoundException($"Project \"{project.Key}\" has no flag \"{Limits.Truncate(flagKey)}\".");

    public static async Task<Segment> SegmentAsync(this StoreSession session, Project project, string segmentKey) =>
        await session.GetSegmentAsync(project.Id, segmentKey).ConfigureAwait(false)
        ?? throw new NotFoundException($"Project \"{project.Key}\" has no segment \"{Limits.Truncate(segmentKey)}\".");

    public static async Task<ContextProperty> ContextPropertyAsync(this StoreSession session, Project project, string key) =>
        await session.GetContextPropertyAsync(project.Id, key).ConfigureAwait(false)
        ?? throw new NotFoundException($"Project \"{project.Key}\" has no context property \"{Limits.Truncate(key)}\".");

    /// <summary>Throws a conflict carrying the current state when the caller's version is not the current one.</summary>
    public static void CheckVersion(long current, long expected, string what, object currentState)
    {
        if (current != expected)
        {
            throw new ConflictException(
                $"{what} was changed by someone else: you edited version {expected}, it is now at version {current}. Review the current state and apply your change again.",
                currentState);
        }
    }

    public static string NewId() => Guid.CreateVersion7().ToString("N");
}
