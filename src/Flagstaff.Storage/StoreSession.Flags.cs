using System.Text.Json;
using Flagstaff.Domain;

namespace Flagstaff.Storage;

public sealed partial class StoreSession
{
    private sealed class FlagRow
    {
        public string Id { get; set; } = "";

        public string ProjectId { get; set; } = "";

        public string Key { get; set; } = "";

        public string Name { get; set; } = "";

        public string? Description { get; set; }

        public string Kind { get; set; } = "";

        public string ValueType { get; set; } = "";

        public string Tags { get; set; } = "[]";

        public string Variations { get; set; } = "[]";

        public long Seed { get; set; }

        public long Version { get; set; }

        public long Revision { get; set; }

        public long CreatedAt { get; set; }

        public long UpdatedAt { get; set; }

        public long? ArchivedAt { get; set; }

        public string? Migration { get; set; }

        public Flag ToFlag() => new()
        {
            Id = Id,
            ProjectId = ProjectId,
            Key = Key,
            Name = Name,
            Description = Description,
            Kind = ParseEnum(Kind, DomainJson.Default.FlagKind),
            ValueType = ParseEnum(ValueType, DomainJson.Default.FlagValueType),
            Tags = FromJson(Tags, DomainJson.Default.IReadOnlyListString),
            Variations = FromJson(Variations, DomainJson.Default.IReadOnlyListVariation),
            Migration = Migration is null ? null : FromJson(Migration, DomainJson.Default.MigrationSettings),
            Seed = (uint)Seed,
            Version = Version,
            Revision = Revision,
            CreatedAt = At(CreatedAt),
            UpdatedAt = At(UpdatedAt),
            ArchivedAt = At(ArchivedAt),
        };
    }

    private const string FlagColumns = "id, project_id, key, name, description, kind, value_type, tags, variations, seed, version, revision, created_at, updated_at, archived_at, migration";

    /// <summary>Lists a project's flags by key, filtered and paged.</summary>
    public async Task<Page<Flag>> ListFlagsAsync(string projectId, FlagQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var where = new List<string> { "project_id = @projectId" };
        if (!string.IsNullOrWhiteSpace(query.Search))
        {
            where.Add("(lower(key) LIKE @search ESCAPE '\\' OR lower(name) LIKE @search ESCAPE '\\' OR lower(coalesce(description, '')) LIKE @search ESCAPE '\\')");
        }

        if (query.Tag is not null)
        {
            where.Add("tags LIKE @tag ESCAPE '\\'");
        }

        if (query.Kind is not null)
        {
            where.Add("kind = @kind");
        }

        if (query.Archived is bool archived)
        {
            where.Add(archived ? "archived_at IS NOT NULL" : "archived_at IS NULL");
        }

        var parameters = new
        {
            projectId,
            search = "%" + EscapeLike(query.Search?.Trim().ToLowerInvariant() ?? "") + "%",
            tag = "%" + EscapeLike(JsonSerializer.Serialize(query.Tag ?? "", DomainJson.Default.String)) + "%",
            kind = query.Kind is { } k ? EnumName(k, DomainJson.Default.FlagKind) : null,
            offset = query.Offset,
            limit = query.Limit,
        };
        string filter = string.Join(" AND ", where);
        long total = await ScalarAsync<long>($"SELECT COUNT(*) FROM flags WHERE {filter}", parameters).ConfigureAwait(false);
        var rows = await QueryAsync<FlagRow>($"SELECT {FlagColumns} FROM flags WHERE {filter} ORDER BY key LIMIT @limit OFFSET @offset", parameters).ConfigureAwait(false);
        return new Page<Flag>([.. rows.Select(r => r.ToFlag())], total);
    }

    /// <summary>Lists every flag of a project (archived included).</summary>
    public async Task<IReadOnlyList<Flag>> ListAllFlagsAsync(string projectId) =>
        [.. (await QueryAsync<FlagRow>($"SELECT {FlagColumns} FROM flags WHERE project_id = @projectId ORDER BY key", new { projectId }).ConfigureAwait(false)).Select(r => r.ToFlag())];

