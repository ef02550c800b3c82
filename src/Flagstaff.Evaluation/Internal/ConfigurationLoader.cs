using System.Globalization;
using System.Text.Json;

namespace Flagstaff.Evaluation.Internal;

/// <summary>
/// Reads the flag format (docs/wire/flag-format.md) with a forward-only <see cref="Utf8JsonReader"/>, checks
/// every field and compiles each flag. No document tree is built, so loading costs little more memory
/// than the compiled flags themselves. Unknown fields are skipped (the format may grow).
/// </summary>
internal sealed class ConfigurationLoader : IDisposable
{
    private const int MaxDepth = 64;

    private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _stringLookup;
    private readonly Dictionary<string, (JsRegex? Regex, JsRegexException? Error)> _regexes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _keyIds = new(StringComparer.Ordinal);
    private readonly List<ConfigurationError> _errors = [];

    // Scratch lists, reused for every flag: only the final arrays are allocated.
    private readonly List<Condition> _conditions = [];
    private readonly List<Rule> _rules = [];
    private readonly List<string> _arrayStrings = [];
    private readonly List<double> _numbers = [];
    private readonly Dictionary<FlagValue, FlagValue> _values = [];
    private readonly System.Buffers.ArrayBufferWriter<byte> _compact = new();
    private readonly Utf8JsonWriter _compactWriter = new(Stream.Null);

    // Location of what is being read, for error messages.
    private int _flagIndex;
    private string? _slug;
    private int? _conditionIndex;
    private int? _ruleIndex;
    private int _flagErrorCount;

