using System.Text;
using System.Text.RegularExpressions;

namespace Flagstaff.Cli.CodeReferences;

/// <summary>
/// The patterns of one <c>.gitignore</c> file, with git's semantics: blank lines and <c>#</c> comments
/// are skipped; <c>!</c> re-includes; a trailing <c>/</c> matches directories only; a pattern with a
/// <c>/</c> elsewhere is anchored to the file's folder, one without matches a name at any depth;
/// <c>*</c>, <c>?</c> and <c>[...]</c> do not cross <c>/</c>; <c>**/</c>, <c>/**/</c> and <c>/**</c>
/// cross any number of folders; <c>\</c> escapes. The last matching pattern decides.
/// </summary>
internal sealed class GitIgnore
{
    private readonly record struct Pattern(Regex Regex, bool Negated, bool DirectoryOnly);

    private readonly List<Pattern> _patterns = [];

    // Patterns are matched against paths relative to this folder ("" for the scan's root), with '/'.
    private GitIgnore(string baseDirectory) => BaseDirectory = baseDirectory;

    /// <summary>The folder the patterns are relative to, relative to the scanned root ("" for the root, else ending in '/').</summary>
    public string BaseDirectory { get; }

    public static GitIgnore Parse(string baseDirectory, IEnumerable<string> lines)
    {
        var ignore = new GitIgnore(baseDirectory);
        foreach (var raw in lines)
        {
            if (Compile(raw) is { } pattern)
            {
                ignore._patterns.Add(pattern);
            }
        }

        return ignore;
    }

    /// <summary>
    /// Whether this file's patterns say anything about <paramref name="relativePath"/> (relative to
    /// <see cref="BaseDirectory"/>): true to ignore, false to re-include, null when no pattern matches.
    /// </summary>
    public bool? Decide(string relativePath, bool isDirectory)
    {
        for (int i = _patterns.Count - 1; i >= 0; i--)
        {
            var pattern = _patterns[i];
            if ((!pattern.DirectoryOnly || isDirectory) && pattern.Regex.IsMatch(relativePath))
            {
                return !pattern.Negated;
            }
        }

        return null;
    }

    /// <summary>Whether a path (relative to the scanned root) is ignored by a chain of files, root first.</summary>
    public static bool IsIgnored(IReadOnlyList<GitIgnore> chain, string rootRelativePath, bool isDirectory)
    {
        // Deeper files take precedence over shallower ones.
        for (int i = chain.Count - 1; i >= 0; i--)
        {
            var ignore = chain[i];
            if (ignore.Decide(rootRelativePath[ignore.BaseDirectory.Length..], isDirectory) is { } decided)
            {
                return decided;
            }
        }

        return false;
    }

    private static Pattern? Compile(string raw)
    {
        var line = TrimTrailingSpaces(raw.TrimEnd('\r'));
        if (line.Length == 0 || line[0] == '#')
        {
            return null;
        }

        bool negated = false;
        if (line[0] == '!')
        {
            negated = true;
            line = line[1..];
        }
        else if (line.StartsWith("\\!", StringComparison.Ordinal) || line.StartsWith("\\#", StringComparison.Ordinal))
        {
            line = line[1..];
        }

        bool directoryOnly = false;
        if (line.EndsWith('/'))
        {
            directoryOnly = true;
            line = line.TrimEnd('/');
        }

        if (line.Length == 0)
        {
            return null;
        }

        // A slash at the start or in the middle anchors the pattern to the .gitignore's folder.
        bool anchored = line.Contains('/', StringComparison.Ordinal);
        if (line[0] == '/')
        {
            line = line[1..];
        }

        var regex = new StringBuilder(anchored ? "^" : "^(?:.*/)?");
        int i = 0;
        while (i < line.Length)
        {
            char c = line[i];
            if (c == '*' && i + 1 < line.Length && line[i + 1] == '*'
                && (i == 0 || line[i - 1] == '/') && (i + 2 == line.Length || line[i + 2] == '/'))
            {
                if (i + 2 == line.Length)
                {
                    // "x/**": everything inside x (at the very start, "**" is everything).
                    regex.Append(i == 0 ? ".*" : ".+");
                    i += 2;
                }
                else
                {
                    // "**/x" or "a/**/x": zero or more folders.
                    regex.Append("(?:.*/)?");
                    i += 3;
                }

                continue;
            }

            switch (c)
            {
                case '*':
                    while (i + 1 < line.Length && line[i + 1] == '*')
                    {
                        i++;
                    }

                    regex.Append("[^/]*");
                    break;
                case '?':
                    regex.Append("[^/]");
                    break;
                case '[':
                    int close = ClassEnd(line, i);
                    if (close < 0)
                    {
                        regex.Append("\\[");
                        break;
                    }

                    var body = line[(i + 1)..close];
                    regex.Append('[');
                    if (body.StartsWith('!') || body.StartsWith('^'))
                    {
                        regex.Append('^');
                        body = body[1..];
                    }

                    regex.Append(body.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("[", "\\[", StringComparison.Ordinal)).Append(']');
                    i = close;
                    break;
                case '\\' when i + 1 < line.Length:
                    i++;
                    regex.Append(Regex.Escape(line[i].ToString()));
                    break;
                default:
                    regex.Append(Regex.Escape(c.ToString()));
                    break;
            }

            i++;
        }

        // A pattern naming a folder also covers what is inside it (when it is checked for its own sake).
        regex.Append("(?:/.*)?$");
        return new Pattern(new Regex(regex.ToString(), RegexOptions.CultureInvariant | RegexOptions.Singleline), negated, directoryOnly);
    }

    // "[]a]" and "[!]a]" hold ']' as their first member.
    private static int ClassEnd(string line, int open)
    {
        int j = open + 1;
        if (j < line.Length && line[j] is '!' or '^')
        {
            j++;
        }

        if (j < line.Length && line[j] == ']')
        {
            j++;
        }

        return line.IndexOf(']', j);
    }

    // Trailing spaces are dropped unless escaped with a backslash.
    private static string TrimTrailingSpaces(string line)
    {
        int end = line.Length;
        while (end > 0 && line[end - 1] == ' ' && !(end >= 2 && line[end - 2] == '\\'))
        {
            end--;
        }

        var trimmed = line[..end];
        return trimmed.EndsWith("\\ ", StringComparison.Ordinal) ? trimmed[..^2] + " " : trimmed;
    }
}
