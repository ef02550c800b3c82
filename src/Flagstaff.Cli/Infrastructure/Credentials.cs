using System.Text.Json;

namespace Flagstaff.Cli.Infrastructure;

/// <summary>The server and token saved by <c>flagstaff login</c>.</summary>
internal sealed record SavedLogin(string Url, string Token);

/// <summary>
/// Where the server and token come from: <c>FLAGSTAFF_URL</c> and <c>FLAGSTAFF_TOKEN</c> first, then the
/// per-user file written by <c>flagstaff login</c> (mode 0600, in a 0700 folder).
/// </summary>
internal sealed class Credentials(CliEnvironment environment)
{
    public string FilePath => System.IO.Path.Combine(environment.ConfigDirectory, "credentials.json");

    public SavedLogin? Read()
    {
        if (!File.Exists(FilePath))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(FilePath), CliJson.Default.SavedLogin);
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot read {FilePath}: {e.Message}", ExitCodes.Failure, suggestion: "run flagstaff logout, then flagstaff login");
        }
    }

    /// <summary>The server and token to use, and where they came from; throws when there are none.</summary>
    public (Uri Url, string Token, string Source) Resolve()
    {
        var saved = Read();
        var url = environment.Variable("FLAGSTAFF_URL") is { Length: > 0 } u ? u : saved?.Url;
        var token = environment.Variable("FLAGSTAFF_TOKEN") is { Length: > 0 } t ? t : saved?.Token;
        if (url is null || token is null)
        {
            throw new CliException(
                "no server to talk to: FLAGSTAFF_URL and FLAGSTAFF_TOKEN are not set and you are not logged in",
                ExitCodes.InvalidInput,
                suggestion: "run flagstaff login --url https://flags.example.com --token fs_pat_..., or set FLAGSTAFF_URL and FLAGSTAFF_TOKEN");
        }

        string source = environment.Variable("FLAGSTAFF_TOKEN") is { Length: > 0 } ? "FLAGSTAFF_TOKEN" : FilePath;
        return (ParseUrl(url), token, source);
    }

    public static Uri ParseUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new CliException($"\"{url}\" is not an http or https address", ExitCodes.InvalidInput, suggestion: "give the server's address, such as http://localhost:5080");
        }

        // A base address needs its trailing slash, or relative paths replace its last segment.
        return new Uri(uri.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/");
    }

    public void Save(SavedLogin login)
    {
        var directory = environment.ConfigDirectory;
        if (!OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        else
        {
            Directory.CreateDirectory(directory);
        }

        // Written to a new file created 0600 and moved over the old one, so the token is never readable by others, not even for a moment.
        var temporary = FilePath + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        {
            JsonSerializer.Serialize(stream, login, CliJson.Default.SavedLogin);
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.Move(temporary, FilePath, overwrite: true);
    }

    public bool Delete()
    {
        if (!File.Exists(FilePath))
        {
            return false;
        }

        File.Delete(FilePath);
        return true;
    }
}
