namespace Flagstaff.Evaluation;

/// <summary>What a rule's operator needs as its operand, in the flag format's fields.</summary>
public enum OperandKind
{
    /// <summary>Nothing (EMPTY, TRUE).</summary>
    None,

    /// <summary>A list of strings (<c>values</c>).</summary>
    Values,

    /// <summary>One string (<c>value</c>).</summary>
    Text,

    /// <summary>A regular expression (<c>value</c>).</summary>
    Pattern,

    /// <summary>One number (<c>value</c>).</summary>
    Number,

    /// <summary>An instant (<c>timestamp</c> or <c>iso</c>).</summary>
    Date,

    /// <summary>A version such as 2.4.0 (<c>version</c>).</summary>
    Version,

    /// <summary>A range of the bucketing space (<c>rangeStart</c>, <c>rangeEnd</c>, <c>seed</c>).</summary>
    Range,
}

/// <summary>
/// The operators of the flag format (docs/wire/flag-format.md) and the operand each needs: the one list
/// the evaluator, the server's validation and compiler, and the dashboard's rule builder all read.
/// </summary>
public static class Operators
{
#pragma warning disable CS1591 // The names are the wire's own.
    public const string Empty = "EMPTY";
    public const string True = "TRUE";
    public const string StrEqual = "STR_EQUAL";
    public const string StrEqualSoft = "STR_EQUAL_SOFT";
    public const string StrContains = "STR_CONTAINS";
    public const string StrStartsWith = "STR_STARTS_WITH";
    public const string StrEndsWith = "STR_ENDS_WITH";
    public const string StrAfter = "STR_AFTER";
    public const string StrBefore = "STR_BEFORE";
    public const string Regexp = "REGEXP";
    public const string Eq = "EQ";
    public const string Lt = "LT";
    public const string Gt = "GT";
    public const string ArrOverlap = "ARR_OVERLAP";
    public const string DateAfter = "DATE_AFTER";
    public const string DateBefore = "DATE_BEFORE";
    public const string SemverEq = "SEMVER_EQ";
    public const string SemverGte = "SEMVER_GTE";
    public const string SemverLte = "SEMVER_LTE";
    public const string Percentage = "PERCENTAGE";
#pragma warning restore CS1591

    /// <summary>Every operator and the operand it needs, in the flag format's order.</summary>
    public static IReadOnlyDictionary<string, OperandKind> Operands { get; } = new Dictionary<string, OperandKind>(StringComparer.Ordinal)
    {
        [Empty] = OperandKind.None,
        [True] = OperandKind.None,
        [StrEqual] = OperandKind.Values,
        [StrEqualSoft] = OperandKind.Values,
        [StrContains] = OperandKind.Values,
        [StrStartsWith] = OperandKind.Values,
        [StrEndsWith] = OperandKind.Values,
        [StrAfter] = OperandKind.Text,
        [StrBefore] = OperandKind.Text,
        [Regexp] = OperandKind.Pattern,
        [Eq] = OperandKind.Number,
        [Lt] = OperandKind.Number,
        [Gt] = OperandKind.Number,
        [ArrOverlap] = OperandKind.Values,
        [DateAfter] = OperandKind.Date,
        [DateBefore] = OperandKind.Date,
        [SemverEq] = OperandKind.Version,
        [SemverGte] = OperandKind.Version,
        [SemverLte] = OperandKind.Version,
        [Percentage] = OperandKind.Range,
    };
}
