using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Flagstaff.Evaluation;

namespace Flagstaff.Client.Internal;

/// <summary>
/// Turns an active flag's value into what the caller asked for. Implemented by structs so that the
/// evaluation path is specialised per type by the JIT: no boxing, no virtual call.
/// </summary>
internal interface IFlagConverter<T>
{
    /// <summary>Whether the caller passed a default (usage reports say which).</summary>
    bool HasDefault { get; }

    /// <summary>The type's name, for the message of a wrong-type result.</summary>
    string TypeName { get; }

    bool TryConvert(FlagValue value, out T result);

    /// <summary>The caller's default as an object for usage reports; called once per flag and thread.</summary>
    object? BoxDefault(T value);
}

internal static class Boxes
{
    public static readonly object True = true;
    public static readonly object False = false;
}

/// <summary>For IsActive: any active value is true.</summary>
internal readonly struct ActiveConverter : IFlagConverter<bool>
{
    public bool HasDefault => false;

    public string TypeName => "any value";

    public bool TryConvert(FlagValue value, out bool result)
    {
        result = true;
        return true;
    }

    public object? BoxDefault(bool value) => null;
}

internal readonly struct BooleanConverter : IFlagConverter<bool>
{
    public bool HasDefault => true;

    public string TypeName => "a boolean";

    public bool TryConvert(FlagValue value, out bool result)
    {
        var kind = value.Kind;
        result = kind == JsonValueKind.True;
        return kind is JsonValueKind.True or JsonValueKind.False;
    }

    public object? BoxDefault(bool value) => value ? Boxes.True : Boxes.False;
}

internal readonly struct StringConverter : IFlagConverter<string>
{
    public bool HasDefault => true;

    public string TypeName => "a string";

    public bool TryConvert(FlagValue value, out string result)
    {
        if (value.Kind == JsonValueKind.String)
        {
            result = value.AsString();
            return true;
        }

        result = null!;
        return false;
    }

    public object? BoxDefault(string value) => value;
}

internal readonly struct DoubleConverter : IFlagConverter<double>
{
    public bool HasDefault => true;

    public string TypeName => "a number";

    public bool TryConvert(FlagValue value, out double result)
    {
        if (value.Kind == JsonValueKind.Number)
        {
            result = value.AsNumber();
            return true;
        }

        result = 0;
        return false;
    }

    public object? BoxDefault(double value) => value;
}

internal readonly struct Int64Converter : IFlagConverter<long>
{
    // 2^63 as a double: the first value past long.MaxValue.
    private const double Limit = 9223372036854775808.0;

    public bool HasDefault => true;

    public string TypeName => "a whole number";

    public bool TryConvert(FlagValue value, out long result)
    {
        if (value.Kind == JsonValueKind.Number)
        {
            double number = value.AsNumber();
            if (number == Math.Floor(number) && number >= -Limit && number < Limit)
            {
                result = (long)number;
                return true;
            }
        }

        result = 0;
        return false;
    }

    public object? BoxDefault(long value) => value;
}

/// <summary>The untyped detail: the flag's value itself.</summary>
internal readonly struct ValueConverter : IFlagConverter<FlagValue?>
{
    public bool HasDefault => false;

    public string TypeName => "any value";

    public bool TryConvert(FlagValue value, out FlagValue? result)
    {
        result = value;
        return true;
    }

    public object? BoxDefault(FlagValue? value) => null;
}

/// <summary>JSON to T. Deserialising allocates the result; the default is serialised once for reports.</summary>
internal readonly struct JsonConverter<T>(JsonTypeInfo<T> typeInfo) : IFlagConverter<T>
{
    public bool HasDefault => true;

    public string TypeName => typeof(T).Name;

    public bool TryConvert(FlagValue value, out T result)
    {
        try
        {
            result = JsonSerializer.Deserialize(value.ToJsonUtf8(), typeInfo)!;
            return result is not null || value.Kind == JsonValueKind.Null;
        }
        catch (JsonException)
        {
            result = default!;
            return false;
        }
        catch (NotSupportedException)
        {
            result = default!;
            return false;
        }
    }

    public object? BoxDefault(T value)
    {
        try
        {
            return JsonSerializer.SerializeToElement(value, typeInfo);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
            return null;
        }
    }
}
