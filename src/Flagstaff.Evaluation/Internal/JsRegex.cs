using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Flagstaff.Evaluation.Internal;

/// <summary>
/// A JavaScript regular expression (no flags: the flag format's <c>REGEXP</c>) evaluated in linear
/// time. The pattern is parsed with JavaScript's grammar (including the web-compatibility rules of
/// Annex B: identity escapes, legacy octal escapes, a lone <c>{</c> or <c>]</c> as a literal) and
/// rewritten into a .NET pattern for <see cref="RegexOptions.NonBacktracking"/>, whose matching time
/// is linear in the input whatever the pattern, so no rule can be made to burn CPU.
/// <para>
/// Every character set (<c>\d</c>, <c>\w</c>, <c>\s</c>, <c>.</c>, classes and their negations) is
/// computed here as explicit UTF-16 ranges with JavaScript's definitions, so .NET's own (Unicode)
/// definitions never apply. The one construct .NET cannot be told to read the JavaScript way is the
/// word boundary (<c>\b</c>, <c>\B</c>): .NET's counts every Unicode letter as a word character,
/// JavaScript's only <c>[A-Za-z0-9_]</c>. A pattern with a boundary is therefore matched against the
/// input mapped to a small alphabet: every character is replaced by a representative of the class of
/// characters that no set of the pattern tells apart, chosen among ASCII word characters for
/// JavaScript word characters and among ASCII punctuation for the rest. On the mapped text .NET's
/// boundary is JavaScript's, and every set matches what it matched before.
/// </para>
/// <para>
/// Constructs with no linear-time evaluation (backreferences, lookahead, lookbehind) are refused
/// with <see cref="JsRegexException.IsUnsupported"/> set; so are repetition counts above
/// <see cref="MaxRepetition"/> and patterns that expand beyond <see cref="MaxExpandedSize"/>.
/// </para>
/// </summary>
internal sealed class JsRegex
{
    /// <summary>The largest repetition count (<c>{n,m}</c>) accepted.</summary>
    public const int MaxRepetition = 1000;

    /// <summary>The largest pattern, counted in atoms once its repetitions are expanded.</summary>
    public const int MaxExpandedSize = 20_000;

    private const int StackMapLength = 256;

    private readonly Regex _regex;
    private readonly CharMap? _map;

    private JsRegex(Regex regex, CharMap? map)
    {
        _regex = regex;
        _map = map;
    }

    /// <summary>The .NET pattern the JavaScript one was rewritten into (for tests and diagnostics).</summary>
    public string Translated => _regex.ToString();

    /// <summary>Compiles a JavaScript pattern, or throws <see cref="JsRegexException"/> saying why it cannot be used.</summary>
    public static JsRegex Compile(string pattern)
    {
        var parsed = new Parser(pattern).Parse();
        CharMap? map = parsed.HasBoundary ? CharMap.Create(parsed.Sets) : null;
        var text = new StringBuilder(pattern.Length * 4);
        foreach (var piece in parsed.Pieces)
        {
            if (piece.Set is { } set)
            {
                AppendSet(text, map is null ? set : map.Translate(set));
            }
            else
            {
                text.Append(piece.Text);
            }
        }

        try
        {
            return new JsRegex(new Regex(text.ToString(), RegexOptions.NonBacktracking | RegexOptions.CultureInvariant), map);
        }
        catch (Exception e) when (e is NotSupportedException or ArgumentException)
        {
            // The parser refuses what the engine cannot run; this is a last line of defence.
            throw new JsRegexException($"it cannot be evaluated in linear time ({e.Message})", unsupported: true);
        }
    }

