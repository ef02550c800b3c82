using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Enumeration;
using System.Text;
using Flagstaff.Domain;

namespace Flagstaff.Cli.CodeReferences;

/// <summary>A flag named in a file.</summary>
/// <param name="Key">The flag's key.</param>
/// <param name="Path">The file, relative to the scanned folder, with '/'.</param>
/// <param name="Line">The line, from 1.</param>
/// <param name="Context">The line's text, trimmed and cut at <see cref="CodeReferenceLimits.MaxContextLength"/>.</param>
/// <param name="Alias">The text found when it is not the key itself.</param>
/// <param name="Known">Whether the key is one of the project's flags (false: a flag-reading call names a key the project does not have).</param>
internal sealed record FoundReference(string Key, string Path, int Line, string Context, string? Alias, bool Known);

/// <summary>What a scan read and found.</summary>
internal sealed record ScanResult(IReadOnlyList<FoundReference> References, int Files, int SkippedBinary, int SkippedLarge, TimeSpan Elapsed);

/// <summary>
/// Finds a project's flag keys, their aliases, and keys passed to flag-reading calls in a source tree.
/// The walk honours .gitignore files (nested ones included) and skips version-control, dependency and
/// build folders, symbolic links, files over <see cref="MaxFileBytes"/> and binary files (a NUL byte in
/// the first 8 KB); files are read in parallel.
/// Hot path: every term (keys, aliases, call names) is in one <see cref="SearchValues{T}"/>, so a file
/// is searched once whatever the number of flags; a hit is then confirmed against the few terms that
/// start with its character, longest first, and the identifier boundaries around it.
/// </summary>
internal sealed class CodeScanner
{
    /// <summary>Folders never entered, wherever they are.</summary>
    public static readonly string[] SkippedFolders = [".git", ".hg", ".svn", "node_modules", "vendor", "bin", "obj"];

    /// <summary>Files larger than this are skipped (minified bundles, data, generated code).</summary>
    public const int MaxFileBytes = 1024 * 1024;

    private const int BinaryProbeBytes = 8192;

    /// <summary>Functions whose first argument, a string literal, is a flag key: Flagstaff's and Tggl's SDKs, and OpenFeature's.</summary>
    public static readonly string[] DefaultCalls =
    [
        "GetBoolean", "GetBooleanDetail", "GetString", "GetStringDetail", "GetDouble", "GetDoubleDetail", "IsActive", "isActive", "Flag",
        "GetBooleanValueAsync", "GetStringValueAsync", "GetIntegerValueAsync", "GetDoubleValueAsync", "GetObjectValueAsync",
        "GetBooleanDetailsAsync", "GetStringDetailsAsync", "IsEnabledAsync", "IsEnabled",
        "getBooleanValue", "getStringValue", "getNumberValue", "getObjectValue", "getBooleanDetails", "getStringDetails",
    ];

    private readonly record struct Term(string Text, string Key, bool IsCall);

    private readonly SearchValues<string> _search;
    private readonly Dictionary<char, Term[]> _byFirstChar;
    private readonly HashSet<string> _keys;
    private readonly RefsConfig _config;

