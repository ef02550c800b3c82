using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Flagstaff.Evaluation;

/// <summary>
/// The value a variation serves: any JSON value. Instances are created once when a configuration is
/// loaded and shared by every evaluation that returns them, so returning a value never allocates.
/// </summary>
public sealed class FlagValue : IEquatable<FlagValue>
{
    private readonly string? _string;
    private readonly double _number;
    private readonly byte[]? _rawJson;

    private FlagValue(JsonValueKind kind, string? text, double number, byte[]? rawJson)
    {
        Kind = kind;
        _string = text;
        _number = number;
        _rawJson = rawJson;
    }

    /// <summary>The JSON <c>null</c> value.</summary>
    public static FlagValue Null { get; } = new(JsonValueKind.Null, null, 0, null);

    /// <summary>The JSON <c>true</c> value.</summary>
    public static FlagValue True { get; } = new(JsonValueKind.True, null, 0, null);

    /// <summary>The JSON <c>false</c> value.</summary>
    public static FlagValue False { get; } = new(JsonValueKind.False, null, 0, null);

    /// <summary>The kind of JSON value: Null, True, False, Number, String, Array or Object.</summary>
    public JsonValueKind Kind { get; }

    /// <summary>Whether the value is <c>true</c> or <c>false</c>.</summary>
    public bool IsBoolean => Kind is JsonValueKind.True or JsonValueKind.False;

    /// <summary>The boolean value; <see cref="InvalidOperationException"/> when the value is not a boolean.</summary>
    public bool AsBoolean() => Kind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw new InvalidOperationException($"The value is {Kind}, not a boolean."),
    };

    /// <summary>The number; <see cref="InvalidOperationException"/> when the value is not a number.</summary>
    public double AsNumber() => Kind == JsonValueKind.Number
        ? _number
        : throw new InvalidOperationException($"The value is {Kind}, not a number.");

    /// <summary>The text; <see cref="InvalidOperationException"/> when the value is not a string.</summary>
    public string AsString() => Kind == JsonValueKind.String
        ? _string!
        : throw new InvalidOperationException($"The value is {Kind}, not a string.");

    /// <summary>Creates a boolean value.</summary>
    public static FlagValue FromBoolean(bool value) => value ? True : False;

    /// <summary>Creates a number value. Non-finite numbers have no JSON form and are refused.</summary>
    public static FlagValue FromNumber(double value)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "JSON numbers are finite.");
        }

        return new FlagValue(JsonValueKind.Number, null, value, null);
    }

    /// <summary>Creates a string value.</summary>
    public static FlagValue FromString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new FlagValue(JsonValueKind.String, value, 0, null);
    }

    /// <summary>Creates a value from a JSON element (copied; the element's document may be disposed afterwards).</summary>
    public static FlagValue FromJson(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Null => Null,
        JsonValueKind.True => True,
        JsonValueKind.False => False,
        JsonValueKind.Number => FromNumber(element.GetDouble()),
        JsonValueKind.String => FromString(element.GetString()!),
        JsonValueKind.Array or JsonValueKind.Object => new FlagValue(element.ValueKind, null, 0, Compact(element)),
        _ => throw new ArgumentException($"A {element.ValueKind} element has no value.", nameof(element)),
    };

    /// <summary>An array or object value from its compact JSON (used by the loader, which compacts it).</summary>
    internal static FlagValue FromCompactJson(JsonValueKind kind, byte[] compactJson) => new(kind, null, 0, compactJson);

    private static byte[] Compact(JsonElement element)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            element.WriteTo(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes the value to a JSON writer.</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        switch (Kind)
        {
            case JsonValueKind.Null:
                writer.WriteNullValue();
                break;
            case JsonValueKind.True:
                writer.WriteBooleanValue(true);
                break;
            case JsonValueKind.False:
                writer.WriteBooleanValue(false);
                break;
            case JsonValueKind.Number:
                writer.WriteNumberValue(_number);
                break;
            case JsonValueKind.String:
                writer.WriteStringValue(_string);
                break;
            default:
                writer.WriteRawValue(_rawJson!, skipInputValidation: true);
                break;
        }
    }

    /// <summary>The value as a <see cref="JsonElement"/> (a new document each call).</summary>
    public JsonElement ToJsonElement()
    {
        using var document = JsonDocument.Parse(ToJsonUtf8());
        return document.RootElement.Clone();
    }

    /// <summary>The value as compact JSON text.</summary>
    public string ToJson() => Encoding.UTF8.GetString(ToJsonUtf8());

    /// <summary>The value as compact UTF-8 JSON.</summary>
    public byte[] ToJsonUtf8()
    {
        if (_rawJson is not null)
        {
            return _rawJson;
        }

        var buffer = new System.Buffers.ArrayBufferWriter<byte>(16);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteTo(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        JsonValueKind.String => _string!,
        JsonValueKind.Number => _number.ToString("R", CultureInfo.InvariantCulture),
        _ => ToJson(),
    };

    /// <summary>JSON equality: same kind and same value (objects and arrays compared by their compact text).</summary>
    public bool Equals(FlagValue? other)
    {
        if (ReferenceEquals(this, other))
        {
            return true;
        }

        if (other is null || other.Kind != Kind)
        {
            return false;
        }

        return Kind switch
        {
            JsonValueKind.Number => _number.Equals(other._number),
            JsonValueKind.String => string.Equals(_string, other._string, StringComparison.Ordinal),
            JsonValueKind.Array or JsonValueKind.Object => _rawJson.AsSpan().SequenceEqual(other._rawJson),
            _ => true,
        };
    }

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as FlagValue);

    /// <inheritdoc />
    public override int GetHashCode() => Kind switch
    {
        JsonValueKind.Number => _number.GetHashCode(),
        JsonValueKind.String => StringComparer.Ordinal.GetHashCode(_string!),
        JsonValueKind.Array or JsonValueKind.Object => HashBytes(_rawJson!),
        _ => (int)Kind,
    };

    private static int HashBytes(byte[] bytes)
    {
        var hash = default(HashCode);
        hash.AddBytes(bytes);
        return hash.ToHashCode();
    }
}
