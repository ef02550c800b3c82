namespace Flagstaff.Domain;

/// <summary>One place in a source tree where a flag is named.</summary>
public sealed record CodeReference
{
    /// <summary>The file, relative to the scanned folder, with forward slashes.</summary>
    public required string Path { get; init; }

    /// <summary>The line, counting from 1.</summary>
    public int Line { get; init; }

    /// <summary>The line's text (trimmed, and cut at <see cref="CodeReferenceLimits.MaxContextLength"/>).</summary>
    public required string Context { get; init; }

    /// <summary>The text found when it is not the flag's key itself (an alias such as <c>newCheckout</c>), else null.</summary>
    public string? Alias { get; init; }
}

/// <summary>Where one flag is named in a repository.</summary>
public sealed record FlagCodeReferences
{
    /// <summary>The flag's key.</summary>
    public required string Key { get; init; }

    /// <summary>How many references the scan found (it may be more than <see cref="References"/> keeps).</summary>
    public int Total { get; init; }

    /// <summary>The references kept, at most <see cref="CodeReferenceLimits.MaxReferencesPerFlag"/>.</summary>
    public IReadOnlyList<CodeReference> References { get; init; } = [];
}

/// <summary>
/// The last scan of one repository of a project for references to its flags. A new upload for the
/// same repository replaces it.
/// </summary>
public sealed record CodeReferenceScan
{
    /// <summary>The project.</summary>
    public required string ProjectId { get; init; }

    /// <summary>The repository's name, as the uploader gave it ("default" when none was).</summary>
    public required string Repository { get; init; }

    /// <summary>The branch scanned, if given.</summary>
    public string? Branch { get; init; }

    /// <summary>The commit scanned, if given.</summary>
    public string? Commit { get; init; }

    /// <summary>When the tree was scanned (as the uploader says).</summary>
    public DateTimeOffset ScannedAt { get; init; }

    /// <summary>When the server received it.</summary>
    public DateTimeOffset UploadedAt { get; init; }

    /// <summary>Who uploaded it.</summary>
    public required string UploadedBy { get; init; }

    /// <summary>How many files were read.</summary>
    public int Files { get; init; }

    /// <summary>The flags named in the tree (flags with no reference are absent).</summary>
    public IReadOnlyList<FlagCodeReferences> Flags { get; init; } = [];
}

/// <summary>The bounds of an uploaded scan, enforced by the server and respected by the CLI.</summary>
public static class CodeReferenceLimits
{
    /// <summary>The most references kept per flag and repository; the total found is still recorded.</summary>
    public const int MaxReferencesPerFlag = 50;

    /// <summary>The most references one upload may hold, all flags together.</summary>
    public const int MaxReferences = 10_000;

    /// <summary>The most flags one upload may name.</summary>
    public const int MaxFlags = 5_000;

    /// <summary>The longest line of context, in characters.</summary>
    public const int MaxContextLength = 240;

    /// <summary>The longest file path, in characters.</summary>
    public const int MaxPathLength = 1024;

    /// <summary>The longest repository, branch or commit name, in characters.</summary>
    public const int MaxNameLength = 200;

    /// <summary>The largest upload body, in bytes.</summary>
    public const long MaxUploadBytes = 8 * 1024 * 1024;

    /// <summary>The most repositories a project keeps scans of.</summary>
    public const int MaxRepositories = 100;
}