    public CodeScanner(IEnumerable<string> flagKeys, RefsConfig config)
    {
        ArgumentNullException.ThrowIfNull(flagKeys);
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
        _keys = flagKeys.ToHashSet(StringComparer.Ordinal);
        var terms = new Dictionary<string, Term>(StringComparer.Ordinal);

        // A key itself always wins over another flag's alias that happens to spell it.
        foreach (var key in _keys)
        {
            terms[key] = new Term(key, key, false);
        }

        foreach (var key in _keys.Where(_ => config.CaseAliases ?? true))
        {
            foreach (var alias in CaseAliases(key))
            {
                terms.TryAdd(alias, new Term(alias, key, false));
            }
        }

        foreach (var (key, aliases) in config.Aliases ?? new Dictionary<string, IReadOnlyList<string>>())
        {
            foreach (var alias in (aliases ?? []).Where(a => a.Length > 0))
            {
                terms.TryAdd(alias, new Term(alias, key, false));
            }
        }

        foreach (var call in DefaultCalls.Concat(config.Calls ?? []).Where(c => c.Length > 0))
        {
            terms.TryAdd(call, new Term(call, "", true));
        }

        _search = SearchValues.Create([.. terms.Keys], StringComparison.Ordinal);
        _byFirstChar = terms.Values.GroupBy(t => t.Text[0]).ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Text.Length).ToArray());
    }

    /// <summary>
    /// The other spellings of a key of several words (split at '-', '_', '.', spaces and case changes):
    /// camelCase, PascalCase, snake_case and SCREAMING_SNAKE. A one-word key has none: its capitalised
    /// form would find every class of the same name.
    /// </summary>
    public static IReadOnlyList<string> CaseAliases(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var words = Words(key);
        if (words.Count < 2)
        {
            return [];
        }

        static string Title(string w) => char.ToUpperInvariant(w[0]) + w[1..];
        var camel = words[0] + string.Concat(words.Skip(1).Select(Title));
        var pascal = string.Concat(words.Select(Title));
        var snake = string.Join('_', words);
        var screaming = snake.ToUpperInvariant();
        return [.. new[] { camel, pascal, snake, screaming }.Where(a => a != key).Distinct(StringComparer.Ordinal)];
    }

    private static List<string> Words(string key)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        for (int i = 0; i < key.Length; i++)
        {
            char c = key[i];
            if (c is '-' or '_' or '.' or ' ')
            {
                Flush();
                continue;
            }

            // "newCheckout" and "HTTPServer" split before the upper case letter that starts a word.
            if (char.IsUpper(c) && current.Length > 0 && (char.IsLower(key[i - 1]) || (i + 1 < key.Length && char.IsLower(key[i + 1]) && char.IsUpper(key[i - 1]))))
            {
                Flush();
            }

            current.Append(char.ToLowerInvariant(c));
        }

        Flush();
        return words;

        void Flush()
        {
            if (current.Length > 0)
            {
                words.Add(current.ToString());
                current.Clear();
            }
        }
    }

    /// <summary>Walks <paramref name="root"/> and searches every file that is not skipped.</summary>
    public ScanResult Scan(string root, string? skipFile, CancellationToken cancellationToken)
    {
        long started = Stopwatch.GetTimestamp();
        var files = new List<(string Full, string Relative)>();
        int skippedLarge = 0;
        var excluded = GitIgnore.Parse("", _config.Exclude ?? []);
        Walk(Path.GetFullPath(root), "", [excluded], files, ref skippedLarge, skipFile is null ? null : Path.GetFullPath(skipFile), cancellationToken);

        var all = new ConcurrentBag<List<FoundReference>>();
        int binary = 0;
        Parallel.ForEach(
            files,
            new ParallelOptions { CancellationToken = cancellationToken },
            () => new List<FoundReference>(),
            (file, _, found) =>
            {
                byte[] bytes;
                try
                {
                    bytes = File.ReadAllBytes(file.Full);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    return found;
                }

                if (bytes.AsSpan(0, Math.Min(bytes.Length, BinaryProbeBytes)).Contains((byte)0))
                {
                    Interlocked.Increment(ref binary);
                    return found;
                }

                Search(file.Relative, Encoding.UTF8.GetString(bytes), found);
                return found;
            },
            all.Add);

        var references = all.SelectMany(l => l).OrderBy(r => r.Path, StringComparer.Ordinal).ThenBy(r => r.Line).ThenBy(r => r.Key, StringComparer.Ordinal).ToList();
        return new ScanResult(references, files.Count - binary, binary, skippedLarge, Stopwatch.GetElapsedTime(started));
    }

    private static void Walk(string directory, string relative, IReadOnlyList<GitIgnore> chain, List<(string, string)> files, ref int skippedLarge, string? skipFile, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        List<(string Name, bool IsDirectory, bool IsLink, long Length)> entries;
        try
        {
            entries = [.. new FileSystemEnumerable<(string, bool, bool, long)>(
                directory,
                (ref FileSystemEntry e) => (e.FileName.ToString(), e.IsDirectory, (e.Attributes & FileAttributes.ReparsePoint) != 0, e.Length),
                new EnumerationOptions { IgnoreInaccessible = true, AttributesToSkip = 0, RecurseSubdirectories = false })];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }

        if (entries.Any(e => e.Name == ".gitignore" && !e.IsDirectory))
        {
            try
            {
                chain = [.. chain, GitIgnore.Parse(relative, File.ReadLines(Path.Combine(directory, ".gitignore")))];
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // An unreadable .gitignore ignores nothing, as git treats it.
            }
        }

        foreach (var (name, isDirectory, isLink, length) in entries)
        {
            // Links are not followed: they may loop, or lead out of the tree.
            if (isLink)
            {
                continue;
            }

            var path = relative + name;
            if (isDirectory)
            {
                if (!SkippedFolders.Contains(name, StringComparer.Ordinal) && !GitIgnore.IsIgnored(chain, path, isDirectory: true))
                {
                    Walk(Path.Combine(directory, name), path + "/", chain, files, ref skippedLarge, skipFile, cancellationToken);
                }
            }
            else if (!GitIgnore.IsIgnored(chain, path, isDirectory: false))
            {
                var full = Path.Combine(directory, name);
                if (length > MaxFileBytes)
                {
                    skippedLarge++;
                }
                else if (full != skipFile)
                {
                    files.Add((full, path));
                }
            }
        }
    }

    /// <summary>Finds the references in one file's text (one per flag and line).</summary>
    internal void Search(string path, string text, List<FoundReference> found)
    {
        var span = text.AsSpan();
        int position = 0, line = 1, lineStart = 0, counted = 0;
        HashSet<(string, int)>? seen = null;
        while (position < span.Length)
        {
            int hit = span[position..].IndexOfAny(_search);
            if (hit < 0)
            {
                return;
            }

            int at = position + hit;
            position = at + 1;
            if (!Match(span, at, out var term, out int end, out var literal))
            {
                continue;
            }

            position = end;
            string key = term.IsCall ? literal! : term.Key;
            bool known = _keys.Contains(key);

            // Lines are counted only up to a hit, with a vectorised count.
            line += span[counted..at].Count('\n');
            int lastBreak = span[..at].LastIndexOf('\n');
            lineStart = lastBreak + 1;
            counted = at;
            seen ??= [];
            if (!seen.Add((key, line)))
            {
                continue;
            }

            int lineEnd = span[lineStart..].IndexOf('\n');
            var lineText = lineEnd < 0 ? span[lineStart..] : span.Slice(lineStart, lineEnd);
            found.Add(new FoundReference(key, path, line, Context(lineText), term.IsCall || term.Text == key ? null : term.Text, known));
        }
    }

    private bool Match(ReadOnlySpan<char> text, int at, out Term term, out int end, out string? literal)
    {
        literal = null;
        if (at > 0 && IsWordChar(text[at - 1]))
        {
            term = default;
            end = at + 1;
            return false;
        }

        foreach (var candidate in _byFirstChar[text[at]])
        {
            if (!text[at..].StartsWith(candidate.Text, StringComparison.Ordinal))
            {
                continue;
            }

            end = at + candidate.Text.Length;
            if (end < text.Length && IsWordChar(text[end]))
            {
                continue;
            }

            if (candidate.IsCall)
            {
                literal = ReadLiteral(text, end, out end);
                if (literal is null)
                {
                    continue;
                }
            }

            term = candidate;
            return true;
        }

        term = default;
        end = at + 1;
        return false;
    }

    // After a call's name: optional spaces, '(', optional spaces, then a quoted key.
    private static string? ReadLiteral(ReadOnlySpan<char> text, int from, out int end)
    {
        end = from;
        int i = from;
        while (i < text.Length && text[i] is ' ' or '\t')
        {
            i++;
        }

        if (i >= text.Length || text[i] != '(')
        {
            return null;
        }

        i++;
        while (i < text.Length && text[i] is ' ' or '\t')
        {
            i++;
        }

        if (i >= text.Length || text[i] is not ('"' or '\'' or '`'))
        {
            return null;
        }

        char quote = text[i];
        int start = ++i;
        while (i < text.Length && i - start <= Limits.KeyLength && (char.IsAsciiLetterOrDigit(text[i]) || text[i] is '-' or '_' or '.'))
        {
            i++;
        }

        if (i == start || i >= text.Length || text[i] != quote || i - start > Limits.KeyLength)
        {
            return null;
        }

        end = i + 1;
        return text[start..i].ToString();
    }

    // Keys may hold '-': "new-checkout" inside "new-checkout-v2" is the other flag, not this one.
    private static bool IsWordChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '-';

    private static string Context(ReadOnlySpan<char> line)
    {
        var trimmed = line.Trim();
        if (trimmed.Length > CodeReferenceLimits.MaxContextLength)
        {
            trimmed = trimmed[..CodeReferenceLimits.MaxContextLength];
        }

        var context = new StringBuilder(trimmed.Length);
        foreach (char c in trimmed)
        {
            context.Append(char.IsControl(c) ? ' ' : c);
        }

        return context.ToString();
    }
}
