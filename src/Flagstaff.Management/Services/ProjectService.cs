using System.Globalization;
using System.Text.RegularExpressions;
using Flagstaff.Domain;
using Flagstaff.Storage;

namespace Flagstaff.Management.Services;

/// <summary>Projects and their environments.</summary>
public sealed partial class ProjectService(Store store, ChangeRunner changes, ApiKeyRevocations revocations)
{
    /// <summary>The environments a new project gets unless it names its own.</summary>
    public static IReadOnlyList<CreateEnvironmentRequest> DefaultEnvironments { get; } =
    [
        new() { Key = "development", Name = "Development", Color = "#3b82f6" },
        new() { Key = "staging", Name = "Staging", Color = "#f59e0b" },
        new() { Key = "production", Name = "Production", Color = "#ef4444", Critical = true },
    ];

    private Task<T> WriteAsync<T>(Actor actor, Func<ChangeRecorder, Task<T>> work, CancellationToken cancellationToken) =>
        changes.WriteAsync(actor, work, cancellationToken);

    public Task<IReadOnlyList<Project>> ListAsync(bool includeArchived, CancellationToken cancellationToken = default) =>
        store.ReadAsync(s => s.ListProjectsAsync(includeArchived), cancellationToken);

    public Task<Project> GetAsync(string projectKey, CancellationToken cancellationToken = default) =>
        store.ReadAsync(s => s.ProjectAsync(projectKey), cancellationToken);

    public Task<Project> CreateAsync(CreateProjectRequest request, Actor actor, CancellationToken cancellationToken = default) =>
        WriteAsync(actor, async change =>
        {
            var project = new Project
            {
                Id = Lookups.NewId(),
                Key = request.Key,
                Name = request.Name,
                Description = request.Description,
                StickinessProperty = request.StickinessProperty ?? "userId",
                Version = 1,
                CreatedAt = change.Now,
                UpdatedAt = change.Now,
            };
            var errors = new ValidationErrors();
            CheckProject(project, errors);
            var environments = request.Environments ?? DefaultEnvironments;
            if (environments.Count == 0)
            {
                errors.Add("environments", "a project needs at least one environment");
            }

            if (environments.Count > Limits.Environments)
            {
                errors.Add("environments", $"at most {Limits.Environments} environments are allowed");
            }

            for (int i = 0; i < environments.Count; i++)
            {
                CheckEnvironment(ToEnvironment(environments[i], project.Id, i, change.Now), errors, ValidationErrors.Index("environments", i) + ".");
            }

            foreach (var duplicate in environments.GroupBy(e => e.Key).Where(g => g.Count() > 1))
            {
                errors.Add("environments", $"environment key \"{duplicate.Key}\" is used twice");
            }

            errors.ThrowIfAny();
            if (await change.Session.GetProjectAsync(project.Key).ConfigureAwait(false) is not null)
            {
                throw new ConflictException($"A project with key \"{project.Key}\" already exists.");
            }

            await change.Session.InsertProjectAsync(project).ConfigureAwait(false);
            await change.AuditAsync("project", project.Key, "created", null, ChangeRecorder.ToJson(project, DomainJson.Default.Project), project.Id).ConfigureAwait(false);
            for (int i = 0; i < environments.Count; i++)
            {
                var environment = ToEnvironment(environments[i], project.Id, environments[i].Position ?? i, change.Now);
                await change.Session.InsertEnvironmentAsync(environment).ConfigureAwait(false);
                await change.AuditAsync("environment", environment.Key, "created", null, ChangeRecorder.ToJson(environment, DomainJson.Default.ProjectEnvironment), project.Id, environment.Id).ConfigureAwait(false);
                await change.ConfigChangedAsync(environment.Id, [], always: true).ConfigureAwait(false);
            }

            return project;
        }, cancellationToken);

    public Task<Project> UpdateAsync(string projectKey, UpdateProjectRequest request, long expectedVersion, Actor actor, CancellationToken cancellationToken = default) =>
        ChangeAsync(projectKey, expectedVersion, actor, "updated", p => p with
        {
            Name = request.Name ?? p.Name,
            Description = request.Description ?? p.Description,
            StickinessProperty = request.StickinessProperty ?? p.StickinessProperty,
        }, cancellationToken);

    public Task<Project> ArchiveAsync(string projectKey, Actor actor, CancellationToken cancellationToken = default) =>
        ChangeAsync(projectKey, null, actor, "archived", p => p with { ArchivedAt = p.ArchivedAt ?? changes.Now }, cancellationToken);

    public Task<Project> RestoreAsync(string projectKey, Actor actor, CancellationToken cancellationToken = default) =>
        ChangeAsync(projectKey, null, actor, "restored", p => p with { ArchivedAt = null }, cancellationToken);

