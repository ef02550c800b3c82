namespace Flagstaff.Client;

/// <summary>Why an evaluation through the SDK gave its value.</summary>
public enum FlagReason : byte
{
    /// <summary>A condition of the flag matched on its rules.</summary>
    TargetingMatch,

    /// <summary>A condition with a percentage rule matched: a percentage split decided.</summary>
    Split,

    /// <summary>No condition matched: the flag's default variation decided.</summary>
    Default,

    /// <summary>
    /// The configuration has no such flag: the slug is unknown, or the flag is switched off in this
    /// environment (switched-off flags are not served). The caller's default is returned.
    /// </summary>
    FlagNotFound,

    /// <summary>The flag could not be evaluated (invalid in the configuration, a rule failed, or a remote call failed).</summary>
    Error,

    /// <summary>No configuration has arrived yet (or could be loaded): the caller's default is returned.</summary>
    NotReady,

    /// <summary>The flag is active but its value is not of the type asked for: the caller's default is returned.</summary>
    WrongType,

    /// <summary>
    /// The server evaluated the flag (remote evaluation). It reports active flags only, so an inactive or
    /// unknown flag gives the caller's default.
    /// </summary>
    Remote,
}

/// <summary>
/// The outcome of one evaluation: the value the application should use (the flag's, or the caller's
/// default), whether the flag was active, and why.
/// </summary>
/// <typeparam name="T">The type of the value.</typeparam>
public readonly struct EvaluationDetail<T>
{
    /// <summary>Creates a detail.</summary>
    /// <param name="value">The value to use.</param>
    /// <param name="isActive">Whether the flag was active for the context.</param>
    /// <param name="isDefault">Whether <paramref name="value"/> is the caller's default.</param>
    /// <param name="reason">Why.</param>
    /// <param name="conditionIndex">The index of the condition that matched, or -1.</param>
    /// <param name="errorMessage">What went wrong, if anything.</param>
    public EvaluationDetail(T value, bool isActive, bool isDefault, FlagReason reason, int conditionIndex, string? errorMessage)
    {
        Value = value;
        IsActive = isActive;
        IsDefault = isDefault;
        Reason = reason;
        ConditionIndex = conditionIndex;
        ErrorMessage = errorMessage;
    }

    /// <summary>The value to use: the flag's value when it is active and of the right type, else the caller's default.</summary>
    public T Value { get; }

    /// <summary>Whether the flag was active for the context (even if its value was of the wrong type).</summary>
    public bool IsActive { get; }

    /// <summary>Whether <see cref="Value"/> is the caller's default rather than the flag's value.</summary>
    public bool IsDefault { get; }

    /// <summary>Why the value is what it is.</summary>
    public FlagReason Reason { get; }

    /// <summary>The index of the condition that matched, or -1 (default variation, or no evaluation).</summary>
    public int ConditionIndex { get; }

    /// <summary>What went wrong, for <see cref="FlagReason.Error"/>, <see cref="FlagReason.WrongType"/> and <see cref="FlagReason.NotReady"/>.</summary>
    public string? ErrorMessage { get; }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Value} ({Reason}{(IsActive ? ", active" : ", inactive")}{(ErrorMessage is null ? string.Empty : ": " + ErrorMessage)})";
}
