using Flagstaff.Storage;

namespace Flagstaff.Management.Services;

/// <summary>Reads the audit log, with names for the ids it holds.</summary>
public sealed class AuditService(Store store)
{
    public const int MaxPage = 200;

    public Task<AuditPage> ListAsync(
        string? projectKey, string? flagKey, string? environmentKey, string? actorId, DateTimeOffset? from, DateTimeOffset? to, long? before, int limit,
        CancellationToken cancellationToken = default) =>
        store.ReadAsync(async s =>
        {
            string? projectId = null, flagId = null, environmentId = null;
            Dictionary<string, string> environments = [];
            var project = projectKey is null ? null : await s.ProjectAsync(projectKey).ConfigureAwait(false);
            if (project is not null)
            {
                projectId = project.Id;
                environments = (await s.ListEnvironmentsAsync(project.Id).ConfigureAwait(false)).ToDictionary(e => e.Id, e => e.Key);
                if (flagKey is not null)
                {
                    flagId = (await s.FlagAsync(project, flagKey).ConfigureAwait(false)).Id;
                }

                if (environmentKey is not null)
                {
                    environmentId = (await s.EnvironmentAsync(project, environmentKey).ConfigureAwait(false)).Id;
                }
            }
            else if (flagKey is not null || environmentKey is not null)
            {
                throw new Domain.DomainValidationException("project", "is required to filter by flag or environment");
            }

            var entries = await s.ListAuditAsync(new AuditQuery
            {
                ProjectId = projectId,
                FlagId = flagId,
                EnvironmentId = environmentId,
                ActorId = actorId,
                From = from,
                To = to,
                BeforeId = before,
                Limit = Math.Clamp(limit, 1, MaxPage),
            }).ConfigureAwait(false);
            var projects = (await s.ListProjectsAsync(includeArchived: true).ConfigureAwait(false)).ToDictionary(p => p.Id, p => p.Key);
            var items = entries.Select(e => new AuditView
            {
                Entry = e,
                Project = e.ProjectId is { } p ? projects.GetValueOrDefault(p) : null,
                Environment = e.EnvironmentId is { } env ? environments.GetValueOrDefault(env) : null,
                Flag = e.ResourceType == "flag" ? e.ResourceKey : null,
            }).ToList();
            return new AuditPage(items, entries.Count == Math.Clamp(limit, 1, MaxPage) ? entries[^1].Id : null);
        }, cancellationToken);
}