    private Task<Project> ChangeAsync(string projectKey, long? expectedVersion, Actor actor, string action, Func<Project, Project> apply, CancellationToken cancellationToken) =>
        WriteAsync(actor, async change =>
        {
            var s = change.Session;
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            if (expectedVersion is { } expected)
            {
                Lookups.CheckVersion(project.Version, expected, $"Project \"{project.Key}\"", project);
            }

            var updated = apply(project) with { UpdatedAt = change.Now };
            if (updated with { UpdatedAt = default } == project with { UpdatedAt = default })
            {
                return project;
            }

            var errors = new ValidationErrors();
            CheckProject(updated, errors);
            errors.ThrowIfAny();
            await s.UpdateProjectAsync(updated, project.Version).ConfigureAwait(false);
            updated = updated with { Version = project.Version + 1 };
            await change.AuditAsync("project", project.Key, action, ChangeRecorder.ToJson(project, DomainJson.Default.Project), ChangeRecorder.ToJson(updated, DomainJson.Default.Project), project.Id).ConfigureAwait(false);

            // The stickiness property is compiled into every split; archiving serves nothing.
            if (updated.StickinessProperty != project.StickinessProperty || updated.ArchivedAt != project.ArchivedAt)
            {
                var flags = (await s.ListAllFlagsAsync(project.Id).ConfigureAwait(false)).Select(f => f.Key).ToList();
                foreach (var environment in await s.ListEnvironmentsAsync(project.Id).ConfigureAwait(false))
                {
                    await change.ConfigChangedAsync(environment.Id, flags).ConfigureAwait(false);
                }
            }

            return updated;
        }, cancellationToken);