    /// <summary>Whether the pattern matches anywhere in the input, as JavaScript's <c>RegExp.prototype.test</c>.</summary>
    public bool IsMatch(ReadOnlySpan<char> input)
    {
        if (_map is null)
        {
            return _regex.IsMatch(input);
        }

        char[]? rented = null;
        Span<char> mapped = input.Length <= StackMapLength
            ? stackalloc char[StackMapLength]
            : (rented = ArrayPool<char>.Shared.Rent(input.Length));
        mapped = mapped[..input.Length];
        _map.Map(input, mapped);
        bool result = _regex.IsMatch(mapped);
        if (rented is not null)
        {
            ArrayPool<char>.Shared.Return(rented);
        }

        return result;
    }

    private static void AppendSet(StringBuilder text, CharSet set)
    {
        var ranges = set.Ranges;
        if (ranges.Count == 0)
        {
            text.Append(@"[^\u0000-\uFFFF]");
            return;
        }

        if (ranges.Count == 1 && ranges[0].Lo == ranges[0].Hi)
        {
            AppendChar(text, ranges[0].Lo);
            return;
        }

        text.Append('[');
        foreach (var (lo, hi) in ranges)
        {
            AppendChar(text, lo);
            if (hi != lo)
            {
                text.Append('-');
                AppendChar(text, hi);
            }
        }

        text.Append(']');
    }

    private static void AppendChar(StringBuilder text, int c) =>
        text.Append(CultureInfo.InvariantCulture, $"\\u{c:X4}");

    /// <summary>A piece of the rewritten pattern: .NET syntax as it is, or a set of characters.</summary>
    private readonly record struct Piece(string? Text, CharSet? Set);

    private sealed record Parsed(List<Piece> Pieces, List<CharSet> Sets, bool HasBoundary);

    /// <summary>
    /// A recursive-descent parser of JavaScript's pattern grammar without flags (ECMA-262 22.2.1 and
    /// Annex B.1.2), emitting .NET syntax. Every group is emitted as non-capturing: only whether the
    /// pattern matches is ever asked.
    /// </summary>
    private sealed class Parser(string pattern)
    {
        private readonly List<Piece> _pieces = [];
        private readonly List<CharSet> _sets = [];
        private readonly HashSet<string> _groupNames = new(StringComparer.Ordinal);
        private int _position;
        private int _groupCount;
        private bool _hasBoundary;

        public Parsed Parse()
        {
            CountGroups();
            long size = ParseDisjunction();
            if (_position < pattern.Length)
            {
                // Only an unmatched ')' stops a disjunction before the end.
                throw Invalid("it has an unmatched ')'");
            }

            if (size > MaxExpandedSize)
            {
                throw Unsupported($"it is too large once its repetitions are expanded (more than {MaxExpandedSize} atoms)");
            }

            return new Parsed(_pieces, _sets, _hasBoundary);
        }

        private bool AtEnd => _position >= pattern.Length;

        private char Current => pattern[_position];

        private long ParseDisjunction()
        {
            long size = ParseAlternative();
            while (!AtEnd && Current == '|')
            {
                _position++;
                Emit("|");
                size += ParseAlternative();
            }

            return size;
        }

        private long ParseAlternative()
        {
            long size = 0;
            while (!AtEnd && Current != '|' && Current != ')')
            {
                size += ParseTerm();
            }

            return size;
        }

        private long ParseTerm()
        {
            char c = Current;
            switch (c)
            {
                case '^':
                    _position++;
                    Emit("^");
                    RefuseQuantifier();
                    return 0;
                case '$':
                    _position++;
                    Emit(@"\z");
                    RefuseQuantifier();
                    return 0;
                case '\\' when _position + 1 < pattern.Length && pattern[_position + 1] is 'b' or 'B':
                    Emit(pattern[_position + 1] == 'b' ? @"\b" : @"\B");
                    _position += 2;
                    _hasBoundary = true;
                    RefuseQuantifier();
                    return 0;
                case '(':
                    return ParseQuantifier(ParseGroup());
                case '[':
                    return ParseQuantifier(EmitSet(ParseClass()));
                case '.':
                    _position++;
                    return ParseQuantifier(EmitSet(CharSet.Dot));
                case '*' or '+' or '?':
                    throw Invalid($"'{c}' has nothing to repeat");
                case '{' when IsBracedQuantifier(_position, out _, out _, out _):
                    throw Invalid("a repetition {...} has nothing to repeat");
                case '\\':
                    return ParseQuantifier(EmitSet(ParseAtomEscape()));
                default:
                    // Annex B: ']', '{' and '}' outside a class or quantifier stand for themselves.
                    _position++;
                    return ParseQuantifier(EmitSet(CharSet.Single(c)));
            }
        }

