using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Flagstaff.Domain;
using Flagstaff.Storage;

namespace Flagstaff.Management.Services;

/// <summary>A scan of one repository, as <c>flagstaff refs --upload</c> sends it.</summary>
public sealed record UploadCodeReferencesRequest
{
    /// <summary>The repository's name (default: "default"); a project keeps the last scan of each.</summary>
    public string? Repository { get; init; }

    public string? Branch { get; init; }

    public string? Commit { get; init; }

    /// <summary>When the tree was scanned (default: when the server receives it).</summary>
    public DateTimeOffset? ScannedAt { get; init; }

    public int? Files { get; init; }

    public required IReadOnlyList<FlagCodeReferences> Flags { get; init; }
}

/// <summary>A repository's last scan.</summary>
public sealed record CodeReferenceScanView(
    string Repository, string? Branch, string? Commit, DateTimeOffset ScannedAt, DateTimeOffset UploadedAt, string UploadedBy, int Files, IReadOnlyList<FlagCodeReferences> Flags);

/// <summary>Where one flag is named, repository by repository (every scanned repository is listed, with 0 when it names the flag nowhere).</summary>
public sealed record FlagCodeReferencesView(string Flag, IReadOnlyList<FlagRepositoryReferences> Repositories);

/// <summary>One repository's references to one flag.</summary>
public sealed record FlagRepositoryReferences(
    string Repository, string? Branch, string? Commit, DateTimeOffset ScannedAt, int Total, IReadOnlyList<CodeReference> References);

[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(UploadCodeReferencesRequest))]
[JsonSerializable(typeof(CodeReferenceScanView))]
[JsonSerializable(typeof(IReadOnlyList<CodeReferenceScanView>))]
[JsonSerializable(typeof(FlagCodeReferencesView))]
public sealed partial class CodeReferenceJson : JsonSerializerContext;

/// <summary>
/// Code references: the last scan of each repository of a project, as uploaded by the CLI. An upload
/// names only the project's flags, is bounded (<see cref="CodeReferenceLimits"/>), and replaces the
/// repository's previous scan whole, or, when anything in it is wrong, changes nothing.
/// </summary>
public sealed class CodeReferenceService(Store store, ChangeRunner changes)
{
    /// <summary>The repository name used when an upload gives none.</summary>
    public const string DefaultRepository = "default";

    // A scan's clock may run a little ahead of the server's; a scan from the future is a mistake.
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    public Task<IReadOnlyList<CodeReferenceScan>> ScansAsync(string projectKey, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async s => await s.ListCodeReferenceScansAsync((await s.ProjectAsync(projectKey).ConfigureAwait(false)).Id).ConfigureAwait(false), cancellationToken);

    public async Task<IReadOnlyList<CodeReferenceScanView>> ListAsync(string projectKey, CancellationToken cancellationToken = default) =>
        [.. (await ScansAsync(projectKey, cancellationToken).ConfigureAwait(false)).Select(View)];

    public Task<FlagCodeReferencesView> ForFlagAsync(string projectKey, string flagKey, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async s =>
        {
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var flag = await s.FlagAsync(project, flagKey).ConfigureAwait(false);
            return ForFlag(flag.Key, await s.ListCodeReferenceScansAsync(project.Id).ConfigureAwait(false));
        }, cancellationToken);

    /// <summary>One flag's references in each scanned repository.</summary>
    public static FlagCodeReferencesView ForFlag(string flagKey, IReadOnlyList<CodeReferenceScan> scans)
    {
        ArgumentNullException.ThrowIfNull(scans);
        return new FlagCodeReferencesView(flagKey, [.. scans.Select(scan =>
        {
            var found = scan.Flags.FirstOrDefault(f => f.Key == flagKey);
            return new FlagRepositoryReferences(scan.Repository, scan.Branch, scan.Commit, scan.ScannedAt, found?.Total ?? 0, found?.References ?? []);
        })]);
    }

