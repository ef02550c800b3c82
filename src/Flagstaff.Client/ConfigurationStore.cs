using System.Security.Cryptography;
using System.Text;
using Flagstaff.Client.Internal;

namespace Flagstaff.Client;

/// <summary>A configuration as the client keeps it between runs: the flags in the wire format and the version they are at.</summary>
public sealed class StoredConfiguration
{
    /// <summary>Creates one.</summary>
    /// <param name="version">The server's configuration version, or null when unknown (a bootstrap file).</param>
    /// <param name="flagsJson">The flags: a UTF-8 JSON array in the format of <c>GET /config</c>.</param>
    /// <param name="savedAt">When it was received from the server.</param>
    public StoredConfiguration(long? version, ReadOnlyMemory<byte> flagsJson, DateTimeOffset savedAt)
    {
        Version = version;
        FlagsJson = flagsJson;
        SavedAt = savedAt;
    }

    /// <summary>The server's configuration version, or null when unknown.</summary>
    public long? Version { get; }

    /// <summary>The flags: a UTF-8 JSON array in the format of <c>GET /config</c>.</summary>
    public ReadOnlyMemory<byte> FlagsJson { get; }

    /// <summary>When it was received from the server.</summary>
    public DateTimeOffset SavedAt { get; }
}

/// <summary>
/// Keeps the last good configuration so that a client can start when the server is unreachable. The
/// default is <see cref="FileConfigurationStore"/>; implement this to keep it elsewhere (a shared volume,
/// a cache service). Methods may throw: the client logs the failure and goes on.
/// </summary>
public interface IConfigurationStore
{
    /// <summary>Reads the last saved configuration, or null when there is none.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    Task<StoredConfiguration?> LoadAsync(CancellationToken cancellationToken);

    /// <summary>Saves a configuration, replacing the previous one.</summary>
    /// <param name="configuration">What to save.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    Task SaveAsync(StoredConfiguration configuration, CancellationToken cancellationToken);
}

/// <summary>Keeps the last good configuration in a JSON file, replaced atomically at each save.</summary>
public sealed class FileConfigurationStore : IConfigurationStore
{
    /// <summary>Creates a store over a file (its folder is created when needed).</summary>
    /// <param name="path">The file.</param>
    public FileConfigurationStore(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = path;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>
    /// The default file for a server and key: named after a hash of both (the key never appears), in a
    /// <c>flagstaff</c> folder of the local application data folder, or of the temporary folder when there is none.
    /// </summary>
    /// <param name="baseUrl">The server's address.</param>
    /// <param name="serverKey">The key.</param>
    public static string DefaultPath(Uri baseUrl, string serverKey)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        ArgumentNullException.ThrowIfNull(serverKey);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(baseUrl.AbsoluteUri + "\n" + serverKey)))[..24];
        var root = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        if (string.IsNullOrEmpty(root))
        {
            root = System.IO.Path.GetTempPath();
        }

        return System.IO.Path.Combine(root, "flagstaff", $"config-{hash}.json");
    }

    /// <inheritdoc />
    public async Task<StoredConfiguration?> LoadAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(Path))
        {
            return null;
        }

        var bytes = await File.ReadAllBytesAsync(Path, cancellationToken).ConfigureAwait(false);
        return ConfigurationDocument.Read(bytes, File.GetLastWriteTimeUtc(Path));
    }

    /// <inheritdoc />
    public async Task SaveAsync(StoredConfiguration configuration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path));
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        // Write beside, then move over: a crash mid-write never leaves a torn file to start from.
        var temporary = Path + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        try
        {
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 16384, useAsync: true))
            {
                await ConfigurationDocument.WriteAsync(file, configuration, cancellationToken).ConfigureAwait(false);
            }

            File.Move(temporary, Path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }
}
