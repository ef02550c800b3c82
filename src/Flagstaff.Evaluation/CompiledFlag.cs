using Flagstaff.Evaluation.Internal;

namespace Flagstaff.Evaluation;

/// <summary>
/// One flag of a configuration, compiled: its conditions are resolved into rule objects that match
/// without parsing anything. Immutable and thread-safe.
/// </summary>
public sealed class CompiledFlag
{
    private readonly Condition[] _conditions;
    private readonly ServedVariation _defaultVariation;

    internal CompiledFlag(string slug, Condition[] conditions, ServedVariation defaultVariation, string? error)
    {
        Slug = slug;
        SlugHash = FlagMap.Hash(slug);
        _conditions = conditions;
        _defaultVariation = defaultVariation;
        Error = error;
    }

    /// <summary>The flag's key.</summary>
    public string Slug { get; }

    internal int SlugHash { get; }

    /// <summary>
    /// Why the flag could not be loaded, when it was loaded leniently despite an error: such a flag
    /// evaluates inactive with <see cref="EvaluationReason.Error"/>. Null for a valid flag.
    /// </summary>
    public string? Error { get; }

    /// <summary>The number of conditions.</summary>
    public int ConditionCount => _conditions.Length;

    /// <summary>Whether condition <paramref name="index"/> includes a percentage rule (its match is a split).</summary>
    public bool IsSplit(int index) => _conditions[index].IsSplit;

    /// <summary>The variation condition <paramref name="index"/> serves.</summary>
    public ServedVariation GetConditionVariation(int index) => _conditions[index].Variation;

    /// <summary>What the flag serves when no condition matches.</summary>
    public ServedVariation DefaultVariation => _defaultVariation;

    internal static CompiledFlag Invalid(string slug, string error) => new(slug, [], ServedVariation.Inactive, error);

    /// <summary>
    /// Evaluates the flag for a context. Never throws for a valid flag and context.
    /// </summary>
    /// <param name="context">Who the flag is evaluated for.</param>
    /// <param name="now">
    /// The current time in milliseconds since the Unix epoch, read by rules on the <c>timestamp</c>
    /// property when the context does not set it (how SDKs make schedules work offline); null for none.
    /// </param>
    public EvaluationResult Evaluate(EvaluationContext context, long? now = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Error is not null)
        {
            return EvaluationResult.Failed(Error);
        }

        var conditions = _conditions;
        var lookup = new Lookup(context, now);
        for (int c = 0; c < conditions.Length; c++)
        {
            var condition = conditions[c];
            if (condition.Matches(ref lookup))
            {
                return EvaluationResult.Matched(
                    condition.Variation,
                    condition.IsSplit ? EvaluationReason.Split : EvaluationReason.TargetingMatch,
                    c);
            }
        }

        return EvaluationResult.FromDefault(_defaultVariation);
    }
}

/// <summary>A compiled condition: rules that must all match, and what it serves.</summary>
internal sealed class Condition
{
    private readonly Rule[] _rules;

    public Condition(Rule[] rules, ServedVariation variation)
    {
        _rules = rules;
        Variation = variation;
        foreach (var rule in rules)
        {
            IsSplit |= rule.IsPercentage;
        }
    }

    public ServedVariation Variation { get; }

    public bool IsSplit { get; }

    public ReadOnlySpan<Rule> Rules => _rules;

    public bool Matches(ref Lookup lookup)
    {
        foreach (var rule in _rules)
        {
            if (!rule.Evaluate(ref lookup))
            {
                return false;
            }
        }

        return true;
    }
}
