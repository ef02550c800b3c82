using System.Globalization;
using Dapper;
using Flagstaff.Domain;

namespace Flagstaff.Storage;

public sealed partial class StoreSession
{
    private sealed class ContextPropertyRow
    {
        public string Id { get; set; } = "";

        public string ProjectId { get; set; } = "";

        public string Key { get; set; } = "";

        public string Name { get; set; } = "";

        public string? Description { get; set; }

        public string Type { get; set; } = "";

        public string Options { get; set; } = "[]";

        public long Hidden { get; set; }

        public long Version { get; set; }

        public long CreatedAt { get; set; }

        public long UpdatedAt { get; set; }

        public long? FirstSeen { get; set; }

        public long? LastSeen { get; set; }

        public long Learned { get; set; }

        public ContextProperty ToProperty() => new()
        {
            Id = Id,
            ProjectId = ProjectId,
            Key = Key,
            Name = Name,
            Description = Description,
            Type = ParseEnum(Type, DomainJson.Default.PropertyType),
            Options = FromJson(Options, DomainJson.Default.IReadOnlyListString),
            Hidden = Hidden != 0,
            Version = Version,
            CreatedAt = At(CreatedAt),
            UpdatedAt = At(UpdatedAt),
            FirstSeen = At(FirstSeen),
            LastSeen = At(LastSeen),
            Learned = Learned != 0,
        };
    }

    private const string PropertyColumns = "id, project_id, key, name, description, type, options, hidden, version, created_at, updated_at, first_seen, last_seen, learned";

    /// <summary>Lists a project's context properties by key.</summary>
    public async Task<IReadOnlyList<ContextProperty>> ListContextPropertiesAsync(string projectId) =>
        [.. (await QueryAsync<ContextPropertyRow>($"SELECT {PropertyColumns} FROM context_properties WHERE project_id = @projectId ORDER BY key", new { projectId }).ConfigureAwait(false)).Select(r => r.ToProperty())];

    /// <summary>A page of a project's context properties by key, with how many match.</summary>
    public async Task<Page<ContextProperty>> ListContextPropertiesAsync(string projectId, PropertyQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var (filter, parameters) = PropertyFilter(projectId, query);
        long total = await ScalarAsync<long>($"SELECT COUNT(*) FROM context_properties WHERE {filter}", parameters).ConfigureAwait(false);
        parameters.Add("limit", query.Limit);
        parameters.Add("offset", query.Offset);
        var rows = await QueryAsync<ContextPropertyRow>(
            $"SELECT {PropertyColumns} FROM context_properties WHERE {filter} ORDER BY key LIMIT @limit OFFSET @offset", parameters).ConfigureAwait(false);
        return new Page<ContextProperty>([.. rows.Select(r => r.ToProperty())], total);
    }

    /// <summary>Every context property of a project that matches a query (its offset and limit ignored), by key.</summary>
    public async Task<IReadOnlyList<ContextProperty>> FindContextPropertiesAsync(string projectId, PropertyQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var (filter, parameters) = PropertyFilter(projectId, query);
        return [.. (await QueryAsync<ContextPropertyRow>($"SELECT {PropertyColumns} FROM context_properties WHERE {filter} ORDER BY key", parameters).ConfigureAwait(false)).Select(r => r.ToProperty())];
    }

    private static (string Filter, DynamicParameters Parameters) PropertyFilter(string projectId, PropertyQuery query)
    {
        var where = new List<string> { "project_id = @projectId" };
        var parameters = new DynamicParameters();
        parameters.Add("projectId", projectId);
        if (!string.IsNullOrWhiteSpace(query.Search))
        {
            where.Add("(lower(key) LIKE @search ESCAPE '\\' OR lower(name) LIKE @search ESCAPE '\\' OR lower(coalesce(description, '')) LIKE @search ESCAPE '\\')");
            parameters.Add("search", "%" + EscapeLike(query.Search.Trim().ToLowerInvariant()) + "%");
        }

        if (query.Learned is bool learned)
        {
            where.Add(learned ? "learned = 1" : "learned = 0");
        }

        if (query.Keys is { } keys)
        {
            // Named parameters one by one: Dapper hands a list to Npgsql as one array, which IN does not take.
            where.Add(keys.Count == 0 ? "1 = 0" : "key IN (" + string.Join(", ", keys.Select((_, i) => "@key" + i.ToString(CultureInfo.InvariantCulture))) + ")");
            for (int i = 0; i < keys.Count; i++)
            {
                parameters.Add("key" + i.ToString(CultureInfo.InvariantCulture), keys[i]);
            }
        }

        return (string.Join(" AND ", where), parameters);
    }

    /// <summary>Finds a context property of a project by key.</summary>
    public async Task<ContextProperty?> GetContextPropertyAsync(string projectId, string key) =>
        (await QuerySingleAsync<ContextPropertyRow>($"SELECT {PropertyColumns} FROM context_properties WHERE project_id = @projectId AND key = @key", new { projectId, key }).ConfigureAwait(false))?.ToProperty();

    /// <summary>Creates a context property.</summary>
    public Task InsertContextPropertyAsync(ContextProperty property) => ExecuteAsync(
        $"INSERT INTO context_properties ({PropertyColumns}) VALUES (@Id, @ProjectId, @Key, @Name, @Description, @type, @options, @hidden, 1, @created, @created, NULL, NULL, 0)",
        new
        {
            property.Id,
            property.ProjectId,
            property.Key,
            property.Name,
            property.Description,
            type = EnumName(property.Type, DomainJson.Default.PropertyType),
            options = Json(property.Options, DomainJson.Default.IReadOnlyListString),
            hidden = property.Hidden ? 1 : 0,
            created = Ms(property.CreatedAt),
        });

    /// <summary>
    /// Updates a context property if it is still at <paramref name="expectedVersion"/>. A property
    /// learned from reports that a person changes is theirs from then on: it no longer counts as learned.
    /// </summary>
    public async Task UpdateContextPropertyAsync(ContextProperty property, long expectedVersion) => Expect(await ExecuteAsync(
        "UPDATE context_properties SET name = @Name, description = @Description, type = @type, options = @options, hidden = @hidden, updated_at = @updated, version = version + 1, learned = 0 " +
        "WHERE id = @Id AND version = @expectedVersion",
        new
        {
            property.Name,
            property.Description,
            type = EnumName(property.Type, DomainJson.Default.PropertyType),
            options = Json(property.Options, DomainJson.Default.IReadOnlyListString),
            hidden = property.Hidden ? 1 : 0,
            updated = Ms(property.UpdatedAt),
            property.Id,
            expectedVersion,
        }).ConfigureAwait(false), $"Context property \"{property.Key}\"");

    /// <summary>Deletes a context property, and the values remembered for it.</summary>
    public async Task DeleteContextPropertyAsync(ContextProperty property)
    {
        ArgumentNullException.ThrowIfNull(property);
        await ExecuteAsync("DELETE FROM context_values WHERE project_id = @ProjectId AND property = @Key", new { property.ProjectId, property.Key }).ConfigureAwait(false);
        await ExecuteAsync("DELETE FROM context_properties WHERE id = @Id", new { property.Id }).ConfigureAwait(false);
    }
}
