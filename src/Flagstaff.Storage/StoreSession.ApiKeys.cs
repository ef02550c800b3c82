using Flagstaff.Domain;

namespace Flagstaff.Storage;

public sealed partial class StoreSession
{
    private sealed class ApiKeyRow
    {
        public string Id { get; set; } = "";

        public string ProjectId { get; set; } = "";

        public string EnvironmentId { get; set; } = "";

        public string Name { get; set; } = "";

        public string Kind { get; set; } = "";

        public string Prefix { get; set; } = "";

        public long CreatedAt { get; set; }

        public string? CreatedBy { get; set; }

        public long? LastUsedAt { get; set; }

        public long? RevokedAt { get; set; }

        public string KeyHash { get; set; } = "";

        public ApiKey ToKey() => new()
        {
            Id = Id,
            ProjectId = ProjectId,
            EnvironmentId = EnvironmentId,
            Name = Name,
            Kind = ParseEnum(Kind, DomainJson.Default.ApiKeyKind),
            Prefix = Prefix,
            CreatedAt = At(CreatedAt),
            CreatedBy = CreatedBy,
            LastUsedAt = At(LastUsedAt),
            RevokedAt = At(RevokedAt),
        };
    }

    private const string ApiKeyColumns = "id, project_id, environment_id, name, kind, prefix, created_at, created_by, last_used_at, revoked_at, key_hash";

    /// <summary>Creates an API key (only its hash is stored).</summary>
    public Task InsertApiKeyAsync(ApiKey key, string keyHash) => ExecuteAsync(
        $"INSERT INTO api_keys ({ApiKeyColumns}) VALUES (@Id, @ProjectId, @EnvironmentId, @Name, @kind, @Prefix, @created, @CreatedBy, NULL, NULL, @keyHash)",
        new { key.Id, key.ProjectId, key.EnvironmentId, key.Name, kind = EnumName(key.Kind, DomainJson.Default.ApiKeyKind), key.Prefix, created = Ms(key.CreatedAt), key.CreatedBy, keyHash });

    /// <summary>Lists an environment's keys, newest first.</summary>
    public async Task<IReadOnlyList<ApiKey>> ListApiKeysAsync(string environmentId) =>
        [.. (await QueryAsync<ApiKeyRow>($"SELECT {ApiKeyColumns} FROM api_keys WHERE environment_id = @environmentId ORDER BY created_at DESC, id", new { environmentId }).ConfigureAwait(false)).Select(r => r.ToKey())];

    /// <summary>Lists every key that is not revoked, with its hash (to authenticate requests from memory).</summary>
    public async Task<IReadOnlyList<(ApiKey Key, string Hash)>> ListActiveApiKeysAsync() =>
        [.. (await QueryAsync<ApiKeyRow>($"SELECT {ApiKeyColumns} FROM api_keys WHERE revoked_at IS NULL").ConfigureAwait(false)).Select(r => (r.ToKey(), r.KeyHash))];

    /// <summary>Finds a key by the hash of its secret.</summary>
    public async Task<ApiKey?> FindApiKeyAsync(string keyHash) =>
        (await QuerySingleAsync<ApiKeyRow>($"SELECT {ApiKeyColumns} FROM api_keys WHERE key_hash = @keyHash", new { keyHash }).ConfigureAwait(false))?.ToKey();

    /// <summary>Finds a key of an environment by id.</summary>
    public async Task<ApiKey?> GetApiKeyAsync(string environmentId, string id) =>
        (await QuerySingleAsync<ApiKeyRow>($"SELECT {ApiKeyColumns} FROM api_keys WHERE environment_id = @environmentId AND id = @id", new { environmentId, id }).ConfigureAwait(false))?.ToKey();

    /// <summary>Revokes a key; false when it was already revoked.</summary>
    public async Task<bool> RevokeApiKeyAsync(string id, DateTimeOffset at) =>
        await ExecuteAsync("UPDATE api_keys SET revoked_at = @at WHERE id = @id AND revoked_at IS NULL", new { id, at = Ms(at) }).ConfigureAwait(false) > 0;

    /// <summary>Records when keys were last used.</summary>
    public async Task TouchApiKeysAsync(IReadOnlyCollection<string> ids, DateTimeOffset at)
    {
        foreach (var id in ids)
        {
            await ExecuteAsync("UPDATE api_keys SET last_used_at = @at WHERE id = @id", new { id, at = Ms(at) }).ConfigureAwait(false);
        }
    }
}
