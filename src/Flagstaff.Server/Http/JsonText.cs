using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Flagstaff.Server.Http;

/// <summary>What is wrong with a value of a JSON body.</summary>
public enum JsonTextProblem
{
    /// <summary>A string that is not valid text.</summary>
    String,

    /// <summary>A property name that is not valid text.</summary>
    PropertyName,

    /// <summary>A number that a double cannot hold (such as 1e400).</summary>
    Number,
}

/// <summary>A value of a JSON body that cannot be read as what it says it is: where it is, for the error message.</summary>
/// <param name="Path">The JSON path of the value ("context.plan", "rules[0].values[2]"; "" for the root).</param>
/// <param name="Offset">Its position in the body, counting bytes from 1.</param>
/// <param name="Problem">What is wrong (for a property name, <paramref name="Path"/> is the object holding it).</param>
public readonly record struct InvalidJsonText(string Path, long Offset, JsonTextProblem Problem)
{
    /// <summary>What was wrong and where, in one sentence.</summary>
    public string Describe() => Problem switch
    {
        JsonTextProblem.Number => $"The number at {Where} (byte {Offset} of the body) is too large: {NumberRule}",
        JsonTextProblem.PropertyName => $"A property name at {Where} (byte {Offset} of the body) is not valid text: {TextRule}",
        _ => $"The string at {Where} (byte {Offset} of the body) is not valid text: {TextRule}",
    };

    /// <summary>What was wrong, for a validation error at <see cref="Path"/>.</summary>
    public string Reason() => Problem switch
    {
        JsonTextProblem.Number => $"is a number too large (byte {Offset} of the body): {NumberRule}",
        JsonTextProblem.PropertyName => $"holds a property name that is not valid text (byte {Offset} of the body): {TextRule}",
        _ => $"is not valid text (byte {Offset} of the body): {TextRule}",
    };

    private string Where => Path.Length == 0 ? "the top level" : Path;

    private const string TextRule = "JSON strings must be UTF-8 with no invalid bytes and no lone surrogate escapes such as \\ud800.";

    private const string NumberRule = "JSON numbers must fit in a double (1e400 does not).";
}

/// <summary>
/// Checks that every string and property name of a JSON body is valid Unicode text before the body is
/// parsed. System.Text.Json reads such strings lazily and fails only when one is converted to a .NET
/// string (with an <see cref="InvalidOperationException"/>, wherever that happens to be), so every body
/// a client can send is checked here, once, where it is read.
/// </summary>
public static class JsonText
{
    /// <summary>
    /// The first string of <paramref name="json"/> that is not valid text (and, with
    /// <paramref name="finiteNumbers"/>, the first number a double cannot hold), or null when there is
    /// none (or when the JSON itself is malformed: the parser that follows says so, with its position).
    /// </summary>
    /// <remarks>The pass allocates nothing unless it finds a problem.</remarks>
    public static InvalidJsonText? Find(ReadOnlySequence<byte> json, JsonReaderOptions options, bool finiteNumbers = false)
    {
        var reader = new Utf8JsonReader(json, options);
        try
        {
            while (reader.Read())
            {
                var problem = reader.TokenType switch
                {
                    JsonTokenType.String when !IsValid(ref reader) => JsonTextProblem.String,
                    JsonTokenType.PropertyName when !IsValid(ref reader) => JsonTextProblem.PropertyName,

                    // A double the serializer reads as infinity fails only when it is written again.
                    JsonTokenType.Number when finiteNumbers && !(reader.TryGetDouble(out double number) && double.IsFinite(number)) => JsonTextProblem.Number,
                    _ => (JsonTextProblem?)null,
                };
                if (problem is { } found)
                {
                    return new InvalidJsonText(PathTo(json, options, reader.TokenStartIndex), reader.TokenStartIndex + 1, found);
                }
            }
        }
        catch (JsonException)
        {
            // Malformed JSON is for the parser to report.
        }

        return null;
    }

    private static bool IsValid(ref Utf8JsonReader reader)
    {
        // A token split across buffer segments is rare (large bodies only); copying it is fine then.
        ReadOnlySpan<byte> raw = reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan;

        // Escapes are ASCII, so the raw bytes must be valid UTF-8 whether or not the string has escapes.
        return Utf8.IsValid(raw) && (!reader.ValueIsEscaped || SurrogateEscapesArePaired(raw));
    }

    // The reader has checked that every escape is well formed (a backslash, then one of "\/bfnrtu, and
    // four hex digits after u); what it leaves to conversion is whether \u escapes of surrogates pair up.
    private static bool SurrogateEscapesArePaired(ReadOnlySpan<byte> raw)
    {
        bool expectLow = false;
        for (int i = 0; i < raw.Length; i++)
        {
            if (raw[i] != (byte)'\\')
            {
                if (expectLow)
                {
                    return false;
                }

                continue;
            }

            if (raw[i + 1] != (byte)'u')
            {
                if (expectLow)
                {
                    return false;
                }

                i++;
                continue;
            }

            int unit = Hex(raw[i + 2]) << 12 | Hex(raw[i + 3]) << 8 | Hex(raw[i + 4]) << 4 | Hex(raw[i + 5]);
            i += 5;
            bool high = unit is >= 0xD800 and <= 0xDBFF;
            bool low = unit is >= 0xDC00 and <= 0xDFFF;
            if (low != expectLow)
            {
                return false;
            }

            expectLow = high;
        }

        return !expectLow;
    }

    private static int Hex(byte c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    // Only on the error path: reads the body again up to the bad token, keeping track of where it is.
    private static string PathTo(ReadOnlySequence<byte> json, JsonReaderOptions options, long offset)
    {
        var reader = new Utf8JsonReader(json, options);
        var frames = new List<(bool IsArray, int Index, string? Name)>();
        while (reader.Read())
        {
            var token = reader.TokenType;
            bool isValue = token is not (JsonTokenType.PropertyName or JsonTokenType.EndObject or JsonTokenType.EndArray or JsonTokenType.Comment);
            if (isValue && frames.Count > 0 && frames[^1].IsArray)
            {
                frames[^1] = frames[^1] with { Index = frames[^1].Index + 1 };
            }

            if (reader.TokenStartIndex == offset)
            {
                break;
            }

            switch (token)
            {
                case JsonTokenType.PropertyName:
                    frames[^1] = frames[^1] with { Name = reader.GetString() };
                    break;
                case JsonTokenType.StartObject:
                    frames.Add((false, -1, null));
                    break;
                case JsonTokenType.StartArray:
                    frames.Add((true, -1, null));
                    break;
                case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    frames.RemoveAt(frames.Count - 1);
                    break;
            }
        }

        var path = new StringBuilder();
        for (int i = 0; i < frames.Count; i++)
        {
            var (isArray, index, name) = frames[i];
            if (isArray)
            {
                path.Append('[').Append(index).Append(']');
            }
            else if (name is not null && (reader.TokenType != JsonTokenType.PropertyName || i < frames.Count - 1))
            {
                path.Append(path.Length == 0 ? "" : ".").Append(name);
            }
        }

        return path.ToString();
    }
}
