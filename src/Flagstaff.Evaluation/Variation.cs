namespace Flagstaff.Evaluation;

/// <summary>What a condition (or the default) serves: active with a value, or inactive.</summary>
public sealed class Variation
{
    /// <summary>The inactive variation (its value is never read).</summary>
    public static Variation Inactive { get; } = new(false, FlagValue.Null);

    internal Variation(bool active, FlagValue value)
    {
        Active = active;
        Value = value;
    }

    /// <summary>Whether the flag is on for the contexts this variation is served to.</summary>
    public bool Active { get; }

    /// <summary>The value served (meaningful when <see cref="Active"/>).</summary>
    public FlagValue Value { get; }

    /// <summary>Creates a variation. Active variations of true, false and null are shared instances.</summary>
    public static Variation Create(bool active, FlagValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!active)
        {
            return value == FlagValue.Null ? Inactive : new Variation(false, value);
        }

        return value == FlagValue.True ? ActiveTrue
            : value == FlagValue.False ? ActiveFalse
            : value == FlagValue.Null ? ActiveNull
            : new Variation(true, value);
    }

    private static readonly Variation ActiveTrue = new(true, FlagValue.True);
    private static readonly Variation ActiveFalse = new(true, FlagValue.False);
    private static readonly Variation ActiveNull = new(true, FlagValue.Null);
}
