using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Flagstaff.Dashboard.Model;

/// <summary>
/// The server's field paths in the screen's words and numbering: <c>rules[1].serve</c> is "Rule 2
/// serve", as the rule builder labels it, not a zero-based index. The one place that maps them, for
/// every message the dashboard shows.
/// </summary>
public static partial class FieldNames
{
    // What a list's items are called on screen (numbered from 1), and names said differently there.
    private static readonly Dictionary<string, string> Items = new(StringComparer.Ordinal)
    {
        ["rules"] = "rule",
        ["clauses"] = "condition",
        ["variations"] = "variation",
        ["buckets"] = "share",
        ["steps"] = "step",
        ["values"] = "value",
        ["tags"] = "tag",
        ["ids"] = "id",
        ["environments"] = "environment",
    };

    private static readonly Dictionary<string, string?> Words = new(StringComparer.Ordinal)
    {
        ["defaultServe"] = "default serve",
        ["buckets"] = "shares",
        ["split"] = null,
    };

    /// <summary>A path as the screen names it: "Rule 2 condition 1 values", "Default serve shares".</summary>
    public static string Describe(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var words = new List<string>();
        string? environment = null;
        var parts = path.Split('.', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < parts.Length; i++)
        {
            var match = Part().Match(parts[i]);
            if (!match.Success)
            {
                words.Add(parts[i]);
                continue;
            }

            var name = match.Groups["name"].Value;

            // A flag's targeting is keyed by environment ("environments.production.rules[0]"): said last, in brackets.
            if (name == "environments" && match.Groups["index"].Captures.Count == 0 && i + 1 < parts.Length)
            {
                environment = parts[++i];
                continue;
            }

            var indexes = match.Groups["index"].Captures;
            if (indexes.Count > 0 && Items.TryGetValue(name, out var item))
            {
                words.Add(item + " " + string.Join(".", indexes.Select(c => (int.Parse(c.Value, CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture))));
                continue;
            }

            var word = Words.TryGetValue(name, out var said) ? said : Spaced(name);
            if (word is not null)
            {
                words.Add(word);
            }

            foreach (Capture index in indexes)
            {
                words.Add("item " + (int.Parse(index.Value, CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture));
            }
        }

        var text = string.Join(" ", words);
        if (environment is not null)
        {
            text = text.Length == 0 ? environment : $"{text} ({environment})";
        }

        return text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
    }

    // camelCase in words: "stickinessProperty" is "stickiness property".
    private static string Spaced(string name)
    {
        var text = new StringBuilder(name.Length + 4);
        foreach (var c in name)
        {
            if (char.IsUpper(c) && text.Length > 0)
            {
                text.Append(' ').Append(char.ToLowerInvariant(c));
            }
            else
            {
                text.Append(c);
            }
        }

        return text.ToString();
    }

    [GeneratedRegex(@"^(?<name>[A-Za-z_][A-Za-z0-9_-]*)(?:\[(?<index>\d{1,9})\])*$", RegexOptions.CultureInvariant)]
    private static partial Regex Part();
}
