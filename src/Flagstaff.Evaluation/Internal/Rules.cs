using System.Buffers;

namespace Flagstaff.Evaluation.Internal;

// The compiled rules. Everything a rule needs is resolved when the configuration is loaded (value
// sets, parsed versions, compiled regular expressions), so matching parses nothing. The hot path
// avoids LINQ, closures, boxing and string allocation: text that must be derived from a property
// (JavaScript's String(n), lower-casing, UTF-8 for hashing) is written into stack buffers.

/// <summary>
/// The state of one evaluation: the context, the clock, and where the last property read was found,
/// since consecutive rules often read the same one (an id list, then a percentage, on userId). Only
/// integers are cached, so updating the cache costs no write barrier.
/// </summary>
internal struct Lookup(EvaluationContext context, long? now)
{
    public readonly EvaluationContext Context = context;
    public readonly long? Now = now;
    public int KeyId = -1;
    public int Index = -1;
}

/// <summary>A compiled rule: one operator applied to one context property.</summary>
internal abstract class Rule
{
    protected Rule(string key, bool negate)
    {
        Key = key;
        Negate = negate;
        IsTimestamp = key == TimestampKey;
    }

    /// <summary>
    /// A number standing for <see cref="Key"/>, the same for every rule of a load that reads the same
    /// property (set by the loader; -2 means none). Compared instead of the text on the hot path.
    /// </summary>
    public int KeyId { get; set; } = -2;

    /// <summary>The context property a server or SDK fills in with the current time.</summary>
    public const string TimestampKey = "timestamp";

    public string Key { get; }

    public bool Negate { get; }

    public bool IsTimestamp { get; }

    /// <summary>Whether this rule is a percentage (a match means a split decided).</summary>
    public virtual bool IsPercentage => false;

    public bool Evaluate(ref Lookup lookup)
    {
        int index;
        if (lookup.KeyId == KeyId)
        {
            index = lookup.Index;
        }
        else
        {
            index = lookup.Context.IndexOf(Key);
            lookup.KeyId = KeyId;
            lookup.Index = index;
        }

        if (index < 0)
        {
            if (IsTimestamp && lookup.Now.HasValue)
            {
                var now = ContextValue.FromNumber(lookup.Now.GetValueOrDefault());
                return Matches(in now);
            }

            return MatchesMissing();
        }

        ref readonly var value = ref lookup.Context.ValueAt(index);
        return value.Kind == ContextValueKind.Null ? MatchesMissing() : Matches(in value);
    }

    /// <summary>Missing or null: no match, whatever negate says (EMPTY overrides).</summary>
    protected virtual bool MatchesMissing() => false;

    protected abstract bool Matches(in ContextValue value);
}

internal sealed class EmptyRule(string key, bool negate) : Rule(key, negate)
{
    protected override bool MatchesMissing() => !Negate;

    protected override bool Matches(in ContextValue value) =>
        (value.Kind == ContextValueKind.String && value.String.Length == 0) != Negate;
}

internal sealed class TrueRule(string key, bool negate) : Rule(key, negate)
{
    protected override bool Matches(in ContextValue value) =>
        value.Kind == ContextValueKind.Boolean && value.Boolean == !Negate;
}

/// <summary>A set of strings: a short list is scanned, a long one hashed.</summary>
internal sealed class StringSet
{
    private const int HashThreshold = 8;
    private readonly string[] _items;
    private readonly HashSet<string>? _set;
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public StringSet(string[] items)
    {
        _items = items;
        if (items.Length > HashThreshold)
        {
            _set = new HashSet<string>(items, StringComparer.Ordinal);
            _lookup = _set.GetAlternateLookup<ReadOnlySpan<char>>();
        }
    }

    public ReadOnlySpan<string> Items => _items;

