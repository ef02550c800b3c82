using System.Globalization;
using System.Text;

namespace Flagstaff.Evaluation.Internal;

/// <summary>Text operations with JavaScript's exact semantics, on spans.</summary>
internal static class JsText
{
    /// <summary>
    /// The most characters <see cref="ToLowerCase"/> writes for <paramref name="length"/> input characters:
    /// U+0130 is the one character whose lower case is longer (two characters).
    /// </summary>
    public static int MaxLowerCaseLength(int length) => length * 2;

    /// <summary>
    /// JavaScript's <c>String.prototype.toLowerCase</c>: the Unicode default (full) lower-case mapping.
    /// .NET's invariant mapping is the simple one; the two differ only for U+0130 (İ, two characters
    /// in JavaScript) and the final sigma rule, which are handled here.
    /// </summary>
    public static int ToLowerCase(ReadOnlySpan<char> source, Span<char> destination)
    {
        int written = 0;
        for (int i = 0; i < source.Length; i++)
        {
            char c = source[i];
            if (c < 0x80)
            {
                destination[written++] = c is >= 'A' and <= 'Z' ? (char)(c | 0x20) : c;
            }
            else if (c == '\u0130')
            {
                destination[written++] = 'i';
                destination[written++] = '\u0307';
            }
            else if (c == '\u03A3')
            {
                destination[written++] = IsFinalSigma(source, i) ? '\u03C2' : '\u03C3';
            }
            else if (char.IsHighSurrogate(c) && i + 1 < source.Length && char.IsLowSurrogate(source[i + 1]))
            {
                var rune = new Rune(c, source[i + 1]);
                var lower = Rune.ToLowerInvariant(rune);
                written += lower.EncodeToUtf16(destination[written..]);
                i++;
            }
            else
            {
                destination[written++] = char.ToLowerInvariant(c);
            }
        }

        return written;
    }

    // Final_Sigma (Unicode SpecialCasing): preceded by a cased letter (skipping case-ignorable
    // characters) and not followed by one.
    private static bool IsFinalSigma(ReadOnlySpan<char> text, int index)
    {
        int before = index - 1;
        while (before >= 0 && IsCaseIgnorable(text[before]))
        {
            before--;
        }

        if (before < 0 || !IsCased(text[before]))
        {
            return false;
        }

        int after = index + 1;
        while (after < text.Length && IsCaseIgnorable(text[after]))
        {
            after++;
        }

        return after >= text.Length || !IsCased(text[after]);
    }

    private static bool IsCased(char c) => CharUnicodeInfo.GetUnicodeCategory(c)
        is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter;

    private static bool IsCaseIgnorable(char c) => c is '\'' or '.' or ':' or '^' or '`' or '\u00B7' or '\u2019'
        || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol;

    /// <summary>
    /// Encodes text to UTF-8 exactly as the xxhashjs library (used by Tggl's SDKs) does before hashing:
    /// identical to UTF-8 for well-formed text; a lone surrogate is combined with the next code unit.
    /// Returns the number of bytes written; <paramref name="destination"/> needs 4 bytes per character at most.
    /// </summary>
    public static int ToHashBytes(ReadOnlySpan<char> text, Span<byte> destination)
    {
        int n = 0;
        for (int i = 0; i < text.Length; i++)
        {
            int c = text[i];
            if (c < 0x80)
            {
                destination[n++] = (byte)c;
            }
            else if (c < 0x800)
            {
                destination[n++] = (byte)(0xC0 | (c >> 6));
                destination[n++] = (byte)(0x80 | (c & 0x3F));
            }
            else if (c is < 0xD800 or >= 0xE000)
            {
                destination[n++] = (byte)(0xE0 | (c >> 12));
                destination[n++] = (byte)(0x80 | ((c >> 6) & 0x3F));
                destination[n++] = (byte)(0x80 | (c & 0x3F));
            }
            else
            {
                i++;
                int next = i < text.Length ? text[i] : 0;
                int cp = 0x10000 + (((c & 0x3FF) << 10) | (next & 0x3FF));
                destination[n++] = (byte)(0xF0 | (cp >> 18));
                destination[n++] = (byte)(0x80 | ((cp >> 12) & 0x3F));
                destination[n++] = (byte)(0x80 | ((cp >> 6) & 0x3F));
                destination[n++] = (byte)(0x80 | (cp & 0x3F));
            }
        }

        return n;
    }
}
