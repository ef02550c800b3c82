using Flagstaff.Domain;
using Flagstaff.Evaluation;

namespace Flagstaff.Dashboard.Model;

/// <summary>An operator as the rule builder offers it: the flag format's operator, negated or not, in words.</summary>
/// <param name="Operator">The operator of the flag format.</param>
/// <param name="Negate">Whether the clause is negated.</param>
/// <param name="Label">What it means, in words.</param>
public sealed record OperatorChoice(string Operator, bool Negate, string Label)
{
    /// <summary>The value a select uses for it: the operator, with a leading <c>!</c> when negated.</summary>
    public string Value => (Negate ? "!" : "") + Operator;
}

/// <summary>The operators that fit each type of context property, in words.</summary>
public static class OperatorChoices
{
    private static readonly string[] Text = [Operators.StrEqual, Operators.StrEqualSoft, Operators.StrContains, Operators.StrStartsWith, Operators.StrEndsWith, Operators.Regexp, Operators.StrAfter, Operators.StrBefore, Operators.Percentage, Operators.Empty];
    private static readonly string[] Numbers = [Operators.Eq, Operators.Lt, Operators.Gt, Operators.Empty];
    private static readonly string[] Versions = [Operators.SemverEq, Operators.SemverGte, Operators.SemverLte, Operators.Empty];
    private static readonly string[] Dates = [Operators.DateAfter, Operators.DateBefore, Operators.Empty];
    private static readonly string[] Booleans = [Operators.True, Operators.Empty];
    private static readonly string[] Lists = [Operators.ArrOverlap, Operators.Empty];

    /// <summary>The operators offered for a property of a type (every operator when the type is unknown).</summary>
    public static IReadOnlyList<OperatorChoice> For(PropertyType? type)
    {
        var operators = type switch
        {
            null => [.. Operators.Operands.Keys],
            PropertyType.Number => Numbers,
            PropertyType.Version => Versions,
            PropertyType.Date => Dates,
            PropertyType.Boolean => Booleans,
            PropertyType.StringArray => Lists,
            _ => Text,
        };
        return [.. operators.SelectMany(o => new[] { new OperatorChoice(o, false, Label(o, false)), new OperatorChoice(o, true, Label(o, true)) })];
    }

    /// <summary>An operator in words.</summary>
    public static string Label(string op, bool negate) => (op, negate) switch
    {
        ("STR_EQUAL", false) => "is one of",
        ("STR_EQUAL", true) => "is not one of",
        ("STR_EQUAL_SOFT", false) => "is one of (any case)",
        ("STR_EQUAL_SOFT", true) => "is not one of (any case)",
        ("STR_CONTAINS", false) => "contains any of",
        ("STR_CONTAINS", true) => "contains none of",
        ("STR_STARTS_WITH", false) => "starts with any of",
        ("STR_STARTS_WITH", true) => "starts with none of",
        ("STR_ENDS_WITH", false) => "ends with any of",
        ("STR_ENDS_WITH", true) => "ends with none of",
        ("STR_AFTER", false) => "comes after",
        ("STR_AFTER", true) => "does not come after",
        ("STR_BEFORE", false) => "comes before",
        ("STR_BEFORE", true) => "does not come before",
        ("REGEXP", false) => "matches the pattern",
        ("REGEXP", true) => "does not match the pattern",
        ("EQ", false) => "equals",
        ("EQ", true) => "does not equal",
        ("LT", false) => "is less than",
        ("LT", true) => "is not less than",
        ("GT", false) => "is greater than",
        ("GT", true) => "is not greater than",
        ("ARR_OVERLAP", false) => "has any of",
        ("ARR_OVERLAP", true) => "has none of",
        ("DATE_AFTER", false) => "is after",
        ("DATE_AFTER", true) => "is not after",
        ("DATE_BEFORE", false) => "is before",
        ("DATE_BEFORE", true) => "is not before",
        ("SEMVER_EQ", false) => "is version",
        ("SEMVER_EQ", true) => "is not version",
        ("SEMVER_GTE", false) => "is at least version",
        ("SEMVER_GTE", true) => "is below version",
        ("SEMVER_LTE", false) => "is at most version",
        ("SEMVER_LTE", true) => "is above version",
        ("EMPTY", false) => "is empty or missing",
        ("EMPTY", true) => "is set",
        ("TRUE", false) => "is true",
        ("TRUE", true) => "is not true",
        ("PERCENTAGE", false) => "falls in the percentage range",
        ("PERCENTAGE", true) => "falls outside the percentage range",
        _ => (negate ? "not " : "") + op,
    };

    /// <summary>What an operator needs as its operand (nothing for an unknown one).</summary>
    public static OperandKind Operand(string? op) => op is not null && Operators.Operands.TryGetValue(op, out var kind) ? kind : OperandKind.None;
}
