using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Flagstaff.Management.Security;

/// <summary>
/// Where the server key comes from (the <c>Flagstaff:Secrets</c> section). The server key encrypts the
/// secrets Flagstaff keeps in its database (the key that hashes API keys and tokens, and the key ring
/// that signs session cookies), so that a copy of the database alone can neither sign in nor check
/// guesses of keys. It is never stored in the database.
/// </summary>
public sealed class ServerKeyOptions
{
    public const string Section = "Flagstaff:Secrets";

    /// <summary>The key itself, 32 bytes in base64 (e.g. from a secret store); wins over <see cref="KeyFile"/>.</summary>
    public string? Key { get; set; }

    /// <summary>
    /// The file holding the key (base64). Default <c>{DataDirectory}/flagstaff.key</c>; created with mode 0600
    /// on the first start of a database that holds no encrypted secrets yet.
    /// </summary>
    public string? KeyFile { get; set; }

    /// <summary>The key being replaced, during a rotation: what it encrypted is re-encrypted with the new key at start.</summary>
    public string? PreviousKey { get; set; }

    /// <summary>The file of the key being replaced, during a rotation.</summary>
    public string? PreviousKeyFile { get; set; }
}

/// <summary>
/// Encrypts and decrypts the secrets kept in the database with the server key (AES-256-GCM). A sealed
/// value names the key that sealed it by a short id, so a node with another key says so instead of
/// failing obscurely, and names its purpose as associated data, so one sealed value cannot stand in
/// for another.
/// </summary>
public sealed class ServerKey(IOptions<ServerKeyOptions> options)
{
    private const string Prefix = "fsk1.";
    private const int KeyBytes = 32;
    private byte[]? _key;
    private byte[]? _previous;

    /// <summary>Whether a key was configured or its file exists.</summary>
    public bool IsAvailable => Load() is not null;

    /// <summary>The short id of the key in use, for messages (never enough to recover the key).</summary>
    public string Id => IdOf(Current());

    /// <summary>Where the key comes from, for messages.</summary>
    public string Source => options.Value.Key is { Length: > 0 } ? "Flagstaff:Secrets:Key" : KeyFilePath;

    private string KeyFilePath => options.Value.KeyFile ?? throw new InvalidOperationException("Flagstaff:Secrets:KeyFile is not set.");