        private long ParseGroup()
        {
            int start = _position;
            _position++;
            if (!AtEnd && Current == '?')
            {
                _position++;
                if (AtEnd)
                {
                    throw Invalid("it has an unterminated group");
                }

                switch (Current)
                {
                    case ':':
                        _position++;
                        break;
                    case '=' or '!':
                        throw Unsupported($"it uses a lookahead ({pattern.Substring(start, 3)}...), which has no linear-time evaluation");
                    case '<' when _position + 1 < pattern.Length && pattern[_position + 1] is '=' or '!':
                        throw Unsupported($"it uses a lookbehind ({pattern.Substring(start, 4)}...), which has no linear-time evaluation");
                    case '<':
                        _position++;
                        ReadGroupName();
                        break;
                    default:
                        throw Invalid($"it has an invalid group '(?{Current}'");
                }
            }

            Emit("(?:");
            long size = ParseDisjunction();
            if (AtEnd)
            {
                throw Invalid("it has an unterminated group");
            }

            _position++;
            Emit(")");
            return Math.Max(size, 1);
        }

        private string ReadGroupName()
        {
            int start = _position;
            while (!AtEnd && IsIdentifierChar(Current, _position == start))
            {
                _position++;
            }

            if (_position == start || AtEnd || Current != '>')
            {
                throw Invalid("it has an invalid capture group name");
            }

            var name = pattern[start.._position];
            _position++;
            return name;
        }

        private static bool IsIdentifierChar(char c, bool first) =>
            c is '$' or '_' || char.IsLetter(c) || (!first && char.IsDigit(c));

        private long ParseQuantifier(long atomSize)
        {
            if (AtEnd)
            {
                return atomSize;
            }

            long max;
            switch (Current)
            {
                case '*' or '+':
                    Emit(Current.ToString());
                    _position++;
                    max = 2;
                    break;
                case '?':
                    Emit("?");
                    _position++;
                    max = 1;
                    break;
                case '{' when IsBracedQuantifier(_position, out int min, out int? upper, out int end):
                    if (upper is int u && u < min)
                    {
                        throw Invalid($"the repetition {pattern[_position..end]} has its numbers out of order");
                    }

                    if (Math.Max(min, upper ?? 0) > MaxRepetition)
                    {
                        throw Unsupported($"it repeats more than {MaxRepetition} times ({pattern[_position..end]})");
                    }

                    Emit(pattern[_position..end]);
                    _position = end;
                    max = (upper ?? min) + (upper is null ? 1 : 0);
                    break;
                default:
                    return atomSize;
            }

            if (!AtEnd && Current == '?')
            {
                // Lazy and greedy repetition match the same texts; only the match found differs.
                _position++;
            }

            RefuseQuantifier();
            return atomSize * Math.Max(max, 1);
        }

        private void RefuseQuantifier()
        {
            if (!AtEnd && (Current is '*' or '+' or '?' || (Current == '{' && IsBracedQuantifier(_position, out _, out _, out _))))
            {
                throw Invalid($"'{Current}' has nothing to repeat");
            }
        }

