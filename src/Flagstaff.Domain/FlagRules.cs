using System.Globalization;
using System.Text.Json;
using Flagstaff.Evaluation;

namespace Flagstaff.Domain;

/// <summary>The checks every flag, targeting and segment passes before it is stored.</summary>
public static class FlagRules
{
    /// <summary>Checks a flag's settings: key, name, tags and variations against the value type.</summary>
    public static void CheckFlag(Flag flag, ValidationErrors errors)
    {
        ArgumentNullException.ThrowIfNull(flag);
        ArgumentNullException.ThrowIfNull(errors);
        Limits.CheckKey(flag.Key, "key", errors);
        Limits.CheckName(flag.Name, "name", errors);
        Limits.CheckLength(flag.Description, Limits.DescriptionLength, "description", errors);
        if (flag.Tags.Count > Limits.Tags)
        {
            errors.Add("tags", $"has {flag.Tags.Count} tags; at most {Limits.Tags} are allowed");
        }

        for (int i = 0; i < flag.Tags.Count; i++)
        {
            var tag = flag.Tags[i];
            if (string.IsNullOrWhiteSpace(tag) || tag.Length > 50)
            {
                errors.Add(ValidationErrors.Index("tags", i), "a tag is 1 to 50 characters");
            }
        }

        if (flag.Variations.Count == 0)
        {
            errors.Add("variations", "a flag needs at least one variation");
        }
        else if (flag.Variations.Count > Limits.Variations)
        {
            errors.Add("variations", $"has {flag.Variations.Count} variations; at most {Limits.Variations} are allowed");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        int fallbacks = 0;
        for (int i = 0; i < flag.Variations.Count; i++)
        {
            var variation = flag.Variations[i];
            string path = ValidationErrors.Index("variations", i);
            Limits.CheckKey(variation.Key, path + ".key", errors);
            if (variation.Key is not null && !seen.Add(variation.Key))
            {
                errors.Add(path + ".key", $"\"{variation.Key}\" is used by another variation");
            }

            Limits.CheckLength(variation.Name, Limits.NameLength, path + ".name", errors);
            Limits.CheckLength(variation.Description, Limits.DescriptionLength, path + ".description", errors);
            if (variation.Fallback)
            {
                fallbacks++;
            }
            else
            {
                CheckValue(variation.Value, flag.ValueType, path + ".value", errors);
            }
        }

        if (fallbacks > 1)
        {
            errors.Add("variations", "at most one variation can be the fallback");
        }

        MigrationPaths.Check(flag, errors);
    }

    private static void CheckValue(JsonElement? value, FlagValueType type, string path, ValidationErrors errors)
    {
        var kind = value?.ValueKind ?? JsonValueKind.Undefined;
        bool ok = type switch
        {
            FlagValueType.Boolean => kind is JsonValueKind.True or JsonValueKind.False,
            FlagValueType.String => kind == JsonValueKind.String,
            FlagValueType.Number => kind == JsonValueKind.Number,
            _ => kind != JsonValueKind.Undefined,
        };
        if (!ok)
        {
            errors.Add(path, kind == JsonValueKind.Undefined
                ? "is required (the fallback variation alone has no value)"
                : $"must be a {JsonName(type)} value for a {JsonName(type)} flag, not {Describe(kind)}");
        }
        else if (kind == JsonValueKind.String && value!.Value.GetString()!.Length > Limits.ValueLength * 10)
        {
            errors.Add(path, $"is too long: at most {Limits.ValueLength * 10} characters");
        }
        else if (FirstNonFiniteNumber(value!.Value, path) is { } at)
        {
            errors.Add(at, NonFinite);
        }
    }

    private const string NonFinite = "is a number too large for a double (such as 1e400); JSON numbers must be finite";

    // JSON allows any digits, but evaluation and every SDK read numbers as doubles: one that overflows
    // to infinity has no value to serve or compare with. The path says where in a JSON value it is.
    private static string? FirstNonFiniteNumber(JsonElement value, string path)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Number:
                return double.IsFinite(value.GetDouble()) ? null : path;
            case JsonValueKind.Array:
                int i = 0;
                foreach (var item in value.EnumerateArray())
                {
                    if (FirstNonFiniteNumber(item, ValidationErrors.Index(path, i++)) is { } found)
                    {
                        return found;
                    }
                }

                return null;
            case JsonValueKind.Object:
                foreach (var property in value.EnumerateObject())
                {
                    if (FirstNonFiniteNumber(property.Value, ValidationErrors.Join(path, property.Name)) is { } found)
                    {
                        return found;
                    }
                }

                return null;
            default:
                return null;
        }
    }

    /// <summary>Checks a flag's targeting in one environment against its variations and the project's segments.</summary>
    public static void CheckTargeting(Flag flag, Targeting targeting, IReadOnlyDictionary<string, Segment> segments, ValidationErrors errors, string path = "")
    {
        ArgumentNullException.ThrowIfNull(flag);
        ArgumentNullException.ThrowIfNull(targeting);
        ArgumentNullException.ThrowIfNull(segments);
        ArgumentNullException.ThrowIfNull(errors);
        var variations = flag.Variations.Select(v => v.Key).ToHashSet(StringComparer.Ordinal);
        string rulesPath = ValidationErrors.Join(path, "rules");
        if (targeting.Rules.Count > Limits.Rules)
        {
            errors.Add(rulesPath, $"has {targeting.Rules.Count} rules; at most {Limits.Rules} are allowed");
        }

        var ruleIds = new HashSet<string>(StringComparer.Ordinal);
        for (int r = 0; r < targeting.Rules.Count; r++)
        {
            var rule = targeting.Rules[r];
            string rulePath = ValidationErrors.Index(rulesPath, r);
            if (rule.Id is not null && !ruleIds.Add(rule.Id))
            {
                errors.Add(rulePath + ".id", $"\"{rule.Id}\" is used by another rule");
            }

            Limits.CheckLength(rule.Name, Limits.NameLength, rulePath + ".name", errors);
            CheckClauses(rule.Clauses, segments, rulePath + ".clauses", errors, allowSegments: true);
            CheckServe(rule.Serve, variations, rulePath + ".serve", errors);
            if (rule.Schedule is { } schedule)
            {
                CheckSchedule(rule, schedule, rulePath + ".schedule", errors);
            }
        }

        CheckServe(targeting.DefaultServe, variations, ValidationErrors.Join(path, "defaultServe"), errors);
    }

    /// <summary>Checks a segment's key, name, clauses and ids.</summary>
    public static void CheckSegment(Segment segment, ValidationErrors errors)
    {
        ArgumentNullException.ThrowIfNull(segment);
        ArgumentNullException.ThrowIfNull(errors);
        Limits.CheckKey(segment.Key, "key", errors);
        Limits.CheckName(segment.Name, "name", errors);
        Limits.CheckLength(segment.Description, Limits.DescriptionLength, "description", errors);
        CheckClauses(segment.Clauses, new Dictionary<string, Segment>(), "clauses", errors, allowSegments: false);
        if (segment.IdProperty is not null)
        {
            CheckProperty(segment.IdProperty, "idProperty", errors);
        }

        CheckStrings(segment.Ids, "ids", errors);
        if (segment.Clauses.Count == 0 && segment.Ids.Count == 0)
        {
            errors.Add("clauses", "a segment needs clauses, ids, or both");
        }
    }

    private static void CheckClauses(IReadOnlyList<Clause> clauses, IReadOnlyDictionary<string, Segment> segments, string path, ValidationErrors errors, bool allowSegments)
    {
        if (clauses.Count > Limits.Clauses)
        {
            errors.Add(path, $"has {clauses.Count} clauses; at most {Limits.Clauses} are allowed");
        }

        long alternatives = 1;
        bool reported = false;
        for (int c = 0; c < clauses.Count; c++)
        {
            string clausePath = ValidationErrors.Index(path, c);
            CheckClause(clauses[c], segments, clausePath, errors, allowSegments);
            if (clauses[c].Segment is { } key && segments.TryGetValue(key, out var segment))
            {
                alternatives = Math.Min(alternatives * Math.Max(1, Alternatives(clauses[c], segment)), int.MaxValue);
                if (alternatives > Limits.Alternatives && !reported)
                {
                    errors.Add(clausePath, $"segment \"{segment.Key}\" takes this rule to {alternatives} or more alternatives once segments are expanded; at most {Limits.Alternatives} are allowed: split the rule or its segments");
                    reported = true;
                }
            }
        }
    }

    // How many alternatives a segment clause gives in disjunctive normal form (see FlagCompiler):
    // in the segment, one for its ids and one for its clauses; not in it, one per clause (at least one).
    private static int Alternatives(Clause clause, Segment segment) => clause.Negate
        ? Math.Max(1, segment.Clauses.Count)
        : (segment.Ids.Count > 0 ? 1 : 0) + (segment.Clauses.Count > 0 ? 1 : 0);

    private static void CheckClause(Clause clause, IReadOnlyDictionary<string, Segment> segments, string path, ValidationErrors errors, bool allowSegments)
    {
        if (clause.Segment is not null)
        {
            if (!allowSegments)
            {
                errors.Add(path + ".segment", "a segment cannot contain another segment");
                return;
            }

            if (clause.Property is not null || clause.Operator is not null)
            {
                errors.Add(path, "a clause is either a segment or a property with an operator, not both");
            }

            if (!segments.TryGetValue(clause.Segment, out var segment))
            {
                errors.Add(path + ".segment", $"no segment \"{Limits.Truncate(clause.Segment)}\" in this project");
            }

            return;
        }

        if (clause.Property is null)
        {
            errors.Add(path + ".property", "is required (or give a segment)");
        }
        else
        {
            CheckProperty(clause.Property, path + ".property", errors);
        }

        if (clause.Operator is null)
        {
            errors.Add(path + ".operator", "is required");
            return;
        }

        if (!Operators.Operands.TryGetValue(clause.Operator, out var operand))
        {
            errors.Add(path + ".operator", $"\"{Limits.Truncate(clause.Operator)}\" is not an operator; use one of {string.Join(", ", Operators.Operands.Keys)}");
            return;
        }

        switch (operand)
        {
            case OperandKind.Values:
                if (clause.Values is null)
                {
                    errors.Add(path + ".values", $"is required by {clause.Operator}");
                }
                else
                {
                    CheckStrings(clause.Values, path + ".values", errors);
                }

                break;
            case OperandKind.Text:
            case OperandKind.Pattern:
                if (clause.Value is not { ValueKind: JsonValueKind.String } text)
                {
                    errors.Add(path + ".value", $"must be a string for {clause.Operator}");
                }
                else if (text.GetString()!.Length > Limits.ValueLength)
                {
                    errors.Add(path + ".value", $"is longer than {Limits.ValueLength} characters");
                }
                else if (operand == OperandKind.Pattern)
                {
                    CheckPattern(text.GetString()!, path + ".value", errors);
                }

                break;
            case OperandKind.Number:
                if (clause.Value is not { ValueKind: JsonValueKind.Number } number)
                {
                    errors.Add(path + ".value", $"must be a number for {clause.Operator}");
                }
                else if (!double.IsFinite(number.GetDouble()))
                {
                    errors.Add(path + ".value", NonFinite);
                }

                break;
            case OperandKind.Date:
                if (clause.Date is null)
                {
                    errors.Add(path + ".date", $"is required by {clause.Operator} (an ISO 8601 date and time)");
                }

                break;
            case OperandKind.Version:
                if (clause.Version is null)
                {
                    errors.Add(path + ".version", $"is required by {clause.Operator}");
                }
                else if (ParseVersion(clause.Version) is null)
                {
                    errors.Add(path + ".version", $"\"{Limits.Truncate(clause.Version)}\" is not a version: use numbers separated by dots, such as 2.4.0");
                }

                break;
            case OperandKind.Range:
                CheckPercent(clause.From, path + ".from", errors);
                CheckPercent(clause.To, path + ".to", errors);
                if (clause.From > clause.To)
                {
                    errors.Add(path + ".to", "must not be below from");
                }

                break;
        }
    }

    private static void CheckPattern(string pattern, string path, ValidationErrors errors)
    {
        // The evaluation core decides what is runnable (JavaScript semantics); ask it.
        var probe = "[{\"slug\":\"p\",\"conditions\":[{\"rules\":[{\"key\":\"k\",\"operator\":\"REGEXP\",\"negate\":false,\"value\":"
            + JsonSerializer.Serialize(pattern, DomainJson.Default.String) + "}],\"variation\":{\"active\":true,\"value\":true}}],\"defaultVariation\":{\"active\":false,\"value\":null}}]";
        var result = Flagstaff.Evaluation.FlagConfiguration.Load(probe, Flagstaff.Evaluation.LoadMode.Strict);
        if (result.Errors.Count > 0)
        {
            var message = result.Errors[0].Message;
            errors.Add(path, message.StartsWith("\"value\" ", StringComparison.Ordinal) ? message["\"value\" ".Length..] : message);
        }
    }

    private static void CheckPercent(double? value, string path, ValidationErrors errors)
    {
        if (value is null)
        {
            errors.Add(path, "is required (a percentage from 0 to 100)");
        }
        else if (value is < 0 or > 100 || double.IsNaN(value.Value))
        {
            errors.Add(path, string.Create(CultureInfo.InvariantCulture, $"must be between 0 and 100, not {value}"));
        }
    }

    private static void CheckProperty(string property, string path, ValidationErrors errors) =>
        Limits.CheckPropertyName(property, path, errors);

    private static void CheckStrings(IReadOnlyList<string> values, string path, ValidationErrors errors)
    {
        if (values.Count > Limits.Values)
        {
            errors.Add(path, $"has {values.Count} values; at most {Limits.Values} are allowed");
            return;
        }

        for (int i = 0; i < values.Count; i++)
        {
            if (values[i] is null)
            {
                errors.Add(ValidationErrors.Index(path, i), "must be a string");
            }
            else if (values[i].Length > Limits.ValueLength)
            {
                errors.Add(ValidationErrors.Index(path, i), $"is longer than {Limits.ValueLength} characters");
            }
        }
    }

    private static void CheckServe(Serve serve, HashSet<string> variations, string path, ValidationErrors errors)
    {
        if (serve is null)
        {
            errors.Add(path, "is required");
            return;
        }

        if ((serve.Variation is null) == (serve.Split is null))
        {
            errors.Add(path, "serve either one variation or a split");
            return;
        }

        if (serve.Variation is not null)
        {
            if (!variations.Contains(serve.Variation))
            {
                errors.Add(path + ".variation", $"the flag has no variation \"{Limits.Truncate(serve.Variation)}\"");
            }

            return;
        }

        var split = serve.Split!;
        if (split.Property is not null)
        {
            CheckProperty(split.Property, path + ".split.property", errors);
        }

        if (split.Buckets.Count == 0)
        {
            errors.Add(path + ".split.buckets", "a split needs at least one bucket");
            return;
        }

        long total = 0;
        var used = new HashSet<string>(StringComparer.Ordinal);
        for (int b = 0; b < split.Buckets.Count; b++)
        {
            var bucket = split.Buckets[b];
            string bucketPath = ValidationErrors.Index(path + ".split.buckets", b);
            if (bucket.Variation is null || !variations.Contains(bucket.Variation))
            {
                errors.Add(bucketPath + ".variation", $"the flag has no variation \"{Limits.Truncate(bucket.Variation ?? string.Empty)}\"");
            }
            else if (!used.Add(bucket.Variation))
            {
                errors.Add(bucketPath + ".variation", $"\"{bucket.Variation}\" has another bucket already");
            }

            if (bucket.Weight is < 0 or > 100 || double.IsNaN(bucket.Weight))
            {
                errors.Add(bucketPath + ".weight", string.Create(CultureInfo.InvariantCulture, $"must be between 0 and 100, not {bucket.Weight}"));
            }
            else if (Math.Abs((bucket.Weight * 1000) - Math.Round(bucket.Weight * 1000)) > 1e-6)
            {
                errors.Add(bucketPath + ".weight", "has more than three decimals");
            }

            total += (long)Math.Round(bucket.Weight * 1000);
        }

        if (total != 100_000)
        {
            errors.Add(path + ".split.buckets", string.Create(CultureInfo.InvariantCulture, $"the weights add up to {total / 1000.0}, not 100"));
        }
    }

    private static void CheckSchedule(TargetingRule rule, Schedule schedule, string path, ValidationErrors errors)
    {
        if (schedule.From is { } from && schedule.Until is { } until && from >= until)
        {
            errors.Add(path + ".until", "must be after from");
        }

        if (schedule.Steps.Count == 0)
        {
            return;
        }

        if (rule.Serve?.Variation is null)
        {
            errors.Add(path + ".steps", "a progressive rollout serves one variation; the rule serves a split");
        }

        if (schedule.Property is not null)
        {
            CheckProperty(schedule.Property, path + ".property", errors);
        }

        for (int s = 0; s < schedule.Steps.Count; s++)
        {
            var step = schedule.Steps[s];
            string stepPath = ValidationErrors.Index(path + ".steps", s);
            CheckPercent(step.Percentage, stepPath + ".percentage", errors);
            if (s > 0)
            {
                var previous = schedule.Steps[s - 1];
                if (step.At <= previous.At)
                {
                    errors.Add(stepPath + ".at", "steps must be in time order");
                }

                if (step.Percentage < previous.Percentage)
                {
                    errors.Add(stepPath + ".percentage", "a rollout only grows: each step's percentage is at least the previous one's");
                }
            }
        }
    }

    /// <summary>Parses a version such as <c>2.4.0</c> into its numbers; null when it is not one.</summary>
    public static int[]? ParseVersion(string version)
    {
        ArgumentNullException.ThrowIfNull(version);
        var parts = version.Split('.');
        if (parts.Length is 0 or > 10)
        {
            return null;
        }

        var numbers = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (parts[i].Length == 0 || !parts[i].All(char.IsAsciiDigit) || !int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out numbers[i]))
            {
                return null;
            }
        }

        return numbers;
    }

    private static string JsonName(FlagValueType type) => type switch
    {
        FlagValueType.Boolean => "boolean",
        FlagValueType.String => "string",
        FlagValueType.Number => "number",
        _ => "JSON",
    };

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "nothing",
    };
}