    public bool Contains(string value)
    {
        if (_set is not null)
        {
            return _set.Contains(value);
        }

        foreach (var item in _items)
        {
            if (item.Length == value.Length && string.Equals(item, value, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    public bool Contains(ReadOnlySpan<char> value)
    {
        if (_set is not null)
        {
            return _lookup.Contains(value);
        }

        foreach (var item in _items)
        {
            if (value.SequenceEqual(item))
            {
                return true;
            }
        }

        return false;
    }
}

internal sealed class StrEqualRule(string key, bool negate, StringSet values) : Rule(key, negate)
{
    protected override bool Matches(in ContextValue value) =>
        value.Kind == ContextValueKind.String && values.Contains(value.String) != Negate;
}

internal sealed class StrEqualSoftRule(string key, bool negate, StringSet values) : Rule(key, negate)
{
    private const int StackLimit = 256;

    protected override bool Matches(in ContextValue value)
    {
        if (value.Kind == ContextValueKind.Number)
        {
            // String(n), lower-cased ("NaN" and "Infinity" are the only texts with capitals).
            Span<char> text = stackalloc char[JsNumber.MaxLength];
            Span<char> lowerNumber = stackalloc char[JsNumber.MaxLength];
            int length = JsNumber.Format(value.Number, text);
            length = JsText.ToLowerCase(text[..length], lowerNumber);
            return values.Contains(lowerNumber[..length]) != Negate;
        }

        if (value.Kind != ContextValueKind.String)
        {
            return false;
        }

        var source = value.String.AsSpan();
        int max = JsText.MaxLowerCaseLength(source.Length);
        char[]? rented = null;
        Span<char> lower = max <= StackLimit ? stackalloc char[StackLimit] : (rented = ArrayPool<char>.Shared.Rent(max));
        try
        {
            int written = JsText.ToLowerCase(source, lower);
            return values.Contains(lower[..written]) != Negate;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }
}

internal sealed class StrContainsRule : Rule
{
    private readonly bool _containsEmpty;
    private readonly SearchValues<string>? _search;

    public StrContainsRule(string key, bool negate, string[] values)
        : base(key, negate)
    {
        _containsEmpty = Array.IndexOf(values, string.Empty) >= 0;
        if (!_containsEmpty && values.Length > 0)
        {
            _search = SearchValues.Create(values, StringComparison.Ordinal);
        }
    }

    protected override bool Matches(in ContextValue value)
    {
        if (value.Kind != ContextValueKind.String)
        {
            return false;
        }

        bool found = _containsEmpty || (_search is not null && value.String.AsSpan().IndexOfAny(_search) >= 0);
        return found != Negate;
    }
}

internal sealed class StrStartsWithRule(string key, bool negate, string[] values) : Rule(key, negate)
{
    protected override bool Matches(in ContextValue value)
    {
        if (value.Kind != ContextValueKind.String)
        {
            return false;
        }

        var text = value.String;
        foreach (var prefix in values)
        {
            if (text.StartsWith(prefix, StringComparison.Ordinal))
            {
                return !Negate;
            }
        }

        return Negate;
    }
}

internal sealed class StrEndsWithRule(string key, bool negate, string[] values) : Rule(key, negate)
{
    protected override bool Matches(in ContextValue value)
    {
        if (value.Kind != ContextValueKind.String)
        {
            return false;
        }

        var text = value.String;
        foreach (var suffix in values)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal))
            {
                return !Negate;
            }
        }

        return Negate;
    }
}

/// <summary>STR_AFTER (property &gt;= value) and STR_BEFORE (property &lt;= value), by UTF-16 code units.</summary>
internal sealed class StrCompareRule(string key, bool negate, string operand, bool after) : Rule(key, negate)
{
    protected override bool Matches(in ContextValue value)
    {
        if (value.Kind != ContextValueKind.String)
        {
            return false;
        }

        int c = string.CompareOrdinal(value.String, operand);
        return (after ? c >= 0 : c <= 0) != Negate;
    }
}

internal sealed class RegexRule(string key, bool negate, JsRegex? regex) : Rule(key, negate)
{
    /// <summary>
    /// Set when the pattern is valid JavaScript but refused (it has no linear-time evaluation): a
    /// lenient load keeps the rule, which never matches, whatever negate says.
    /// </summary>
    public bool IsRefused => regex is null;

    protected override bool Matches(in ContextValue value) =>
        value.Kind == ContextValueKind.String && regex is not null && regex.IsMatch(value.String) != Negate;
}

internal enum NumberComparison : byte
{
    Equal,
    Less,
    Greater,
}

internal sealed class NumberRule(string key, bool negate, double operand, NumberComparison comparison) : Rule(key, negate)
{
    protected override bool Matches(in ContextValue value)
    {
        if (value.Kind != ContextValueKind.Number)
        {
            return false;
        }

        double n = value.Number;
        bool result = comparison switch
        {
            NumberComparison.Equal => n == operand,
            NumberComparison.Less => n < operand,
            _ => n > operand,
        };
        return result != Negate;
    }
}

internal sealed class ArrOverlapRule(string key, bool negate, StringSet values) : Rule(key, negate)
{
    protected override bool Matches(in ContextValue value)
    {
        if (value.Kind != ContextValueKind.Array)
        {
            return false;
        }

        foreach (var element in value.ArrayStrings)
        {
            if (values.Contains(element))
            {
                return !Negate;
            }
        }

        return Negate;
    }
}

/// <summary>DATE_AFTER and DATE_BEFORE, with the spec's number and text forms.</summary>
internal sealed class DateRule(string key, bool negate, double timestamp, string iso, bool after) : Rule(key, negate)
{
    private const int IsoLength = 19;
    private const double SecondsLimit = 631152000000;
    private const string AfterFill = "2000-01-01T23:59:59";
    private const string BeforeFill = "2000-01-01T00:00:00";

    protected override bool Matches(in ContextValue value)
    {
        if (value.Kind == ContextValueKind.Number)
        {
            double ms = value.Number < SecondsLimit ? value.Number * 1000 : value.Number;
            return (after ? ms >= timestamp : ms <= timestamp) != Negate;
        }

        if (value.Kind != ContextValueKind.String)
        {
            return false;
        }

        var text = value.String.AsSpan();
        Span<char> completed = stackalloc char[IsoLength];
        if (text.Length >= IsoLength)
        {
            text[..IsoLength].CopyTo(completed);
        }
        else
        {
            text.CopyTo(completed);
            (after ? AfterFill : BeforeFill).AsSpan(text.Length).CopyTo(completed[text.Length..]);
        }

        int c = iso.AsSpan().SequenceCompareTo(completed);
        return (after ? c <= 0 : c >= 0) != Negate;
    }
}

internal enum VersionComparison : byte
{
    Equal,
    GreaterOrEqual,
    LessOrEqual,
}

/// <summary>SEMVER_EQ, SEMVER_GTE and SEMVER_LTE: the spec's walk over the rule's version parts.</summary>
internal sealed class VersionRule(string key, bool negate, double[] version, VersionComparison comparison) : Rule(key, negate)
{
    protected override bool Matches(in ContextValue value)
    {
        if (value.Kind != ContextValueKind.String)
        {
            return false;
        }

        // Walk the property's '.'-separated parts alongside the rule's numbers, parsing each part only
        // when it is reached. "".Split('.') is [""], so there is always at least one part.
        var rest = value.String.AsSpan();
        bool exhausted = false;
        for (int i = 0; i < version.Length; i++)
        {
            if (exhausted)
            {
                return Negate;
            }

            int dot = rest.IndexOf('.');
            ReadOnlySpan<char> part;
            if (dot < 0)
            {
                part = rest;
                exhausted = true;
            }
            else
            {
                part = rest[..dot];
                rest = rest[(dot + 1)..];
            }

            double n = JsNumber.Parse(part);
            double expected = version[i];
            switch (comparison)
            {
                case VersionComparison.Equal:
                    if (n != expected)
                    {
                        return Negate;
                    }

                    break;
                case VersionComparison.GreaterOrEqual:
                    if (n > expected)
                    {
                        return !Negate;
                    }

                    if (n < expected)
                    {
                        return Negate;
                    }

                    break;
                default:
                    if (n < expected)
                    {
                        return !Negate;
                    }

                    if (n > expected)
                    {
                        return Negate;
                    }

                    break;
            }
        }

        return !Negate;
    }
}

internal sealed class PercentageRule(string key, bool negate, double rangeStart, double rangeEnd, uint seed) : Rule(key, negate)
{
    private const int StackLimit = 128;

    // JavaScript's Number.EPSILON (2^-52): the reference SDKs subtract it from a fraction of exactly 1.
    private const double JsEpsilon = 2.220446049250313e-16;

    public override bool IsPercentage => !Negate;

    public double RangeStart => rangeStart;

    public double RangeEnd => rangeEnd;

    public uint Seed => seed;

    protected override bool Matches(in ContextValue value)
    {
        double fraction = Position(in value, seed);
        if (double.IsNaN(fraction))
        {
            return false;
        }

        return (fraction >= rangeStart && fraction < rangeEnd) != Negate;
    }

    /// <summary>Where a value lands in [0, 1) for a seed: strings as they are, numbers as JavaScript's String(n); NaN for any other kind.</summary>
    public static double Position(in ContextValue value, uint seed)
    {
        if (value.Kind == ContextValueKind.String)
        {
            return Fraction(value.String, seed);
        }

        if (value.Kind == ContextValueKind.Number)
        {
            Span<char> text = stackalloc char[JsNumber.MaxLength];
            int length = JsNumber.Format(value.Number, text);
            return Fraction(text[..length], seed);
        }

        return double.NaN;
    }

    /// <summary>Where a text lands in [0, 1) for a seed: XXH32 of its UTF-8 bytes over 0xFFFFFFFF.</summary>
    public static double Fraction(ReadOnlySpan<char> text, uint seed)
    {
        if (XxHash32.TryHashAscii(text, seed, out uint asciiHash))
        {
            return ToFraction(asciiHash);
        }

        if (text.Length <= StackLimit)
        {
            Span<byte> bytes = stackalloc byte[StackLimit * 4];
            return ToFraction(XxHash32.Hash(bytes[..JsText.ToHashBytes(text, bytes)], seed));
        }

        var rented = ArrayPool<byte>.Shared.Rent(text.Length * 4);
        try
        {
            return ToFraction(XxHash32.Hash(rented.AsSpan(0, JsText.ToHashBytes(text, rented)), seed));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static double ToFraction(uint hash)
    {
        double fraction = hash / (double)uint.MaxValue;
        return fraction == 1 ? 1 - JsEpsilon : fraction;
    }
}
