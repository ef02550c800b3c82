using System.Globalization;

namespace Flagstaff.Evaluation.Internal;

/// <summary>
/// JavaScript's conversions between numbers and text, as the flag format requires:
/// <c>String(n)</c> (ECMAScript Number::toString) and <c>Number(text)</c> (StringToNumber).
/// Both work on spans so that evaluation does not allocate.
/// </summary>
internal static class JsNumber
{
    /// <summary>Enough for any double written the JavaScript way ("-1.2345678901234567e-308" is 24).</summary>
    public const int MaxLength = 32;

    /// <summary>Writes <paramref name="value"/> as JavaScript's <c>String(value)</c> does.</summary>
    public static int Format(double value, Span<char> destination)
    {
        if (double.IsNaN(value))
        {
            "NaN".CopyTo(destination);
            return 3;
        }

        if (value == 0)
        {
            // Both 0 and -0 are written "0".
            destination[0] = '0';
            return 1;
        }

        if (double.IsInfinity(value))
        {
            var text = value > 0 ? "Infinity" : "-Infinity";
            text.CopyTo(destination);
            return text.Length;
        }

        // Integers up to 2^53 are the common case (ids, counts): write them directly.
        if (Math.Abs(value) < 9007199254740992d && value == Math.Floor(value))
        {
            ((long)value).TryFormat(destination, out int written, default, CultureInfo.InvariantCulture);
            return written;
        }

        int pos = 0;
        if (value < 0)
        {
            destination[pos++] = '-';
            value = -value;
        }

        // .NET's "R" gives the shortest text that round-trips, as ECMAScript requires; it is then
        // reduced to its digits and decimal exponent and laid out by ECMAScript's rules.
        Span<char> shortest = stackalloc char[MaxLength];
        value.TryFormat(shortest, out int length, "R", CultureInfo.InvariantCulture);
        shortest = shortest[..length];

        Span<char> digits = stackalloc char[MaxLength];
        int k = 0;
        int exponentAdjust = 0;
        int pointPosition = -1;
        int i = 0;
        for (; i < shortest.Length; i++)
        {
            char c = shortest[i];
            if (c == '.')
            {
                pointPosition = k;
            }
            else if (c is 'E' or 'e')
            {
                break;
            }
            else
            {
                digits[k++] = c;
            }
        }

        if (i < shortest.Length)
        {
            exponentAdjust = int.Parse(shortest[(i + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        }

        // n: the position of the decimal point relative to the digit string (value = 0.digits × 10^n).
        int n = (pointPosition < 0 ? k : pointPosition) + exponentAdjust;

        // Strip leading zeros (e.g. "0.001" gives digits "0001").
        int lead = 0;
        while (lead < k - 1 && digits[lead] == '0')
        {
            lead++;
            n--;
        }

        digits = digits[lead..k];
        k -= lead;
        while (k > 1 && digits[k - 1] == '0')
        {
            k--;
        }

        digits = digits[..k];

        if (k <= n && n <= 21)
        {
            digits.CopyTo(destination[pos..]);
            pos += k;
            for (int z = 0; z < n - k; z++)
            {
                destination[pos++] = '0';
            }
        }
        else if (0 < n && n <= 21)
        {
            digits[..n].CopyTo(destination[pos..]);
            pos += n;
            destination[pos++] = '.';
            digits[n..].CopyTo(destination[pos..]);
            pos += k - n;
        }
        else if (-6 < n && n <= 0)
        {
            destination[pos++] = '0';
            destination[pos++] = '.';
            for (int z = 0; z < -n; z++)
            {
                destination[pos++] = '0';
            }

            digits.CopyTo(destination[pos..]);
            pos += k;
        }
        else
        {
            destination[pos++] = digits[0];
            if (k > 1)
            {
                destination[pos++] = '.';
                digits[1..].CopyTo(destination[pos..]);
                pos += k - 1;
            }

            destination[pos++] = 'e';
            int e = n - 1;
            destination[pos++] = e < 0 ? '-' : '+';
            Math.Abs(e).TryFormat(destination[pos..], out int ew, default, CultureInfo.InvariantCulture);
            pos += ew;
        }

        return pos;
    }

    /// <summary>Returns <c>String(value)</c> as a new string (for places off the hot path).</summary>
    public static string ToString(double value)
    {
        Span<char> buffer = stackalloc char[MaxLength];
        return new string(buffer[..Format(value, buffer)]);
    }

    /// <summary>Reads text the way JavaScript's <c>Number(text)</c> does; NaN when it is not a number.</summary>
    public static double Parse(ReadOnlySpan<char> text)
    {
        // Version parts are nearly always short runs of digits: read them directly.
        if (text.Length is > 0 and <= 15)
        {
            long digits = 0;
            int i = 0;
            for (; i < text.Length && char.IsAsciiDigit(text[i]); i++)
            {
                digits = (digits * 10) + (text[i] - '0');
            }

            if (i == text.Length)
            {
                return digits;
            }
        }

        text = TrimJsWhitespace(text);
        if (text.IsEmpty)
        {
            return 0;
        }

        if (text.Length > 2 && text[0] == '0')
        {
            int radix = text[1] switch
            {
                'x' or 'X' => 16,
                'o' or 'O' => 8,
                'b' or 'B' => 2,
                _ => 0,
            };
            if (radix != 0)
            {
                return ParseRadix(text[2..], radix);
            }
        }

        var unsigned = text[0] is '+' or '-' ? text[1..] : text;
        if (unsigned.SequenceEqual("Infinity"))
        {
            return text[0] == '-' ? double.NegativeInfinity : double.PositiveInfinity;
        }

        return IsDecimalLiteral(unsigned)
            && double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out double result)
            ? result
            : double.NaN;
    }

    private static double ParseRadix(ReadOnlySpan<char> digits, int radix)
    {
        double result = 0;
        foreach (char c in digits)
        {
            int d = c switch
            {
                >= '0' and <= '9' => c - '0',
                >= 'a' and <= 'z' => c - 'a' + 10,
                >= 'A' and <= 'Z' => c - 'A' + 10,
                _ => 99,
            };
            if (d >= radix)
            {
                return double.NaN;
            }

            result = (result * radix) + d;
        }

        return result;
    }

    // StrUnsignedDecimalLiteral: digits [. digits] [exponent] | . digits [exponent]. .NET's parser is
    // more permissive (thousands separators, "NaN", trailing/leading signs), hence this check first.
    private static bool IsDecimalLiteral(ReadOnlySpan<char> s)
    {
        int i = 0;
        int intDigits = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
        {
            i++;
            intDigits++;
        }

        int fracDigits = 0;
        if (i < s.Length && s[i] == '.')
        {
            i++;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                i++;
                fracDigits++;
            }
        }

        if (intDigits + fracDigits == 0)
        {
            return false;
        }

        if (i < s.Length && s[i] is 'e' or 'E')
        {
            i++;
            if (i < s.Length && s[i] is '+' or '-')
            {
                i++;
            }

            int expDigits = 0;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                i++;
                expDigits++;
            }

            if (expDigits == 0)
            {
                return false;
            }
        }

        return i == s.Length;
    }

    private static ReadOnlySpan<char> TrimJsWhitespace(ReadOnlySpan<char> text)
    {
        int start = 0;
        int end = text.Length;
        while (start < end && IsJsWhitespace(text[start]))
        {
            start++;
        }

        while (end > start && IsJsWhitespace(text[end - 1]))
        {
            end--;
        }

        return text[start..end];
    }

    // WhiteSpace and LineTerminator of ECMAScript: the Unicode "Zs" spaces plus a few control characters.
    private static bool IsJsWhitespace(char c) => c switch
    {
        '\t' or '\n' or '\v' or '\f' or '\r' or ' ' or '\u00A0' or '\u1680' or '\u2028' or '\u2029' or '\u202F'
            or '\u205F' or '\u3000' or '\uFEFF' => true,
        >= '\u2000' and <= '\u200A' => true,
        _ => false,
    };
}