        /// <summary>Whether a valid <c>{n}</c>, <c>{n,}</c> or <c>{n,m}</c> starts at <paramref name="at"/>.</summary>
        private bool IsBracedQuantifier(int at, out int min, out int? max, out int end)
        {
            min = 0;
            max = null;
            end = at;
            int i = at + 1;
            if (!ReadCount(ref i, out min))
            {
                return false;
            }

            if (i < pattern.Length && pattern[i] == ',')
            {
                i++;
                if (i < pattern.Length && char.IsAsciiDigit(pattern[i]))
                {
                    if (!ReadCount(ref i, out int upper))
                    {
                        return false;
                    }

                    max = upper;
                }
                else
                {
                    max = null;
                }
            }
            else
            {
                max = min;
            }

            if (i >= pattern.Length || pattern[i] != '}')
            {
                return false;
            }

            end = i + 1;
            return true;
        }

        private bool ReadCount(ref int i, out int value)
        {
            int start = i;
            value = 0;
            while (i < pattern.Length && char.IsAsciiDigit(pattern[i]))
            {
                if (value <= MaxRepetition)
                {
                    value = (value * 10) + (pattern[i] - '0');
                }

                i++;
            }

            // Past the maximum the count stays just above it: enough to refuse it.
            return i > start;
        }

        private CharSet ParseAtomEscape()
        {
            int start = _position;
            if (_position + 1 >= pattern.Length)
            {
                throw Invalid("it ends with a lone '\\'");
            }

            char e = pattern[_position + 1];
            if (e is >= '1' and <= '9')
            {
                int i = _position + 1;
                long number = 0;
                while (i < pattern.Length && char.IsAsciiDigit(pattern[i]) && number <= int.MaxValue)
                {
                    number = (number * 10) + (pattern[i] - '0');
                    i++;
                }

                if (number <= _groupCount)
                {
                    throw Unsupported($"it uses a backreference ({pattern[start..i]}), which has no linear-time evaluation");
                }
            }

            if (e == 'k' && _groupNames.Count > 0)
            {
                _position += 2;
                if (AtEnd || Current != '<')
                {
                    throw Invalid("it has an invalid named reference (\\k)");
                }

                _position++;
                var name = ReadGroupName();
                if (!_groupNames.Contains(name))
                {
                    throw Invalid($"it refers to a group <{name}> that does not exist");
                }

                throw Unsupported($"it uses a backreference (\\k<{name}>), which has no linear-time evaluation");
            }

            if (e == 'c' && !(_position + 2 < pattern.Length && char.IsAsciiLetter(pattern[_position + 2])))
            {
                // Annex B: "\c" not followed by a letter is a backslash; the 'c' is read next.
                _position++;
                return CharSet.Single('\\');
            }

            return ParseEscapeBody(inClass: false);
        }

