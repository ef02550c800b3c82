using Flagstaff.Domain;
using Flagstaff.Management.Services;
using Flagstaff.Storage;

namespace Flagstaff.Dashboard.Model;

/// <summary>
/// What went wrong with a change, as the HTTP API's problem details say it: a title, a message, and
/// for invalid input the errors by field path (shown next to the fields), for conflicts the current state.
/// </summary>
public sealed record ProblemInfo(string Title, string Message, IReadOnlyDictionary<string, IReadOnlyList<string>> Errors, object? Current = null)
{
    /// <summary>Whether it is a version conflict (someone else changed the thing meanwhile).</summary>
    public bool IsConflict { get; init; }

    /// <summary>The problem for a failure a person can act on; null for unexpected failures, which are left to the server's handler.</summary>
    public static ProblemInfo? From(Exception exception) => exception switch
    {
        DomainValidationException e => new ProblemInfo(
            "Please check the highlighted fields",
            e.Errors.Count == 1 ? Sentence(e.Errors[0]) : $"{e.Errors.Count} things need fixing.",
            e.Errors.GroupBy(x => x.Path).ToDictionary(g => g.Key, g => (IReadOnlyList<string>)[.. g.Select(x => x.Message)], StringComparer.Ordinal)),
        ConflictException e => new ProblemInfo("Changed meanwhile", e.Message, Empty, e.Current) { IsConflict = e.Message.Contains("changed by someone else", StringComparison.Ordinal) },
        ConcurrencyConflictException e => new ProblemInfo("Changed meanwhile", e.Message, Empty) { IsConflict = true },
        // Every form that creates something names its key field "key", and the key is what is unique.
        DuplicateKeyException => new ProblemInfo("Already exists", "This key is already taken.", KeyTaken),
        NotFoundException e => new ProblemInfo("Not found", e.Message, Empty),
        ForbiddenException e => new ProblemInfo("Not allowed", e.Message, Empty),
        StoreFullException => new ProblemInfo("Storage full", StoreFullException.Explanation, Empty),
        StoreUnavailableException => new ProblemInfo("Storage unavailable", StoreUnavailableException.Explanation, Empty),
        _ => null,
    };

    /// <summary>The messages for one field path (and for its sub-paths when <paramref name="nested"/>).</summary>
    public IReadOnlyList<string> For(string path, bool nested = false) =>
        nested
            ? [.. Errors.Where(p => p.Key == path || p.Key.StartsWith(path + ".", StringComparison.Ordinal) || p.Key.StartsWith(path + "[", StringComparison.Ordinal)).SelectMany(p => p.Value)]
            : Errors.TryGetValue(path, out var messages) ? messages : [];

    /// <summary>"true" when the field at <paramref name="path"/> has errors (for <c>aria-invalid</c>), else null (no attribute).</summary>
    public static string? Invalid(ProblemInfo? problem, string path, bool nested = false) => problem?.For(path, nested).Count > 0 ? "true" : null;

    private static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> Empty = new Dictionary<string, IReadOnlyList<string>>();

    private static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> KeyTaken = new Dictionary<string, IReadOnlyList<string>>
    {
        ["key"] = ["is already used (an archived flag or project keeps its key until it is deleted): choose another key"],
    };

    private static string Sentence(ValidationError error) => error.Path.Length == 0 ? error.Message : $"{FieldNames.Describe(error.Path)}: {error.Message}";
}
