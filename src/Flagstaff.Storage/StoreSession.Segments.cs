using Flagstaff.Domain;

namespace Flagstaff.Storage;

public sealed partial class StoreSession
{
    private sealed class SegmentRow
    {
        public string Id { get; set; } = "";

        public string ProjectId { get; set; } = "";

        public string Key { get; set; } = "";

        public string Name { get; set; } = "";

        public string? Description { get; set; }

        public string Clauses { get; set; } = "[]";

        public string? IdProperty { get; set; }

        public string Ids { get; set; } = "[]";

        public long Version { get; set; }

        public long CreatedAt { get; set; }

        public long UpdatedAt { get; set; }

        public Segment ToSegment() => new()
        {
            Id = Id,
            ProjectId = ProjectId,
            Key = Key,
            Name = Name,
            Description = Description,
            Clauses = FromJson(Clauses, DomainJson.Default.IReadOnlyListClause),
            IdProperty = IdProperty,
            Ids = FromJson(Ids, DomainJson.Default.IReadOnlyListString),
            Version = Version,
            CreatedAt = At(CreatedAt),
            UpdatedAt = At(UpdatedAt),
        };
    }

    private const string SegmentColumns = "id, project_id, key, name, description, clauses, id_property, ids, version, created_at, updated_at";

    /// <summary>Lists a project's segments by key.</summary>
    public async Task<IReadOnlyList<Segment>> ListSegmentsAsync(string projectId) =>
        [.. (await QueryAsync<SegmentRow>($"SELECT {SegmentColumns} FROM segments WHERE project_id = @projectId ORDER BY key", new { projectId }).ConfigureAwait(false)).Select(r => r.ToSegment())];

    /// <summary>A project's segments by key (what the compiler inlines and validation checks against).</summary>
    public async Task<IReadOnlyDictionary<string, Segment>> SegmentsByKeyAsync(Project project) =>
        (await ListSegmentsAsync(project.Id).ConfigureAwait(false)).ToDictionary(s => s.Key, StringComparer.Ordinal);

    /// <summary>Finds a segment of a project by key.</summary>
    public async Task<Segment?> GetSegmentAsync(string projectId, string key) =>
        (await QuerySingleAsync<SegmentRow>($"SELECT {SegmentColumns} FROM segments WHERE project_id = @projectId AND key = @key", new { projectId, key }).ConfigureAwait(false))?.ToSegment();

    /// <summary>Creates a segment.</summary>
    public Task InsertSegmentAsync(Segment segment) => ExecuteAsync(
        $"INSERT INTO segments ({SegmentColumns}) VALUES (@Id, @ProjectId, @Key, @Name, @Description, @clauses, @IdProperty, @ids, 1, @created, @created)",
        new
        {
            segment.Id,
            segment.ProjectId,
            segment.Key,
            segment.Name,
            segment.Description,
            clauses = Json(segment.Clauses, DomainJson.Default.IReadOnlyListClause),
            segment.IdProperty,
            ids = Json(segment.Ids, DomainJson.Default.IReadOnlyListString),
            created = Ms(segment.CreatedAt),
        });

    /// <summary>Updates a segment if it is still at <paramref name="expectedVersion"/>.</summary>
    public async Task UpdateSegmentAsync(Segment segment, long expectedVersion) => Expect(await ExecuteAsync(
        "UPDATE segments SET name = @Name, description = @Description, clauses = @clauses, id_property = @IdProperty, ids = @ids, updated_at = @updated, version = version + 1 " +
        "WHERE id = @Id AND version = @expectedVersion",
        new
        {
            segment.Name,
            segment.Description,
            clauses = Json(segment.Clauses, DomainJson.Default.IReadOnlyListClause),
            segment.IdProperty,
            ids = Json(segment.Ids, DomainJson.Default.IReadOnlyListString),
            updated = Ms(segment.UpdatedAt),
            segment.Id,
            expectedVersion,
        }).ConfigureAwait(false), $"Segment \"{segment.Key}\"");

    /// <summary>Deletes a segment.</summary>
    public Task DeleteSegmentAsync(string id) => ExecuteAsync("DELETE FROM segments WHERE id = @id", new { id });
}
