using Flagstaff.Evaluation.Internal;

namespace Flagstaff.Evaluation;

/// <summary>
/// Where a context falls in percentage rules, computed by the same code the evaluator uses, so that a
/// tool can show it (the dashboard's test panel) without placing anyone differently.
/// </summary>
public static class Bucketing
{
    /// <summary>
    /// Where the context's <paramref name="property"/> falls in [0, 1) for <paramref name="seed"/>: a
    /// PERCENTAGE rule with that property and seed matches exactly when the position is in its
    /// [rangeStart, rangeEnd). Null when the property is missing or neither a string nor a number
    /// (such a context is in no range).
    /// </summary>
    public static double? Position(EvaluationContext context, string property, uint seed)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(property);
        if (!context.TryGetValue(property, out var value))
        {
            return null;
        }

        double position = PercentageRule.Position(in value, seed);
        return double.IsNaN(position) ? null : position;
    }
}
