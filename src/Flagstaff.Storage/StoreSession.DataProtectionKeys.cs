namespace Flagstaff.Storage;

public sealed partial class StoreSession
{
    /// <summary>Lists the stored data-protection key documents.</summary>
    public async Task<IReadOnlyList<string>> ListDataProtectionKeysAsync() =>
        await QueryAsync<string>("SELECT xml FROM data_protection_keys ORDER BY created_at").ConfigureAwait(false);

    /// <summary>Replaces a stored data-protection key document (to re-encrypt it).</summary>
    public Task UpdateDataProtectionKeyAsync(string id, string xml) =>
        ExecuteAsync("UPDATE data_protection_keys SET xml = @xml WHERE id = @id", new { id, xml });

    /// <summary>Lists the stored data-protection key documents with their ids.</summary>
    public async Task<IReadOnlyList<(string Id, string Xml)>> ListDataProtectionKeyRowsAsync() =>
        [.. (await QueryAsync<(string, string)>("SELECT id, xml FROM data_protection_keys ORDER BY created_at").ConfigureAwait(false))];

    /// <summary>Stores a data-protection key document.</summary>
    public Task InsertDataProtectionKeyAsync(string id, string xml, DateTimeOffset at) =>
        ExecuteAsync("INSERT INTO data_protection_keys (id, xml, created_at) VALUES (@id, @xml, @at) ON CONFLICT (id) DO NOTHING", new { id, xml, at = Ms(at) });
}
