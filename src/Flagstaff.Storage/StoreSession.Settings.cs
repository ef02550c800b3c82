namespace Flagstaff.Storage;

public sealed partial class StoreSession
{
    /// <summary>Reads a server setting.</summary>
    public Task<string?> GetSettingAsync(string key) => QuerySingleAsync<string>("SELECT value FROM settings WHERE key = @key", new { key });

    /// <summary>Sets a server setting.</summary>
    public Task SetSettingAsync(string key, string value) => ExecuteAsync(
        "INSERT INTO settings (key, value) VALUES (@key, @value) ON CONFLICT (key) DO UPDATE SET value = excluded.value", new { key, value });

    /// <summary>Sets a server setting unless it is set, and returns the value in force.</summary>
    public async Task<string> GetOrAddSettingAsync(string key, string value)
    {
        await ExecuteAsync("INSERT INTO settings (key, value) VALUES (@key, @value) ON CONFLICT (key) DO NOTHING", new { key, value }).ConfigureAwait(false);
        return (await GetSettingAsync(key).ConfigureAwait(false))!;
    }

    /// <summary>Deletes a server setting.</summary>
    public Task DeleteSettingAsync(string key) => ExecuteAsync("DELETE FROM settings WHERE key = @key", new { key });
}