    /// <summary>Finds a flag of a project by key.</summary>
    public async Task<Flag?> GetFlagAsync(string projectId, string key) =>
        (await QuerySingleAsync<FlagRow>($"SELECT {FlagColumns} FROM flags WHERE project_id = @projectId AND key = @key", new { projectId, key }).ConfigureAwait(false))?.ToFlag();

    /// <summary>Finds a flag by id.</summary>
    public async Task<Flag?> GetFlagByIdAsync(string id) =>
        (await QuerySingleAsync<FlagRow>($"SELECT {FlagColumns} FROM flags WHERE id = @id", new { id }).ConfigureAwait(false))?.ToFlag();

    /// <summary>Creates a flag (at version 1, revision 1).</summary>
    public Task InsertFlagAsync(Flag flag) => ExecuteAsync(
        $"INSERT INTO flags ({FlagColumns}) VALUES (@Id, @ProjectId, @Key, @Name, @Description, @kind, @valueType, @tags, @variations, @seed, 1, 1, @created, @created, @archived, @migration)",
        new
        {
            flag.Id,
            flag.ProjectId,
            flag.Key,
            flag.Name,
            flag.Description,
            kind = EnumName(flag.Kind, DomainJson.Default.FlagKind),
            valueType = EnumName(flag.ValueType, DomainJson.Default.FlagValueType),
            tags = Json(flag.Tags, DomainJson.Default.IReadOnlyListString),
            variations = Json(flag.Variations, DomainJson.Default.IReadOnlyListVariation),
            seed = (long)flag.Seed,
            created = Ms(flag.CreatedAt),
            archived = Ms(flag.ArchivedAt),
            migration = MigrationJson(flag.Migration),
        });

    private static string? MigrationJson(MigrationSettings? settings) => settings is null ? null : Json(settings, DomainJson.Default.MigrationSettings);

    /// <summary>
    /// Updates a flag's settings if they are still at <paramref name="expectedVersion"/>; the version and
    /// the revision both go up.
    /// </summary>
    public async Task UpdateFlagAsync(Flag flag, long expectedVersion) => Expect(await ExecuteAsync(
        "UPDATE flags SET name = @Name, description = @Description, kind = @kind, value_type = @valueType, tags = @tags, variations = @variations, archived_at = @archived, migration = @migration, " +
        "updated_at = @updated, version = version + 1, revision = revision + 1 WHERE id = @Id AND version = @expectedVersion",
        new
        {
            flag.Name,
            flag.Description,
            kind = EnumName(flag.Kind, DomainJson.Default.FlagKind),
            valueType = EnumName(flag.ValueType, DomainJson.Default.FlagValueType),
            tags = Json(flag.Tags, DomainJson.Default.IReadOnlyListString),
            variations = Json(flag.Variations, DomainJson.Default.IReadOnlyListVariation),
            archived = Ms(flag.ArchivedAt),
            migration = MigrationJson(flag.Migration),
            updated = Ms(flag.UpdatedAt),
            flag.Id,
            expectedVersion,
        }).ConfigureAwait(false), $"Flag \"{flag.Key}\"");

    /// <summary>Increments a flag's revision (its targeting changed somewhere) and returns the new one.</summary>
    public async Task<long> BumpFlagRevisionAsync(string flagId, DateTimeOffset at) =>
        await ScalarAsync<long>("UPDATE flags SET revision = revision + 1, updated_at = @at WHERE id = @flagId RETURNING revision", new { flagId, at = Ms(at) }).ConfigureAwait(false);

    /// <summary>Deletes a flag with its targeting.</summary>
    public Task DeleteFlagAsync(string id) => ExecuteAsync("DELETE FROM flags WHERE id = @id", new { id });
}