        /// <summary>Reads an escape whose backslash is at the current position (class escapes and character escapes).</summary>
        private CharSet ParseEscapeBody(bool inClass)
        {
            char e = pattern[_position + 1];
            _position += 2;
            switch (e)
            {
                case 'd':
                    return CharSet.Digit;
                case 'D':
                    return CharSet.Digit.Complement();
                case 'w':
                    return CharSet.Word;
                case 'W':
                    return CharSet.Word.Complement();
                case 's':
                    return CharSet.Space;
                case 'S':
                    return CharSet.Space.Complement();
                case 'f':
                    return CharSet.Single('\f');
                case 'n':
                    return CharSet.Single('\n');
                case 'r':
                    return CharSet.Single('\r');
                case 't':
                    return CharSet.Single('\t');
                case 'v':
                    return CharSet.Single('\v');
                case 'b':
                    // Only reached inside a class, where \b is the backspace character.
                    return CharSet.Single('\b');
                case 'c':
                    {
                        char letter = pattern[_position];
                        _position++;
                        return CharSet.Single((char)(letter % 32));
                    }

                case 'x' when _position + 2 <= pattern.Length && IsHex(pattern.AsSpan(_position, 2)):
                    _position += 2;
                    return CharSet.Single((char)int.Parse(pattern.AsSpan(_position - 2, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                case 'u' when _position + 4 <= pattern.Length && IsHex(pattern.AsSpan(_position, 4)):
                    _position += 4;
                    return CharSet.Single((char)int.Parse(pattern.AsSpan(_position - 4, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                case >= '0' and <= '7':
                    {
                        // Annex B legacy octal: up to three digits, at most \377.
                        int value = e - '0';
                        int digits = e <= '3' ? 2 : 1;
                        while (digits-- > 0 && !AtEnd && Current is >= '0' and <= '7')
                        {
                            value = (value * 8) + (Current - '0');
                            _position++;
                        }

                        return CharSet.Single((char)value);
                    }

                case 'k' when inClass && _groupNames.Count > 0:
                    throw Invalid("it has an invalid escape \\k in a class");
                default:
                    // An identity escape: the character itself (\8, \A, \p, \-, \/ and the like).
                    return CharSet.Single(e);
            }
        }

        private static bool IsHex(ReadOnlySpan<char> text)
        {
            foreach (char c in text)
            {
                if (!char.IsAsciiHexDigit(c))
                {
                    return false;
                }
            }

            return true;
        }

        private CharSet ParseClass()
        {
            _position++;
            bool negated = !AtEnd && Current == '^';
            if (negated)
            {
                _position++;
            }

            var set = new CharSet();
            while (true)
            {
                if (AtEnd)
                {
                    throw Invalid("it has an unterminated character class");
                }

                if (Current == ']')
                {
                    _position++;
                    break;
                }

                var first = ParseClassAtom();
                if (!AtEnd && Current == '-' && _position + 1 < pattern.Length && pattern[_position + 1] != ']')
                {
                    _position++;
                    var second = ParseClassAtom();
                    if (first.SingleChar is int lo && second.SingleChar is int hi)
                    {
                        if (lo > hi)
                        {
                            throw Invalid("it has a character class range out of order");
                        }

                        set.Add(lo, hi);
                    }
                    else
                    {
                        // Annex B: a range with a class escape at either end is the two sets and '-'.
                        set.Add(first);
                        set.Add('-', '-');
                        set.Add(second);
                    }
                }
                else
                {
                    set.Add(first);
                }
            }

            return negated ? set.Complement() : set;
        }

        private CharSet ParseClassAtom()
        {
            char c = Current;
            if (c != '\\')
            {
                _position++;
                return CharSet.Single(c);
            }

            if (_position + 1 >= pattern.Length)
            {
                throw Invalid("it ends with a lone '\\'");
            }

            char e = pattern[_position + 1];
            if (e == 'c')
            {
                // Annex B: in a class, \c also takes a digit or '_'; otherwise it is a backslash.
                if (_position + 2 < pattern.Length && (char.IsAsciiLetterOrDigit(pattern[_position + 2]) || pattern[_position + 2] == '_'))
                {
                    return ParseEscapeBody(inClass: true);
                }

                _position++;
                return CharSet.Single('\\');
            }

            if (e is '8' or '9')
            {
                _position += 2;
                return CharSet.Single(e);
            }

            return ParseEscapeBody(inClass: true);
        }

        private long EmitSet(CharSet set)
        {
            _sets.Add(set);
            _pieces.Add(new Piece(null, set));
            return 1;
        }

        private void Emit(string text) => _pieces.Add(new Piece(text, null));

        /// <summary>Counts capturing groups and collects group names first: "\2" is a backreference only when there are two groups.</summary>
        private void CountGroups()
        {
            bool inClass = false;
            for (int i = 0; i < pattern.Length; i++)
            {
                char c = pattern[i];
                if (c == '\\')
                {
                    i++;
                }
                else if (inClass)
                {
                    inClass = c != ']';
                }
                else if (c == '[')
                {
                    inClass = true;

                    // "[]" and "[^]": the ']' right after the opening closes the class in JavaScript.
                    if (i + 1 < pattern.Length && pattern[i + 1] == '^')
                    {
                        i++;
                    }

                    if (i + 1 < pattern.Length && pattern[i + 1] == ']')
                    {
                        i++;
                        inClass = false;
                    }
                }
                else if (c == '(')
                {
                    if (i + 1 < pattern.Length && pattern[i + 1] == '?')
                    {
                        if (i + 2 < pattern.Length && pattern[i + 2] == '<' && i + 3 < pattern.Length && pattern[i + 3] is not ('=' or '!'))
                        {
                            _groupCount++;
                            int end = pattern.IndexOf('>', i + 3);
                            if (end > 0 && !_groupNames.Add(pattern[(i + 3)..end]))
                            {
                                throw Invalid($"it has two groups named <{pattern[(i + 3)..end]}>");
                            }
                        }
                    }
                    else
                    {
                        _groupCount++;
                    }
                }
            }
        }

        private static JsRegexException Invalid(string message) => new(message, unsupported: false);

        private static JsRegexException Unsupported(string message) => new(message, unsupported: true);
    }

    /// <summary>
    /// Maps every character to the representative of its class: the characters that no set of the
    /// pattern (and not JavaScript's word set) tells apart. Representatives are ASCII word characters
    /// for JavaScript word characters and ASCII non-word characters for the rest, so that .NET's word
    /// boundary on the mapped text is JavaScript's on the original.
    /// </summary>
    private sealed class CharMap
    {
        // ASCII characters .NET does not count as word characters (and no boundary joiner).
        private const string NonWordPool = "\0\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000B\f\r\u000E\u000F\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F !\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~\u007F";
        private const string WordPool = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

        private readonly List<(CharSet Block, char Representative)> _blocks;
        private readonly char[] _ascii = new char[128];
        private readonly int[] _starts;
        private readonly char[] _representatives;

        private CharMap(List<(CharSet Block, char Representative)> blocks)
        {
            _blocks = blocks;
            var segments = new List<(int Start, char Representative)>();
            foreach (var (block, representative) in blocks)
            {
                foreach (var (lo, hi) in block.Ranges)
                {
                    for (int c = lo; c <= Math.Min(hi, 127); c++)
                    {
                        _ascii[c] = representative;
                    }

                    if (hi >= 128)
                    {
                        segments.Add((Math.Max(lo, 128), representative));
                    }
                }
            }

            segments.Sort((a, b) => a.Start.CompareTo(b.Start));
            _starts = [.. segments.Select(s => s.Start)];
            _representatives = [.. segments.Select(s => s.Representative)];
        }

        public static CharMap Create(List<CharSet> sets)
        {
            var blocks = new List<CharSet> { CharSet.All };
            foreach (var set in sets.Append(CharSet.Word))
            {
                var split = new List<CharSet>(blocks.Count * 2);
                foreach (var block in blocks)
                {
                    var inside = block.Intersect(set);
                    var outside = block.Intersect(set.Complement());
                    if (inside.Ranges.Count > 0)
                    {
                        split.Add(inside);
                    }

                    if (outside.Ranges.Count > 0)
                    {
                        split.Add(outside);
                    }
                }

                blocks = split;
            }

            var assigned = new List<(CharSet, char)>(blocks.Count);
            int word = 0, nonWord = 0;
            foreach (var block in blocks)
            {
                bool isWord = block.Intersect(CharSet.Word).Ranges.Count > 0;
                if (isWord ? word >= WordPool.Length : nonWord >= NonWordPool.Length)
                {
                    throw new JsRegexException("it tells apart too many kinds of characters for a pattern with a word boundary", unsupported: true);
                }

                assigned.Add((block, isWord ? WordPool[word++] : NonWordPool[nonWord++]));
            }

            return new CharMap(assigned);
        }

        /// <summary>The set of representatives of the characters of <paramref name="set"/>.</summary>
        public CharSet Translate(CharSet set)
        {
            var result = new CharSet();
            foreach (var (block, representative) in _blocks)
            {
                // Blocks are wholly inside or wholly outside every set of the pattern.
                if (block.Intersect(set).Ranges.Count > 0)
                {
                    result.Add(representative, representative);
                }
            }

            return result;
        }

        public void Map(ReadOnlySpan<char> input, Span<char> output)
        {
            for (int i = 0; i < input.Length; i++)
            {
                char c = input[i];
                if (c < 128)
                {
                    output[i] = _ascii[c];
                }
                else
                {
                    int at = Array.BinarySearch(_starts, c);
                    output[i] = _representatives[at >= 0 ? at : ~at - 1];
                }
            }
        }
    }

    /// <summary>A set of UTF-16 code units as sorted, disjoint, non-adjacent inclusive ranges.</summary>
    private sealed class CharSet
    {
        private readonly List<(int Lo, int Hi)> _ranges = [];

        public static CharSet All => Of((0, 0xFFFF));

        public static CharSet Digit => Of(('0', '9'));

        public static CharSet Word => Of(('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z'));

        // ECMAScript WhiteSpace and LineTerminator: every Zs, plus tab, VT, FF, NBSP, BOM, LF, CR, LS, PS.
        public static CharSet Space => Of(
            ('\t', '\r'), (' ', ' '), ('\u00A0', '\u00A0'), ('\u1680', '\u1680'), ('\u2000', '\u200A'),
            ('\u2028', '\u2029'), ('\u202F', '\u202F'), ('\u205F', '\u205F'), ('\u3000', '\u3000'), ('\uFEFF', '\uFEFF'));

        public static CharSet Dot => Of(('\n', '\n'), ('\r', '\r'), ('\u2028', '\u2029')).Complement();

        public List<(int Lo, int Hi)> Ranges => _ranges;

        public int? SingleChar => _ranges.Count == 1 && _ranges[0].Lo == _ranges[0].Hi ? _ranges[0].Lo : null;

        public static CharSet Single(char c) => Of((c, c));

        private static CharSet Of(params (int Lo, int Hi)[] ranges)
        {
            var set = new CharSet();
            foreach (var (lo, hi) in ranges)
            {
                set.Add(lo, hi);
            }

            return set;
        }

        public void Add(CharSet other)
        {
            foreach (var (lo, hi) in other._ranges)
            {
                Add(lo, hi);
            }
        }

        public void Add(int lo, int hi)
        {
            // Merge with every range it overlaps or touches.
            int i = 0;
            while (i < _ranges.Count && _ranges[i].Hi < lo - 1)
            {
                i++;
            }

            while (i < _ranges.Count && _ranges[i].Lo <= hi + 1)
            {
                lo = Math.Min(lo, _ranges[i].Lo);
                hi = Math.Max(hi, _ranges[i].Hi);
                _ranges.RemoveAt(i);
            }

            _ranges.Insert(i, (lo, hi));
        }

        public CharSet Complement()
        {
            var result = new CharSet();
            int next = 0;
            foreach (var (lo, hi) in _ranges)
            {
                if (lo > next)
                {
                    result._ranges.Add((next, lo - 1));
                }

                next = hi + 1;
            }

            if (next <= 0xFFFF)
            {
                result._ranges.Add((next, 0xFFFF));
            }

            return result;
        }

        public CharSet Intersect(CharSet other)
        {
            var result = new CharSet();
            int i = 0, j = 0;
            while (i < _ranges.Count && j < other._ranges.Count)
            {
                int lo = Math.Max(_ranges[i].Lo, other._ranges[j].Lo);
                int hi = Math.Min(_ranges[i].Hi, other._ranges[j].Hi);
                if (lo <= hi)
                {
                    result._ranges.Add((lo, hi));
                }

                if (_ranges[i].Hi < other._ranges[j].Hi)
                {
                    i++;
                }
                else
                {
                    j++;
                }
            }

            return result;
        }
    }
}

/// <summary>Why a JavaScript pattern cannot be used: invalid in JavaScript, or refused because it has no linear-time evaluation.</summary>
internal sealed class JsRegexException(string message, bool unsupported) : Exception(message)
{
    /// <summary>A valid JavaScript pattern refused for its cost (backreferences, lookarounds, huge repetitions).</summary>
    public bool IsUnsupported { get; } = unsupported;
}
