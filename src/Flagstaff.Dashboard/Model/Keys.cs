using System.Text;

namespace Flagstaff.Dashboard.Model;

/// <summary>Keys suggested from names.</summary>
public static class Keys
{
    /// <summary>A key from a name: "New search cluster" gives "new-search-cluster".</summary>
    public static string Slug(string? name)
    {
        var builder = new StringBuilder();
        foreach (char c in (name ?? "").Trim().ToLowerInvariant())
        {
            if (char.IsAsciiLetterOrDigit(c) || c is '.' or '_')
            {
                builder.Append(c);
            }
            else if (builder.Length > 0 && builder[^1] != '-')
            {
                builder.Append('-');
            }
        }

        var slug = builder.ToString().Trim('-');
        return slug.Length > 100 ? slug[..100] : slug;
    }

    /// <summary>A new identifier for a rule, short and stable across edits.</summary>
    public static string NewRuleId() => "r" + Guid.NewGuid().ToString("N")[..8];
}
