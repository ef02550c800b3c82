using Flagstaff.Domain;

namespace Flagstaff.Storage;

public sealed partial class StoreSession
{
    private sealed class ProjectRow
    {
        public string Id { get; set; } = "";

        public string Key { get; set; } = "";

        public string Name { get; set; } = "";

        public string? Description { get; set; }

        public string StickinessProperty { get; set; } = "";

        public long Version { get; set; }

        public long CreatedAt { get; set; }

        public long UpdatedAt { get; set; }

        public long? ArchivedAt { get; set; }

        public Project ToProject() => new()
        {
            Id = Id,
            Key = Key,
            Name = Name,
            Description = Description,
            StickinessProperty = StickinessProperty,
            Version = Version,
            CreatedAt = At(CreatedAt),
            UpdatedAt = At(UpdatedAt),
            ArchivedAt = At(ArchivedAt),
        };
    }

    private const string ProjectColumns = "id, key, name, description, stickiness_property, version, created_at, updated_at, archived_at";

    /// <summary>Lists projects by name (archived ones only when asked).</summary>
    public async Task<IReadOnlyList<Project>> ListProjectsAsync(bool includeArchived = false) =>
        [.. (await QueryAsync<ProjectRow>($"SELECT {ProjectColumns} FROM projects {(includeArchived ? "" : "WHERE archived_at IS NULL")} ORDER BY name, key").ConfigureAwait(false)).Select(r => r.ToProject())];

    /// <summary>Finds a project by key.</summary>
    public async Task<Project?> GetProjectAsync(string key) =>
        (await QuerySingleAsync<ProjectRow>($"SELECT {ProjectColumns} FROM projects WHERE key = @key", new { key }).ConfigureAwait(false))?.ToProject();

    /// <summary>Finds a project by id.</summary>
    public async Task<Project?> GetProjectByIdAsync(string id) =>
        (await QuerySingleAsync<ProjectRow>($"SELECT {ProjectColumns} FROM projects WHERE id = @id", new { id }).ConfigureAwait(false))?.ToProject();

    /// <summary>Creates a project.</summary>
    public Task InsertProjectAsync(Project project) => ExecuteAsync(
        $"INSERT INTO projects ({ProjectColumns}) VALUES (@Id, @Key, @Name, @Description, @StickinessProperty, 1, @created, @created, NULL)",
        new { project.Id, project.Key, project.Name, project.Description, project.StickinessProperty, created = Ms(project.CreatedAt) });

    /// <summary>Updates a project if it is still at <paramref name="expectedVersion"/>.</summary>
    public async Task UpdateProjectAsync(Project project, long expectedVersion) => Expect(await ExecuteAsync(
        "UPDATE projects SET name = @Name, description = @Description, stickiness_property = @StickinessProperty, archived_at = @archived, updated_at = @updated, version = version + 1 WHERE id = @Id AND version = @expectedVersion",
        new { project.Name, project.Description, project.StickinessProperty, archived = Ms(project.ArchivedAt), updated = Ms(project.UpdatedAt), project.Id, expectedVersion }).ConfigureAwait(false), $"Project \"{project.Key}\"");

    /// <summary>Deletes a project and everything in it.</summary>
    public Task DeleteProjectAsync(string id) => ExecuteAsync("DELETE FROM projects WHERE id = @id", new { id });
}