    public ConfigurationLoader()
    {
        _stringLookup = _strings.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public List<ConfigurationError> Errors => _errors;

    public void Dispose() => _compactWriter.Dispose();

    public static LoadResult Load(ReadOnlySpan<byte> utf8Json, LoadMode mode)
    {
        using var loader = new ConfigurationLoader();
        var flags = new List<CompiledFlag>();
        var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = MaxDepth });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                return Failed("A configuration is a JSON array of flags.");
            }

            int index = 0;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                var flag = loader.ReadFlag(ref reader, index++);
                if (flag is not null)
                {
                    flags.Add(flag);
                }
            }

            if (reader.Read())
            {
                return Failed("Unexpected data after the configuration array.");
            }
        }
        catch (JsonException e)
        {
            return Failed(string.Create(CultureInfo.InvariantCulture, $"The configuration is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {FirstSentence(e.Message)}"));
        }

        var errors = loader._errors;
        var bySlug = new Dictionary<string, int>(flags.Count, StringComparer.Ordinal);
        int duplicates = 0;
        for (int i = 0; i < flags.Count; i++)
        {
            if (bySlug.TryGetValue(flags[i].Slug, out int first))
            {
                errors.Add(new ConfigurationError(
                    string.Create(CultureInfo.InvariantCulture, $"duplicate slug: flag at index {first} has it too"),
                    i, flags[i].Slug, null, null, "slug"));
                flags[first] = null!;
                duplicates++;
            }

            bySlug[flags[i].Slug] = i;
        }

        if (mode == LoadMode.Strict && errors.Count > 0)
        {
            return new LoadResult(null, errors);
        }

        // Later flags win over earlier ones with the same slug, as in the reference SDKs.
        if (duplicates > 0)
        {
            flags.RemoveAll(f => f is null);
        }

        return new LoadResult(FlagConfiguration.FromUnique([.. flags]), errors);

        static LoadResult Failed(string message) => new(null, [new ConfigurationError(message, null, null, null, null, null)]);
    }

    /// <summary>Reads and compiles one flag object starting at the reader's current token.</summary>
    public CompiledFlag? ReadFlag(ref Utf8JsonReader reader, int index)
    {
        _flagIndex = index;
        _slug = null;
        _conditionIndex = null;
        _ruleIndex = null;
        _flagErrorCount = 0;
        int errorsBefore = _errors.Count;

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            Error(null, $"a flag is a JSON object, not {Describe(reader.TokenType)}");
            reader.Skip();
            return null;
        }

        Condition[]? conditions = null;
        bool sawConditions = false;
        ServedVariation? defaultVariation = null;
        bool sawDefault = false;
        bool sawSlug = false;

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("slug"u8))
            {
                reader.Read();
                sawSlug = true;
                if (reader.TokenType == JsonTokenType.String)
                {
                    _slug = reader.GetString();
                    if (_slug!.Length == 0)
                    {
                        Error("slug", "must not be empty");
                    }
                }
                else
                {
                    Error("slug", $"must be a string, not {Describe(reader.TokenType)}");
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("conditions"u8))
            {
                reader.Read();
                sawConditions = true;
                conditions = ReadConditions(ref reader);
            }
            else if (reader.ValueTextEquals("defaultVariation"u8))
            {
                reader.Read();
                sawDefault = true;
                defaultVariation = ReadVariation(ref reader, "defaultVariation");
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (!sawSlug)
        {
            Error("slug", "is missing");
        }

        if (!sawConditions)
        {
            Error("conditions", "is missing");
        }

        if (!sawDefault)
        {
            Error("defaultVariation", "is missing");
        }

        // The slug may come after the fields that failed: name the flag in every error found.
        for (int i = errorsBefore; i < _errors.Count; i++)
        {
            var e = _errors[i];
            _errors[i] = new ConfigurationError(e.Message, e.FlagIndex, _slug, e.ConditionIndex, e.RuleIndex, e.Field);
        }

        if (string.IsNullOrEmpty(_slug))
        {
            return null;
        }

        if (_flagErrorCount > 0)
        {
            return CompiledFlag.Invalid(_slug, _errors[errorsBefore].ToString());
        }

        return new CompiledFlag(_slug, conditions ?? [], defaultVariation!, null);
    }

    private Condition[]? ReadConditions(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            Error("conditions", $"must be an array, not {Describe(reader.TokenType)}");
            reader.Skip();
            return null;
        }

        var conditions = _conditions;
        conditions.Clear();
        int index = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            _conditionIndex = index++;
            var condition = ReadCondition(ref reader);
            if (condition is not null)
            {
                conditions.Add(condition);
            }
        }

        _conditionIndex = null;
        return [.. conditions];
    }

    private Condition? ReadCondition(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            Error(null, $"a condition is an object, not {Describe(reader.TokenType)}");
            reader.Skip();
            return null;
        }

        Rule[]? rules = null;
        bool sawRules = false;
        ServedVariation? variation = null;
        bool sawVariation = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("rules"u8))
            {
                reader.Read();
                sawRules = true;
                rules = ReadRules(ref reader);
            }
            else if (reader.ValueTextEquals("variation"u8))
            {
                reader.Read();
                sawVariation = true;
                variation = ReadVariation(ref reader, "variation");
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (!sawRules)
        {
            Error("rules", "is missing");
        }

        if (!sawVariation)
        {
            Error("variation", "is missing");
        }

        return rules is not null && variation is not null ? new Condition(rules, variation) : null;
    }

    private Rule[]? ReadRules(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            Error("rules", $"must be an array, not {Describe(reader.TokenType)}");
            reader.Skip();
            return null;
        }

        var rules = _rules;
        rules.Clear();
        int index = 0;
        bool failed = false;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            _ruleIndex = index++;
            var rule = ReadRule(ref reader);
            if (rule is null)
            {
                failed = true;
            }
            else
            {
                rules.Add(rule);
            }
        }

        _ruleIndex = null;
        return failed ? null : [.. rules];
    }

    private ServedVariation? ReadVariation(ref Utf8JsonReader reader, string field)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            Error(field, $"must be an object, not {Describe(reader.TokenType)}");
            reader.Skip();
            return null;
        }

        bool? active = null;
        var value = FlagValue.Null;
        bool failed = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("active"u8))
            {
                reader.Read();
                if (reader.TokenType is JsonTokenType.True or JsonTokenType.False)
                {
                    active = reader.GetBoolean();
                }
                else
                {
                    Error(field + "/active", $"must be a boolean, not {Describe(reader.TokenType)}");
                    reader.Skip();
                    failed = true;
                }
            }
            else if (reader.ValueTextEquals("value"u8))
            {
                reader.Read();
                value = ReadValue(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (active is null && !failed)
        {
            Error(field + "/active", "is missing");
            return null;
        }

        return failed ? null : ServedVariation.Create(active!.Value, value);
    }

    /// <summary>
    /// Reads a variation's value. Equal values within a configuration share one instance (real
    /// configurations repeat "on", "off", the same JSON objects, many times).
    /// </summary>
    private FlagValue ReadValue(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return FlagValue.Null;
            case JsonTokenType.True:
                return FlagValue.True;
            case JsonTokenType.False:
                return FlagValue.False;
            case JsonTokenType.Number:
                return Shared(FlagValue.FromNumber(reader.GetDouble()));
            case JsonTokenType.String:
                return Shared(FlagValue.FromString(Intern(ref reader)));
            case JsonTokenType.StartArray:
            case JsonTokenType.StartObject:
                {
                    var kind = reader.TokenType == JsonTokenType.StartArray ? JsonValueKind.Array : JsonValueKind.Object;
                    _compact.ResetWrittenCount();
                    _compactWriter.Reset(_compact);
                    CopyValue(ref reader, _compactWriter);
                    _compactWriter.Flush();
                    return Shared(FlagValue.FromCompactJson(kind, _compact.WrittenSpan.ToArray()));
                }

            default:
                throw new JsonException($"Unexpected token {reader.TokenType}.");
        }
    }

    private FlagValue Shared(FlagValue value)
    {
        if (_values.TryGetValue(value, out var existing))
        {
            return existing;
        }

        _values.Add(value, value);
        return value;
    }

    // Copies the value at the reader (an array or object) token by token: compact, with no document tree.
    private static void CopyValue(ref Utf8JsonReader reader, Utf8JsonWriter writer)
    {
        int depth = reader.CurrentDepth;
        while (true)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    writer.WriteStartObject();
                    break;
                case JsonTokenType.EndObject:
                    writer.WriteEndObject();
                    break;
                case JsonTokenType.StartArray:
                    writer.WriteStartArray();
                    break;
                case JsonTokenType.EndArray:
                    writer.WriteEndArray();
                    break;
                case JsonTokenType.PropertyName:
                    writer.WritePropertyName(reader.GetString()!);
                    break;
                case JsonTokenType.String:
                    writer.WriteStringValue(reader.GetString());
                    break;
                case JsonTokenType.Number:
                    writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true);
                    break;
                case JsonTokenType.True:
                case JsonTokenType.False:
                    writer.WriteBooleanValue(reader.GetBoolean());
                    break;
                case JsonTokenType.Null:
                    writer.WriteNullValue();
                    break;
            }

            if (reader.CurrentDepth == depth && reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray)
            {
                return;
            }

            reader.Read();
        }
    }

    private Rule? ReadRule(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            Error(null, $"a rule is an object, not {Describe(reader.TokenType)}");
            reader.Skip();
            return null;
        }

        var raw = default(RawRule);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("key"u8))
            {
                raw.Key = ReadField(ref reader);
            }
            else if (reader.ValueTextEquals("operator"u8))
            {
                raw.Operator = ReadField(ref reader);
            }
            else if (reader.ValueTextEquals("negate"u8))
            {
                raw.Negate = ReadField(ref reader);
            }
            else if (reader.ValueTextEquals("values"u8))
            {
                raw.Values = ReadField(ref reader);
            }
            else if (reader.ValueTextEquals("value"u8))
            {
                raw.Value = ReadField(ref reader);
            }
            else if (reader.ValueTextEquals("timestamp"u8))
            {
                raw.Timestamp = ReadField(ref reader);
            }
            else if (reader.ValueTextEquals("iso"u8))
            {
                raw.Iso = ReadField(ref reader);
            }
            else if (reader.ValueTextEquals("version"u8))
            {
                raw.Version = ReadField(ref reader);
            }
            else if (reader.ValueTextEquals("rangeStart"u8))
            {
                raw.RangeStart = ReadField(ref reader);
            }
            else if (reader.ValueTextEquals("rangeEnd"u8))
            {
                raw.RangeEnd = ReadField(ref reader);
            }
            else if (reader.ValueTextEquals("seed"u8))
            {
                raw.Seed = ReadField(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return Compile(in raw);
    }

    private Rule? Compile(in RawRule raw)
    {
        int errorsBefore = _flagErrorCount;
        var key = RequireString(raw.Key, "key");
        var op = RequireString(raw.Operator, "operator");
        bool negate = false;
        if (raw.Negate.Kind == FieldKind.Boolean)
        {
            negate = raw.Negate.Boolean;
        }
        else if (raw.Negate.Kind != FieldKind.Missing)
        {
            Error("negate", $"must be a boolean, not {raw.Negate.Description}");
        }

        if (key is null || op is null)
        {
            return null;
        }

        Rule? rule = op switch
        {
            Operators.Empty => new EmptyRule(key, negate),
            Operators.True => new TrueRule(key, negate),
            Operators.StrEqual => Strings(raw.Values) is { } v ? new StrEqualRule(key, negate, new StringSet(v)) : null,
            Operators.StrEqualSoft => Strings(raw.Values) is { } v ? new StrEqualSoftRule(key, negate, new StringSet(v)) : null,
            Operators.StrContains => Strings(raw.Values) is { } v ? new StrContainsRule(key, negate, v) : null,
            Operators.StrStartsWith => Strings(raw.Values) is { } v ? new StrStartsWithRule(key, negate, v) : null,
            Operators.StrEndsWith => Strings(raw.Values) is { } v ? new StrEndsWithRule(key, negate, v) : null,
            Operators.StrAfter => RequireString(raw.Value, "value") is { } s ? new StrCompareRule(key, negate, s, after: true) : null,
            Operators.StrBefore => RequireString(raw.Value, "value") is { } s ? new StrCompareRule(key, negate, s, after: false) : null,
            Operators.Regexp => RequireString(raw.Value, "value") is { } pattern ? CompileRegex(key, negate, pattern) : null,
            Operators.Eq => RequireNumber(raw.Value, "value") is { } n ? new NumberRule(key, negate, n, NumberComparison.Equal) : null,
            Operators.Lt => RequireNumber(raw.Value, "value") is { } n ? new NumberRule(key, negate, n, NumberComparison.Less) : null,
            Operators.Gt => RequireNumber(raw.Value, "value") is { } n ? new NumberRule(key, negate, n, NumberComparison.Greater) : null,
            Operators.ArrOverlap => Strings(raw.Values) is { } v ? new ArrOverlapRule(key, negate, new StringSet(v)) : null,
            Operators.DateAfter => Date(key, negate, raw, after: true),
            Operators.DateBefore => Date(key, negate, raw, after: false),
            Operators.SemverEq => Version(raw.Version) is { } ver ? new VersionRule(key, negate, ver, VersionComparison.Equal) : null,
            Operators.SemverGte => Version(raw.Version) is { } ver ? new VersionRule(key, negate, ver, VersionComparison.GreaterOrEqual) : null,
            Operators.SemverLte => Version(raw.Version) is { } ver ? new VersionRule(key, negate, ver, VersionComparison.LessOrEqual) : null,
            Operators.Percentage => Percentage(key, negate, raw),
            _ => UnknownOperator(op),
        };

        if (rule is null || _flagErrorCount > errorsBefore)
        {
            return null;
        }

        rule.KeyId = KeyId(key);
        return rule;
    }

    private int KeyId(string key)
    {
        if (!_keyIds.TryGetValue(key, out int id))
        {
            id = _keyIds.Count;
            _keyIds[key] = id;
        }

        return id;
    }

    private Rule? UnknownOperator(string op)
    {
        Error("operator", $"is \"{op}\", which is not a known operator");
        return null;
    }

    private RegexRule? CompileRegex(string key, bool negate, string pattern)
    {
        if (!_regexes.TryGetValue(pattern, out var compiled))
        {
            try
            {
                compiled = (JsRegex.Compile(pattern), null);
            }
            catch (JsRegexException e)
            {
                compiled = (null, e);
            }

            _regexes[pattern] = compiled;
        }

        if (compiled.Error is { } error)
        {
            var message = $"the regular expression /{pattern}/ cannot be used: {error.Message}";
            if (!error.IsUnsupported)
            {
                Error("value", message);
                return null;
            }

            // Valid JavaScript that has no linear-time evaluation: a strict load refuses it; a
            // lenient one keeps the flag and makes this rule never match.
            Refuse("value", message + " (every pattern is evaluated in linear time, so that no rule can make evaluation slow)");
        }

        return new RegexRule(key, negate, compiled.Regex);
    }

    private DateRule? Date(string key, bool negate, in RawRule raw, bool after)
    {
        var timestamp = RequireNumber(raw.Timestamp, "timestamp");
        var iso = RequireString(raw.Iso, "iso");
        if (iso is not null && !IsIsoText(iso))
        {
            Error("iso", $"must be a 19-character date and time \"YYYY-MM-DDTHH:mm:ss\", not \"{iso}\"");
            return null;
        }

        return timestamp is { } t && iso is not null ? new DateRule(key, negate, t, iso, after) : null;
    }

    private static bool IsIsoText(string iso) =>
        iso.Length == 19
        && DateTime.TryParseExact(iso, "yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out _);

    private PercentageRule? Percentage(string key, bool negate, in RawRule raw)
    {
        var start = RequireNumber(raw.RangeStart, "rangeStart");
        var end = RequireNumber(raw.RangeEnd, "rangeEnd");
        var seed = RequireNumber(raw.Seed, "seed");
        if (start is null || end is null || seed is null)
        {
            return null;
        }

        bool ok = true;
        if (start is < 0 or > 1)
        {
            ok = Error("rangeStart", string.Create(CultureInfo.InvariantCulture, $"must be between 0 and 1, not {start}"));
        }

        if (end is < 0 or > 1)
        {
            ok = Error("rangeEnd", string.Create(CultureInfo.InvariantCulture, $"must be between 0 and 1, not {end}"));
        }

        if (ok && start > end)
        {
            ok = Error("rangeEnd", string.Create(CultureInfo.InvariantCulture, $"must not be below rangeStart ({end} < {start})"));
        }

        double s = seed.Value;
        if (s != Math.Floor(s) || s < 0 || s > uint.MaxValue)
        {
            ok = Error("seed", string.Create(CultureInfo.InvariantCulture, $"must be an integer between 0 and 4294967295, not {s}"));
        }

        return ok ? new PercentageRule(key, negate, start.Value, end.Value, (uint)s) : null;
    }

    private string[]? Strings(in Field field)
    {
        switch (field.Kind)
        {
            case FieldKind.Missing:
                Error("values", "is missing");
                return null;
            case FieldKind.StringArray:
            case FieldKind.EmptyArray:
                return field.Strings;
            case FieldKind.Array:
                Error("values", "must be an array of strings; it holds something else");
                return null;
            default:
                Error("values", $"must be an array of strings, not {field.Description}");
                return null;
        }
    }

    private double[]? Version(in Field field)
    {
        switch (field.Kind)
        {
            case FieldKind.Missing:
                Error("version", "is missing");
                return null;
            case FieldKind.NumberArray:
            case FieldKind.EmptyArray:
                var numbers = field.Numbers!;
                if (numbers.Length == 0)
                {
                    Error("version", "must hold at least one number");
                    return null;
                }

                foreach (double n in numbers)
                {
                    if (n != Math.Floor(n) || n < 0)
                    {
                        Error("version", string.Create(CultureInfo.InvariantCulture, $"must hold non-negative integers, not {n}"));
                        return null;
                    }
                }

                return numbers;
            default:
                Error("version", $"must be an array of integers, not {field.Description}");
                return null;
        }
    }

    private string? RequireString(in Field field, string name)
    {
        if (field.Kind == FieldKind.String)
        {
            return field.Text;
        }

        Error(name, field.Kind == FieldKind.Missing ? "is missing" : $"must be a string, not {field.Description}");
        return null;
    }

    private double? RequireNumber(in Field field, string name)
    {
        if (field.Kind == FieldKind.Number)
        {
            return field.Number;
        }

        Error(name, field.Kind == FieldKind.Missing ? "is missing" : $"must be a number, not {field.Description}");
        return null;
    }

    /// <summary>Reports a refused part of a flag that a lenient load can still evaluate without (strict loads fail on any report).</summary>
    private void Refuse(string field, string message) =>
        _errors.Add(new ConfigurationError($"\"{field}\" {message}", _flagIndex, _slug, _conditionIndex, _ruleIndex, field));

    private bool Error(string? field, string message)
    {
        string text = field is null ? message : $"\"{field}\" {message}";
        _errors.Add(new ConfigurationError(text, _flagIndex, _slug, _conditionIndex, _ruleIndex, field));
        _flagErrorCount++;
        return false;
    }

    private Field ReadField(ref Utf8JsonReader reader)
    {
        reader.Read();
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return new Field { Kind = FieldKind.String, Text = Intern(ref reader) };
            case JsonTokenType.Number:
                return new Field { Kind = FieldKind.Number, Number = reader.GetDouble() };
            case JsonTokenType.True:
            case JsonTokenType.False:
                return new Field { Kind = FieldKind.Boolean, Boolean = reader.GetBoolean() };
            case JsonTokenType.Null:
                return new Field { Kind = FieldKind.Null };
            case JsonTokenType.StartObject:
                reader.Skip();
                return new Field { Kind = FieldKind.Object };
            case JsonTokenType.StartArray:
                return ReadArrayField(ref reader);
            default:
                throw new JsonException($"Unexpected token {reader.TokenType}.");
        }
    }

    private Field ReadArrayField(ref Utf8JsonReader reader)
    {
        var strings = _arrayStrings;
        var numbers = _numbers;
        strings.Clear();
        numbers.Clear();
        bool mixed = false;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.String when numbers.Count == 0:
                    strings.Add(reader.GetString()!);
                    break;
                case JsonTokenType.Number when strings.Count == 0:
                    numbers.Add(reader.GetDouble());
                    break;
                default:
                    mixed = true;
                    reader.Skip();
                    break;
            }
        }

        if (mixed)
        {
            return new Field { Kind = FieldKind.Array };
        }

        // An empty array is both a valid list of strings and of numbers.
        return new Field
        {
            Kind = numbers.Count > 0 ? FieldKind.NumberArray : strings.Count > 0 ? FieldKind.StringArray : FieldKind.EmptyArray,
            Strings = strings.Count > 0 ? [.. strings] : [],
            Numbers = numbers.Count > 0 ? [.. numbers] : [],
        };
    }

    // Property names and operators repeat across thousands of rules: keep one copy of each.
    private string Intern(ref Utf8JsonReader reader)
    {
        const int MaxInterned = 64;
        if (!reader.ValueIsEscaped && reader.ValueSpan.Length <= MaxInterned)
        {
            Span<char> buffer = stackalloc char[MaxInterned];
            int length = reader.CopyString(buffer);
            if (_stringLookup.TryGetValue(buffer[..length], out var existing))
            {
                return existing;
            }

            var text = new string(buffer[..length]);
            _strings[text] = text;
            return text;
        }

        return reader.GetString()!;
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };

    private static string FirstSentence(string message)
    {
        int dot = message.IndexOf(". ", StringComparison.Ordinal);
        return dot < 0 ? message : message[..(dot + 1)];
    }

    private enum FieldKind : byte
    {
        Missing,
        String,
        Number,
        Boolean,
        Null,
        Object,
        EmptyArray,
        StringArray,
        NumberArray,
        Array,
    }

    private struct Field
    {
        public FieldKind Kind;
        public string? Text;
        public double Number;
        public bool Boolean;
        public string[]? Strings;
        public double[]? Numbers;

        public readonly string Description => Kind switch
        {
            FieldKind.String => "a string",
            FieldKind.Number => "a number",
            FieldKind.Boolean => "a boolean",
            FieldKind.Null => "null",
            FieldKind.Object => "an object",
            _ => "an array",
        };
    }

    private struct RawRule
    {
        public Field Key;
        public Field Operator;
        public Field Negate;
        public Field Values;
        public Field Value;
        public Field Timestamp;
        public Field Iso;
        public Field Version;
        public Field RangeStart;
        public Field RangeEnd;
        public Field Seed;
    }
}
