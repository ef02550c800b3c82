using System.Text.Json;
using System.Text.Json.Serialization;
using Flagstaff.Cli.Infrastructure;

namespace Flagstaff.Cli.CodeReferences;

/// <summary>
/// The optional configuration of <c>flagstaff refs</c>, read from <c>.flagstaff/refs.json</c> or
/// <c>flagstaff-refs.json</c> at the root of the scanned folder (or <c>--config FILE</c>).
/// </summary>
internal sealed record RefsConfig
{
    // Nullable: the generated deserializer sets every init-only member, so an initializer's default would be lost.
    /// <summary>More names for flags, by flag key: constants, wrapper properties, anything the code calls them.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Aliases { get; init; }

    /// <summary>Whether a key of several words is also found as camelCase, PascalCase, snake_case and SCREAMING_SNAKE (default true).</summary>
    public bool? CaseAliases { get; init; }

    /// <summary>More functions whose first argument, a string literal, is a flag key (to find references to unknown flags).</summary>
    public IReadOnlyList<string>? Calls { get; init; }

    /// <summary>More paths to skip, in .gitignore syntax, relative to the scanned folder.</summary>
    public IReadOnlyList<string>? Exclude { get; init; }

    /// <summary>The configuration file names looked for, in order.</summary>
    public static readonly string[] FileNames = [".flagstaff/refs.json", "flagstaff-refs.json"];

    /// <summary>Reads <paramref name="explicitFile"/>, or the first configuration file found under <paramref name="root"/>, or none.</summary>
    public static (RefsConfig Config, string? File) Load(string root, string? explicitFile)
    {
        var file = explicitFile ?? FileNames.Select(n => Path.Combine(root, n)).FirstOrDefault(File.Exists);
        if (file is null)
        {
            return (new RefsConfig(), null);
        }

        try
        {
            var config = JsonSerializer.Deserialize(File.ReadAllBytes(file), RefsJson.Default.RefsConfig)
                ?? throw new CliException($"{file} holds null, not a refs configuration", ExitCodes.InvalidInput);
            return (config, Path.GetFullPath(file));
        }
        catch (JsonException e)
        {
            throw new CliException($"{file} is not a refs configuration{(e.Path is { Length: > 1 } p ? " at " + p : "")}: {e.Message}", ExitCodes.InvalidInput,
                suggestion: "see \"Code references\" in the README for its fields");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot read {file}: {e.Message}", ExitCodes.InvalidInput);
        }
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(RefsConfig))]
internal sealed partial class RefsJson : JsonSerializerContext;
