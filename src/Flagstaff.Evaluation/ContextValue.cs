using System.Runtime.CompilerServices;

namespace Flagstaff.Evaluation;

/// <summary>The JSON type of a context property, as the rules see it.</summary>
public enum ContextValueKind : byte
{
    /// <summary>JSON <c>null</c>.</summary>
    Null,

    /// <summary>A string.</summary>
    String,

    /// <summary>A number.</summary>
    Number,

    /// <summary>A boolean.</summary>
    Boolean,

    /// <summary>An array (rules only read its string elements).</summary>
    Array,

    /// <summary>An object (no rule but <c>EMPTY</c> reads it).</summary>
    Object,
}

/// <summary>
/// One property of an <see cref="EvaluationContext"/>. A small immutable struct: reading it during
/// evaluation copies no text and allocates nothing.
/// </summary>
public readonly struct ContextValue
{
    // A string or a string[] (by Kind): one reference keeps the struct at 24 bytes, cheap to copy.
    private readonly object? _reference;
    private readonly double _number;

    private ContextValue(ContextValueKind kind, string? text, double number, string[]? strings)
    {
        Kind = kind;
        _reference = (object?)text ?? strings;
        _number = number;
    }

    /// <summary>The property's JSON type.</summary>
    public ContextValueKind Kind { get; }

    /// <summary>The JSON <c>null</c> value.</summary>
    public static ContextValue Null => default;

    /// <summary>An object value (its content is not kept: no rule reads it).</summary>
    public static ContextValue Object { get; } = new(ContextValueKind.Object, null, 0, null);

    /// <summary>A string value.</summary>
    public static ContextValue FromString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new(ContextValueKind.String, value, 0, null);
    }

    /// <summary>A number value.</summary>
    public static ContextValue FromNumber(double value) => new(ContextValueKind.Number, null, value, null);

    /// <summary>A boolean value.</summary>
    public static ContextValue FromBoolean(bool value) => new(ContextValueKind.Boolean, null, value ? 1 : 0, null);

    /// <summary>
    /// An array value, given by its string elements: rules (<c>ARR_OVERLAP</c>) only ever compare
    /// string elements, so elements of other types need not be kept.
    /// </summary>
    public static ContextValue FromArray(IEnumerable<string> stringElements)
    {
        ArgumentNullException.ThrowIfNull(stringElements);
        return new(ContextValueKind.Array, null, 0, [.. stringElements]);
    }

    internal static ContextValue FromArrayUnsafe(string[] stringElements) =>
        new(ContextValueKind.Array, null, 0, stringElements);

    /// <summary>The string; valid when <see cref="Kind"/> is <see cref="ContextValueKind.String"/>.</summary>
    public string String => Kind == ContextValueKind.String ? Unsafe.As<string>(_reference!) : string.Empty;

    /// <summary>The number; valid when <see cref="Kind"/> is <see cref="ContextValueKind.Number"/>.</summary>
    public double Number => _number;

    /// <summary>The boolean; valid when <see cref="Kind"/> is <see cref="ContextValueKind.Boolean"/>.</summary>
    public bool Boolean => _number != 0;

    /// <summary>The string elements of an array value.</summary>
    public ReadOnlySpan<string> ArrayStrings => Kind == ContextValueKind.Array ? Unsafe.As<string[]>(_reference!) : [];
}
