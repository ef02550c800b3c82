using System.Text;
using System.Text.RegularExpressions;

namespace Flagstaff.Evaluation.Internal;

/// <summary>
/// Compiles a JavaScript regular expression (no flags) into a .NET one with the same meaning.
/// <see cref="RegexOptions.ECMAScript"/> gives JavaScript's <c>\d</c>, <c>\w</c> and back-reference
/// rules; three differences remain and are rewritten here: <c>$</c> matches only at the very end in
/// JavaScript (.NET also matches before a final newline), <c>.</c> excludes every line terminator
/// (.NET only excludes <c>\n</c>), and <c>\s</c> covers Unicode spaces (.NET's ECMAScript mode only
/// ASCII ones).
/// </summary>
internal static class JsRegex
{
    // ECMAScript WhiteSpace and LineTerminator code points.
    private const string Spaces = @"\t\n\v\f\r \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF";

    public static Regex Compile(string pattern, TimeSpan timeout) =>
        new(Translate(pattern), RegexOptions.ECMAScript, timeout);

    public static string Translate(string pattern)
    {
        var result = new StringBuilder(pattern.Length + 16);
        bool inClass = false;
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                char next = pattern[++i];
                switch (next)
                {
                    case 's':
                        result.Append(inClass ? Spaces : "[" + Spaces + "]");
                        break;
                    case 'S' when !inClass:
                        result.Append("[^" + Spaces + "]");
                        break;
                    default:
                        // Includes \S inside a class, which .NET's own \S approximates (a class cannot
                        // hold the complement of another).
                        result.Append(c).Append(next);
                        break;
                }

                continue;
            }

            if (inClass)
            {
                if (c == ']')
                {
                    inClass = false;
                }

                result.Append(c);
                continue;
            }

            switch (c)
            {
                case '[':
                    inClass = true;
                    result.Append(c);

                    // "[]" and "[^]" are legal in JavaScript (never matches / any character); a ']'
                    // right after '[' or '[^' closes the class there, unlike in .NET.
                    if (i + 1 < pattern.Length && pattern[i + 1] == '^')
                    {
                        result.Append('^');
                        i++;
                    }

                    if (i + 1 < pattern.Length && pattern[i + 1] == ']')
                    {
                        bool negated = result[^1] == '^';
                        result.Length -= negated ? 2 : 1;
                        result.Append(negated ? @"[\s\S]" : "(?!)");
                        inClass = false;
                        i++;
                    }

                    break;
                case '.':
                    result.Append(@"[^\n\r\u2028\u2029]");
                    break;
                case '$':
                    result.Append(@"\z");
                    break;
                default:
                    result.Append(c);
                    break;
            }
        }

        return result.ToString();
    }
}