    public async Task<CodeReferenceScanView> UploadAsync(string projectKey, UploadCodeReferencesRequest request, Actor actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(actor);
        var errors = new ValidationErrors();
        var repository = request.Repository ?? DefaultRepository;
        CheckName(repository, "repository", required: true, errors);
        CheckName(request.Branch, "branch", required: false, errors);
        CheckName(request.Commit, "commit", required: false, errors);
        if (request.Files is < 0)
        {
            errors.Add("files", "cannot be negative");
        }

        CheckFlags(request.Flags ?? [], errors);
        errors.ThrowIfAny();
        return await changes.WriteAsync(actor, async change =>
        {
            var s = change.Session;
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var known = (await s.ListAllFlagsAsync(project.Id).ConfigureAwait(false)).Select(f => f.Key).ToHashSet(StringComparer.Ordinal);
            for (int i = 0; i < request.Flags!.Count; i++)
            {
                if (!known.Contains(request.Flags[i].Key))
                {
                    errors.Add(ValidationErrors.Join(ValidationErrors.Index("flags", i), "key"), $"project \"{project.Key}\" has no flag \"{Limits.Truncate(request.Flags[i].Key)}\"");
                }
            }

            var scannedAt = request.ScannedAt ?? change.Now;
            if (scannedAt > change.Now + ClockSkew)
            {
                errors.Add("scannedAt", $"{scannedAt:O} is in the future (the server's time is {change.Now:O})");
            }

            var existing = await s.ListCodeReferenceScansAsync(project.Id).ConfigureAwait(false);
            if (existing.Count >= CodeReferenceLimits.MaxRepositories && existing.All(e => e.Repository != repository))
            {
                errors.Add("repository", string.Create(CultureInfo.InvariantCulture,
                    $"project \"{project.Key}\" already has scans of {existing.Count} repositories, the most kept; delete one (DELETE /api/projects/{project.Key}/code-references/NAME) first"));
            }

            errors.ThrowIfAny();
            var scan = new CodeReferenceScan
            {
                ProjectId = project.Id,
                Repository = repository,
                Branch = request.Branch,
                Commit = request.Commit,
                ScannedAt = scannedAt,
                UploadedAt = change.Now,
                UploadedBy = actor.Name,
                Files = request.Files ?? 0,
                Flags = [.. request.Flags.Where(f => f.Total > 0).OrderBy(f => f.Key, StringComparer.Ordinal)],
            };
            await s.ReplaceCodeReferenceScanAsync(scan).ConfigureAwait(false);
            return View(scan);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task DeleteAsync(string projectKey, string repository, Actor actor, CancellationToken cancellationToken = default) =>
        await changes.WriteAsync(actor, async change =>
        {
            var project = await change.Session.ProjectAsync(projectKey).ConfigureAwait(false);
            return await change.Session.DeleteCodeReferenceScanAsync(project.Id, repository).ConfigureAwait(false)
                ? true
                : throw new NotFoundException($"Project \"{project.Key}\" has no scan of repository \"{Limits.Truncate(repository)}\".");
        }, cancellationToken).ConfigureAwait(false);

    private static CodeReferenceScanView View(CodeReferenceScan scan) =>
        new(scan.Repository, scan.Branch, scan.Commit, scan.ScannedAt, scan.UploadedAt, scan.UploadedBy, scan.Files, scan.Flags);

    private static void CheckFlags(IReadOnlyList<FlagCodeReferences> flags, ValidationErrors errors)
    {
        if (flags.Count > CodeReferenceLimits.MaxFlags)
        {
            errors.Add("flags", string.Create(CultureInfo.InvariantCulture, $"names {flags.Count} flags; at most {CodeReferenceLimits.MaxFlags} are allowed"));
            return;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        long references = 0;
        for (int i = 0; i < flags.Count; i++)
        {
            var path = ValidationErrors.Index("flags", i);
            var flag = flags[i];
            if (flag is null)
            {
                errors.Add(path, "is null");
                continue;
            }

            Limits.CheckKey(flag.Key, ValidationErrors.Join(path, "key"), errors);
            if (flag.Key is not null && !seen.Add(flag.Key))
            {
                errors.Add(ValidationErrors.Join(path, "key"), $"\"{Limits.Truncate(flag.Key)}\" is named twice");
            }

            var list = flag.References ?? [];
            if (list.Count > CodeReferenceLimits.MaxReferencesPerFlag)
            {
                errors.Add(ValidationErrors.Join(path, "references"), string.Create(CultureInfo.InvariantCulture,
                    $"holds {list.Count} references; at most {CodeReferenceLimits.MaxReferencesPerFlag} per flag are kept (give the number found in total)"));
                continue;
            }

            if (flag.Total < list.Count)
            {
                errors.Add(ValidationErrors.Join(path, "total"), string.Create(CultureInfo.InvariantCulture, $"is {flag.Total}, fewer than the {list.Count} references given"));
            }

            references += list.Count;
            for (int j = 0; j < list.Count; j++)
            {
                CheckReference(list[j], ValidationErrors.Index(ValidationErrors.Join(path, "references"), j), errors);
            }
        }

        if (references > CodeReferenceLimits.MaxReferences)
        {
            errors.Add("flags", string.Create(CultureInfo.InvariantCulture, $"hold {references} references in all; at most {CodeReferenceLimits.MaxReferences} are allowed"));
        }
    }

    private static void CheckReference(CodeReference? reference, string path, ValidationErrors errors)
    {
        if (reference is null)
        {
            errors.Add(path, "is null");
            return;
        }

        if (string.IsNullOrEmpty(reference.Path))
        {
            errors.Add(ValidationErrors.Join(path, "path"), "is required");
        }
        else
        {
            Limits.CheckLength(reference.Path, CodeReferenceLimits.MaxPathLength, ValidationErrors.Join(path, "path"), errors);
            CheckText(reference.Path, ValidationErrors.Join(path, "path"), errors);
            if (reference.Path.StartsWith('/') || reference.Path.Split('/').Any(segment => segment is ".." or ""))
            {
                errors.Add(ValidationErrors.Join(path, "path"), "must be relative to the scanned folder, with '/' between names and no '..'");
            }
        }

        if (reference.Line < 1)
        {
            errors.Add(ValidationErrors.Join(path, "line"), "counts from 1");
        }

        if (reference.Context is null)
        {
            errors.Add(ValidationErrors.Join(path, "context"), "is required (it may be empty)");
        }

        Limits.CheckLength(reference.Context, CodeReferenceLimits.MaxContextLength, ValidationErrors.Join(path, "context"), errors);
        CheckText(reference.Context, ValidationErrors.Join(path, "context"), errors);
        Limits.CheckLength(reference.Alias, Limits.KeyLength * 2, ValidationErrors.Join(path, "alias"), errors);
        CheckText(reference.Alias, ValidationErrors.Join(path, "alias"), errors);
    }

    private static void CheckName(string? name, string path, bool required, ValidationErrors errors)
    {
        if (name is null)
        {
            return;
        }

        if (required && string.IsNullOrWhiteSpace(name))
        {
            errors.Add(path, "is required");
            return;
        }

        Limits.CheckLength(name, CodeReferenceLimits.MaxNameLength, path, errors);
        CheckText(name, path, errors);
    }

    // Tabs are kept in context lines (code is indented with them); other control characters are not text.
    private static void CheckText(string? text, string path, ValidationErrors errors)
    {
        if (text is not null && text.Any(c => char.IsControl(c) && c != '\t'))
        {
            errors.Add(path, "contains control characters");
        }
    }
}
