using Flagstaff.Domain;

namespace Flagstaff.Storage;

public sealed partial class StoreSession
{
    private sealed class EnvironmentRow
    {
        public string Id { get; set; } = "";

        public string ProjectId { get; set; } = "";

        public string Key { get; set; } = "";

        public string Name { get; set; } = "";

        public string Color { get; set; } = "";

        public long Position { get; set; }

        public long Critical { get; set; }

        public long Version { get; set; }

        public long ConfigVersion { get; set; }

        public long CreatedAt { get; set; }

        public long UpdatedAt { get; set; }

        public ProjectEnvironment ToEnvironment() => new()
        {
            Id = Id,
            ProjectId = ProjectId,
            Key = Key,
            Name = Name,
            Color = Color,
            Position = (int)Position,
            Critical = Critical != 0,
            Version = Version,
            ConfigVersion = ConfigVersion,
            CreatedAt = At(CreatedAt),
            UpdatedAt = At(UpdatedAt),
        };
    }

    private const string EnvironmentColumns = "id, project_id, key, name, color, position, critical, version, config_version, created_at, updated_at";

    /// <summary>Lists a project's environments in display order.</summary>
    public async Task<IReadOnlyList<ProjectEnvironment>> ListEnvironmentsAsync(string projectId) =>
        [.. (await QueryAsync<EnvironmentRow>($"SELECT {EnvironmentColumns} FROM environments WHERE project_id = @projectId ORDER BY position, key", new { projectId }).ConfigureAwait(false)).Select(r => r.ToEnvironment())];

    /// <summary>Lists every environment of every project.</summary>
    public async Task<IReadOnlyList<ProjectEnvironment>> ListAllEnvironmentsAsync() =>
        [.. (await QueryAsync<EnvironmentRow>($"SELECT {EnvironmentColumns} FROM environments ORDER BY project_id, position").ConfigureAwait(false)).Select(r => r.ToEnvironment())];

    /// <summary>Finds an environment of a project by key.</summary>
    public async Task<ProjectEnvironment?> GetEnvironmentAsync(string projectId, string key) =>
        (await QuerySingleAsync<EnvironmentRow>($"SELECT {EnvironmentColumns} FROM environments WHERE project_id = @projectId AND key = @key", new { projectId, key }).ConfigureAwait(false))?.ToEnvironment();

    /// <summary>Finds an environment by id.</summary>
    public async Task<ProjectEnvironment?> GetEnvironmentByIdAsync(string id) =>
        (await QuerySingleAsync<EnvironmentRow>($"SELECT {EnvironmentColumns} FROM environments WHERE id = @id", new { id }).ConfigureAwait(false))?.ToEnvironment();

    /// <summary>Creates an environment.</summary>
    public Task InsertEnvironmentAsync(ProjectEnvironment environment) => ExecuteAsync(
        $"INSERT INTO environments ({EnvironmentColumns}) VALUES (@Id, @ProjectId, @Key, @Name, @Color, @Position, @critical, 1, 0, @created, @created)",
        new { environment.Id, environment.ProjectId, environment.Key, environment.Name, environment.Color, environment.Position, critical = environment.Critical ? 1 : 0, created = Ms(environment.CreatedAt) });

    /// <summary>Updates an environment if it is still at <paramref name="expectedVersion"/>.</summary>
    public async Task UpdateEnvironmentAsync(ProjectEnvironment environment, long expectedVersion) => Expect(await ExecuteAsync(
        "UPDATE environments SET name = @Name, color = @Color, position = @Position, critical = @critical, updated_at = @updated, version = version + 1 WHERE id = @Id AND version = @expectedVersion",
        new { environment.Name, environment.Color, environment.Position, critical = environment.Critical ? 1 : 0, updated = Ms(environment.UpdatedAt), environment.Id, expectedVersion }).ConfigureAwait(false), $"Environment \"{environment.Key}\"");

    /// <summary>Deletes an environment with its targeting and keys.</summary>
    public Task DeleteEnvironmentAsync(string id) => ExecuteAsync("DELETE FROM environments WHERE id = @id", new { id });

    /// <summary>
    /// Records that flags of an environment's compiled configuration changed: increments its
    /// configuration version and keeps the list (for streams that resume), in this transaction.
    /// </summary>
    public async Task<ConfigChange> RecordConfigChangeAsync(string environmentId, IReadOnlyList<string> changedFlagKeys, DateTimeOffset at)
    {
        long version = (await ScalarAsync<long>(
            "UPDATE environments SET config_version = config_version + 1 WHERE id = @environmentId RETURNING config_version", new { environmentId }).ConfigureAwait(false));
        await ExecuteAsync("INSERT INTO config_changes (environment_id, version, changed, at) VALUES (@environmentId, @version, @changed, @at)",
            new { environmentId, version, changed = Json(changedFlagKeys, DomainJson.Default.IReadOnlyListString), at = Ms(at) }).ConfigureAwait(false);
        return new ConfigChange(environmentId, version, changedFlagKeys, at);
    }

    private sealed class ConfigChangeRow
    {
        public string EnvironmentId { get; set; } = "";

        public long Version { get; set; }

        public string Changed { get; set; } = "[]";

        public long At { get; set; }
    }

    /// <summary>Lists an environment's configuration changes after a version, oldest first.</summary>
    public async Task<IReadOnlyList<ConfigChange>> ListConfigChangesAsync(string environmentId, long afterVersion) =>
        [.. (await QueryAsync<ConfigChangeRow>("SELECT environment_id, version, changed, at FROM config_changes WHERE environment_id = @environmentId AND version > @afterVersion ORDER BY version",
            new { environmentId, afterVersion }).ConfigureAwait(false))
            .Select(r => new ConfigChange(r.EnvironmentId, r.Version, FromJson(r.Changed, DomainJson.Default.IReadOnlyListString), At(r.At)))];

    /// <summary>Deletes configuration changes older than an instant (keeping each environment's history bounded).</summary>
    public Task PruneConfigChangesAsync(DateTimeOffset olderThan) => ExecuteAsync("DELETE FROM config_changes WHERE at < @at", new { at = Ms(olderThan) });
}