    /// <summary>Deletes an archived project with everything in it (its audit entries stay).</summary>
    public async Task DeleteAsync(string projectKey, long expectedVersion, Actor actor, CancellationToken cancellationToken = default)
    {
        await WriteAsync(actor, async change =>
        {
            var project = await change.Session.ProjectAsync(projectKey).ConfigureAwait(false);
            Lookups.CheckVersion(project.Version, expectedVersion, $"Project \"{project.Key}\"", project);
            if (project.ArchivedAt is null)
            {
                throw new ConflictException($"Project \"{project.Key}\" is active: archive it first, then delete it.", project);
            }

            await change.Session.DeleteProjectAsync(project.Id).ConfigureAwait(false);
            await KeysGoneAsync(change.Session).ConfigureAwait(false);
            await change.AuditAsync("project", project.Key, "deleted", ChangeRecorder.ToJson(project, DomainJson.Default.Project), null, project.Id).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        await revocations.KeysChangedAsync().ConfigureAwait(false);
    }

    public Task<IReadOnlyList<ProjectEnvironment>> ListEnvironmentsAsync(string projectKey, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async s => await s.ListEnvironmentsAsync((await s.ProjectAsync(projectKey).ConfigureAwait(false)).Id).ConfigureAwait(false), cancellationToken);

    public Task<ProjectEnvironment> GetEnvironmentAsync(string projectKey, string environmentKey, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async s => await s.EnvironmentAsync(await s.ProjectAsync(projectKey).ConfigureAwait(false), environmentKey).ConfigureAwait(false), cancellationToken);

    public Task<ProjectEnvironment> CreateEnvironmentAsync(string projectKey, CreateEnvironmentRequest request, Actor actor, CancellationToken cancellationToken = default) =>
        WriteAsync(actor, async change =>
        {
            var s = change.Session;
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var existing = await s.ListEnvironmentsAsync(project.Id).ConfigureAwait(false);
            var environment = ToEnvironment(request, project.Id, request.Position ?? (existing.Count == 0 ? 0 : existing.Max(e => e.Position) + 1), change.Now);
            var errors = new ValidationErrors();
            CheckEnvironment(environment, errors, "");
            if (existing.Count >= Limits.Environments)
            {
                errors.Add("", $"project \"{project.Key}\" has {existing.Count} environments; at most {Limits.Environments} are allowed");
            }

            errors.ThrowIfAny();
            if (existing.Any(e => e.Key == environment.Key))
            {
                throw new ConflictException($"Project \"{project.Key}\" already has an environment \"{environment.Key}\".");
            }

            await s.InsertEnvironmentAsync(environment).ConfigureAwait(false);

            // Every flag has targeting in every environment: new ones start off.
            var flags = await s.ListAllFlagsAsync(project.Id).ConfigureAwait(false);
            foreach (var flag in flags)
            {
                await s.InsertTargetingAsync(new Targeting
                {
                    FlagId = flag.Id,
                    EnvironmentId = environment.Id,
                    DefaultServe = FlagService.DefaultServe(flag),
                    UpdatedAt = change.Now,
                }).ConfigureAwait(false);
            }

            await change.AuditAsync("environment", environment.Key, "created", null, ChangeRecorder.ToJson(environment, DomainJson.Default.ProjectEnvironment), project.Id, environment.Id).ConfigureAwait(false);
            await change.ConfigChangedAsync(environment.Id, [.. flags.Select(f => f.Key)], always: true).ConfigureAwait(false);
            return environment with { Version = 1, ConfigVersion = 1 };
        }, cancellationToken);

    public Task<ProjectEnvironment> UpdateEnvironmentAsync(string projectKey, string environmentKey, UpdateEnvironmentRequest request, long expectedVersion, Actor actor, CancellationToken cancellationToken = default) =>
        WriteAsync(actor, async change =>
        {
            var s = change.Session;
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var environment = await s.EnvironmentAsync(project, environmentKey).ConfigureAwait(false);
            Lookups.CheckVersion(environment.Version, expectedVersion, $"Environment \"{environment.Key}\"", environment);
            var updated = environment with
            {
                Name = request.Name ?? environment.Name,
                Color = request.Color ?? environment.Color,
                Critical = request.Critical ?? environment.Critical,
                Position = request.Position ?? environment.Position,
                UpdatedAt = change.Now,
            };
            var errors = new ValidationErrors();
            CheckEnvironment(updated, errors, "");
            errors.ThrowIfAny();
            await s.UpdateEnvironmentAsync(updated, environment.Version).ConfigureAwait(false);
            updated = updated with { Version = environment.Version + 1 };
            await change.AuditAsync("environment", environment.Key, "updated", ChangeRecorder.ToJson(environment, DomainJson.Default.ProjectEnvironment), ChangeRecorder.ToJson(updated, DomainJson.Default.ProjectEnvironment), project.Id, environment.Id).ConfigureAwait(false);
            return updated;
        }, cancellationToken);

    /// <summary>Deletes an environment with its targeting and API keys (the last one cannot go).</summary>
    public async Task DeleteEnvironmentAsync(string projectKey, string environmentKey, long expectedVersion, Actor actor, CancellationToken cancellationToken = default)
    {
        await WriteAsync(actor, async change =>
        {
            var s = change.Session;
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var environment = await s.EnvironmentAsync(project, environmentKey).ConfigureAwait(false);
            Lookups.CheckVersion(environment.Version, expectedVersion, $"Environment \"{environment.Key}\"", environment);
            if ((await s.ListEnvironmentsAsync(project.Id).ConfigureAwait(false)).Count == 1)
            {
                throw new ConflictException($"\"{environment.Key}\" is the last environment of project \"{project.Key}\"; a project needs one.", environment);
            }

            await s.DeleteEnvironmentAsync(environment.Id).ConfigureAwait(false);
            await KeysGoneAsync(s).ConfigureAwait(false);
            await change.AuditAsync("environment", environment.Key, "deleted", ChangeRecorder.ToJson(environment, DomainJson.Default.ProjectEnvironment), null, project.Id, environment.Id).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        await revocations.KeysChangedAsync().ConfigureAwait(false);
    }

    // Deleting a project or an environment deletes its API keys: every node must stop accepting them.
    private static Task KeysGoneAsync(StoreSession session) => session.NotifyAsync(StoreSession.KeysChannel, "");

    internal static ProjectEnvironment ToEnvironment(CreateEnvironmentRequest request, string projectId, int position, DateTimeOffset now) => new()
    {
        Id = Lookups.NewId(),
        ProjectId = projectId,
        Key = request.Key,
        Name = request.Name,
        Color = request.Color ?? "#64748b",
        Critical = request.Critical ?? false,
        Position = position,
        Version = 1,
        CreatedAt = now,
        UpdatedAt = now,
    };

    internal static void CheckProject(Project project, ValidationErrors errors)
    {
        Limits.CheckKey(project.Key, "key", errors);
        Limits.CheckName(project.Name, "name", errors);
        Limits.CheckLength(project.Description, Limits.DescriptionLength, "description", errors);
        if (string.IsNullOrWhiteSpace(project.StickinessProperty))
        {
            errors.Add("stickinessProperty", "is required");
        }
        else
        {
            Limits.CheckPropertyName(project.StickinessProperty, "stickinessProperty", errors);
        }
    }

    internal static void CheckEnvironment(ProjectEnvironment environment, ValidationErrors errors, string prefix)
    {
        Limits.CheckKey(environment.Key, prefix + "key", errors);
        Limits.CheckName(environment.Name, prefix + "name", errors);
        if (!ColorPattern().IsMatch(environment.Color))
        {
            errors.Add(prefix + "color", $"\"{Limits.Truncate(environment.Color)}\" is not a colour: use #rrggbb");
        }

        if (environment.Position is < 0 or > 10_000)
        {
            errors.Add(prefix + "position", string.Create(CultureInfo.InvariantCulture, $"must be between 0 and 10000, not {environment.Position}"));
        }
    }

    [GeneratedRegex("^#[0-9a-fA-F]{6}$")]
    private static partial Regex ColorPattern();
}
