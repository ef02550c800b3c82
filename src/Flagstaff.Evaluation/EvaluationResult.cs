namespace Flagstaff.Evaluation;

/// <summary>Why an evaluation gave its result.</summary>
public enum EvaluationReason : byte
{
    /// <summary>A condition matched (by its rules, with no percentage among them).</summary>
    TargetingMatch,

    /// <summary>A condition with a percentage rule matched: a percentage split decided.</summary>
    Split,

    /// <summary>No condition matched: the default variation decided.</summary>
    Default,

    /// <summary>The configuration has no flag with that slug.</summary>
    FlagNotFound,

    /// <summary>The flag could not be evaluated (invalid in the configuration, or a rule failed).</summary>
    Error,
}

/// <summary>The outcome of evaluating one flag for one context.</summary>
public readonly struct EvaluationResult
{
    private EvaluationResult(FlagValue? value, EvaluationReason reason, int conditionIndex, string? errorMessage)
    {
        Value = value;
        Reason = reason;
        ConditionIndex = conditionIndex;
        ErrorMessage = errorMessage;
    }

    /// <summary>Whether the flag is active for the context.</summary>
    public bool IsActive => Value is not null;

    /// <summary>The value served when active (which may be JSON null or false); null when inactive.</summary>
    public FlagValue? Value { get; }

    /// <summary>Why the result is what it is.</summary>
    public EvaluationReason Reason { get; }

    /// <summary>The index of the condition that matched, or -1 when none did.</summary>
    public int ConditionIndex { get; }

    /// <summary>What went wrong, when <see cref="Reason"/> is <see cref="EvaluationReason.Error"/>.</summary>
    public string? ErrorMessage { get; }

    internal static EvaluationResult Matched(ServedVariation variation, EvaluationReason reason, int conditionIndex) =>
        new(variation.Active ? variation.Value : null, reason, conditionIndex, null);

    internal static EvaluationResult FromDefault(ServedVariation variation) =>
        new(variation.Active ? variation.Value : null, EvaluationReason.Default, -1, null);

    internal static EvaluationResult NotFound { get; } = new(null, EvaluationReason.FlagNotFound, -1, null);

    internal static EvaluationResult Failed(string message) => new(null, EvaluationReason.Error, -1, message);

    /// <inheritdoc />
    public override string ToString() => IsActive
        ? $"active {Value!.ToJson()} ({Reason}, condition {ConditionIndex})"
        : $"inactive ({Reason}{(ErrorMessage is null ? string.Empty : ": " + ErrorMessage)})";
}
