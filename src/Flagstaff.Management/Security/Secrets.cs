using System.Security.Cryptography;
using System.Text;
using Flagstaff.Domain;

namespace Flagstaff.Management.Security;

/// <summary>
/// Makes secrets (API keys, access tokens, setup tokens) and hashes them for storage. Secrets are 190
/// random bits; they are stored only as HMAC-SHA256 with a server-wide key. That key is kept in the
/// database sealed with the <see cref="ServerKey"/>, which is not, so a copy of the database alone cannot
/// be used to check guesses.
/// </summary>
public sealed class Secrets
{
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    private byte[]? _key;

    /// <summary>What the hashing key is sealed for in storage.</summary>
    public const string KeyPurpose = "secret hashing key";

    /// <summary>Sets the hashing key (read from storage at start-up).</summary>
    public void Initialize(byte[] key) => _key = key;

    /// <summary>A new random secret: <paramref name="prefix"/> followed by 32 base-62 characters.</summary>
    public static string New(string prefix)
    {
        Span<char> chars = stackalloc char[32];
        for (int i = 0; i < chars.Length; i++)
        {
            chars[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
        }

        return prefix + new string(chars);
    }

    /// <summary>A new API key secret of a kind: <c>fs_server_...</c> or <c>fs_client_...</c>.</summary>
    public static string NewApiKey(ApiKeyKind kind) => New(kind == ApiKeyKind.Server ? "fs_server_" : "fs_client_");

    /// <summary>A new personal access token secret: <c>fs_pat_...</c>.</summary>
    public static string NewAccessToken() => New("fs_pat_");

    /// <summary>The part of a secret shown to recognise it (never enough to use it).</summary>
    public static string PrefixOf(string secret) => secret.Length <= 14 ? secret[..Math.Min(4, secret.Length)] : secret[..14];

    /// <summary>The stored form of a secret.</summary>
    public string Hash(string secret)
    {
        var key = _key ?? throw new InvalidOperationException("The secret key is not loaded yet.");
        return Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(secret)));
    }
}
