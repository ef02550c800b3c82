namespace Flagstaff.Evaluation;

/// <summary>What a condition (or the default) serves: active with a value, or inactive.</summary>
public sealed class ServedVariation
{
    /// <summary>The inactive variation (its value is never read).</summary>
    public static ServedVariation Inactive { get; } = new(false, FlagValue.Null);

    internal ServedVariation(bool active, FlagValue value)
    {
        Active = active;
        Value = value;
    }

    /// <summary>Whether the flag is on for the contexts this variation is served to.</summary>
    public bool Active { get; }

    /// <summary>The value served (meaningful when <see cref="Active"/>).</summary>
    public FlagValue Value { get; }

    /// <summary>Creates a variation. Active variations of true, false and null are shared instances.</summary>
    public static ServedVariation Create(bool active, FlagValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!active)
        {
            return value == FlagValue.Null ? Inactive : new ServedVariation(false, value);
        }

        return value == FlagValue.True ? ActiveTrue
            : value == FlagValue.False ? ActiveFalse
            : value == FlagValue.Null ? ActiveNull
            : new ServedVariation(true, value);
    }

    private static readonly ServedVariation ActiveTrue = new(true, FlagValue.True);
    private static readonly ServedVariation ActiveFalse = new(true, FlagValue.False);
    private static readonly ServedVariation ActiveNull = new(true, FlagValue.Null);
}