    /// <summary>
    /// Creates the key file with a new random key (mode 0600), unless it exists by now (another process
    /// sharing the data directory made it first): the key in the file is used either way.
    /// </summary>
    public void CreateKeyFile()
    {
        if (options.Value.Key is { Length: > 0 })
        {
            return;
        }

        var path = KeyFilePath;
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        // Written aside and linked into place, so that no process ever reads half a key.
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        var stream = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            stream.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var writer = new StreamWriter(temporary, Encoding.ASCII, stream))
        {
            writer.WriteLine(Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeyBytes)));
        }

        try
        {
            File.Move(temporary, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temporary);
        }

        _key = null;
    }

    /// <summary>Encrypts <paramref name="plaintext"/> for <paramref name="purpose"/> with the key in use.</summary>
    public string Seal(string purpose, ReadOnlySpan<byte> plaintext)
    {
        var key = Current();
        var sealedBytes = new byte[12 + 16 + plaintext.Length];
        var nonce = sealedBytes.AsSpan(0, 12);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, 16);
        aes.Encrypt(nonce, plaintext, sealedBytes.AsSpan(28), sealedBytes.AsSpan(12, 16), Encoding.UTF8.GetBytes(purpose));
        return Prefix + IdOf(key) + "." + Convert.ToBase64String(sealedBytes);
    }

    /// <summary>Whether a stored value is sealed (rather than plaintext from before the server key).</summary>
    public static bool IsSealed(string stored) => stored.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>
    /// Decrypts a sealed value. <paramref name="stale"/> says it was sealed with the previous key (during a
    /// rotation) and should be sealed again. Throws with a sentence an operator can act on when no key
    /// this node has can open it.
    /// </summary>
    public byte[] Open(string purpose, string stored, out bool stale)
    {
        var parts = stored.Split('.');
        if (parts.Length != 3 || !IsSealed(stored))
        {
            throw new InvalidOperationException($"A stored {purpose} is not in the sealed form Flagstaff writes: the database was changed by hand.");
        }

        var current = Load() ?? throw new InvalidOperationException(
            $"The database's secrets are encrypted with server key {parts[1]}, and this node has no server key: {Missing()}");
        if (TryOpen(current, purpose, parts, out var plaintext))
        {
            stale = false;
            return plaintext;
        }

        if (Previous() is { } previous && TryOpen(previous, purpose, parts, out plaintext))
        {
            stale = true;
            return plaintext;
        }

        throw new InvalidOperationException(
            $"The database's secrets are encrypted with server key {parts[1]}, but this node's key ({Source}) is {IdOf(current)}. "
            + "Every node must use the same key: copy the key file of the node that created the database, or set Flagstaff:Secrets:Key to it "
            + "(during a rotation, give the old key as Flagstaff:Secrets:PreviousKeyFile).");
    }

    private string Missing() => options.Value.Key is { Length: > 0 }
        ? "Flagstaff:Secrets:Key is empty."
        : $"there is no key file at {KeyFilePath}. Copy it from the node that created the database (or restore it from backup), or set Flagstaff:Secrets:Key.";

    private static bool TryOpen(byte[] key, string purpose, string[] parts, out byte[] plaintext)
    {
        plaintext = [];
        if (parts[1] != IdOf(key))
        {
            return false;
        }

        byte[] sealedBytes;
        try
        {
            sealedBytes = Convert.FromBase64String(parts[2]);
        }
        catch (FormatException)
        {
            return false;
        }

        if (sealedBytes.Length < 28)
        {
            return false;
        }

        plaintext = new byte[sealedBytes.Length - 28];
        using var aes = new AesGcm(key, 16);
        try
        {
            aes.Decrypt(sealedBytes.AsSpan(0, 12), sealedBytes.AsSpan(28), sealedBytes.AsSpan(12, 16), plaintext, Encoding.UTF8.GetBytes(purpose));
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    private byte[] Current() => Load() ?? throw new InvalidOperationException($"This node has no server key: {Missing()}");

    private byte[]? Load()
    {
        if (_key is not null)
        {
            return _key;
        }

        var value = options.Value;
        _key = value.Key is { Length: > 0 } key ? Decode(key, "Flagstaff:Secrets:Key") : ReadFile(KeyFilePath, "Flagstaff:Secrets:KeyFile");
        return _key;
    }

    private byte[]? Previous()
    {
        var value = options.Value;
        return _previous ??= value.PreviousKey is { Length: > 0 } key ? Decode(key, "Flagstaff:Secrets:PreviousKey")
            : value.PreviousKeyFile is { Length: > 0 } file ? ReadFile(file, "Flagstaff:Secrets:PreviousKeyFile")
                ?? throw new InvalidOperationException($"Flagstaff:Secrets:PreviousKeyFile: there is no file at {file}.")
            : null;
    }

    private static byte[]? ReadFile(string path, string setting)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"{setting}: the key file {path} cannot be read: {e.Message}", e);
        }

        return Decode(text.Trim(), $"{setting} ({path})");
    }

    private static byte[] Decode(string text, string where)
    {
        byte[] key;
        try
        {
            key = Convert.FromBase64String(text.Trim());
        }
        catch (FormatException)
        {
            key = [];
        }

        return key.Length == KeyBytes ? key : throw new InvalidOperationException(
            $"{where}: a server key is {KeyBytes} random bytes in base64 (44 characters, e.g. from `openssl rand -base64 32`).");
    }

    private static string IdOf(byte[] key) => Convert.ToHexStringLower(HMACSHA256.HashData(key, "flagstaff server key id"u8))[..8];
}
