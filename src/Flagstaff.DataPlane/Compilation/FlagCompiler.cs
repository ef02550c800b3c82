using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Flagstaff.DataPlane.Snapshots;
using Flagstaff.Domain;
using Flagstaff.Evaluation;

namespace Flagstaff.DataPlane.Compilation;

/// <summary>
/// Turns a flag's settings and targeting into the wire configuration. Segments are inlined; splits
/// become PERCENTAGE ranges with the flag's one seed (so a split that grows keeps everyone who was in);
/// schedules become DATE_AFTER/DATE_BEFORE rules on <c>timestamp</c> (so SDKs follow them offline).
/// The result is checked by the strict loader: what is stored always compiles to a valid flag.
/// </summary>
public static class FlagCompiler
{
    private const double Scale = 100_000; // weights in thousandths of a percent

    /// <summary>Compiles a validated flag for one environment.</summary>
    /// <exception cref="DomainValidationException">The result is not a valid flag (which validation should have caught).</exception>
    public static SnapshotFlag Compile(Project project, Flag flag, Targeting targeting, IReadOnlyDictionary<string, Segment> segments)
    {
        ArgumentNullException.ThrowIfNull(project);
        ArgumentNullException.ThrowIfNull(flag);
        ArgumentNullException.ThrowIfNull(targeting);
        ArgumentNullException.ThrowIfNull(segments);

        var variations = flag.Variations.ToDictionary(v => v.Key, StringComparer.Ordinal);
        var conditionVariations = new List<string>();
        var conditionRules = new List<int>();
        var buffer = new ArrayBufferWriter<byte>(512);
        string defaultVariation;
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("slug", flag.Key);
            writer.WriteStartArray("conditions");
            for (int r = 0; r < targeting.Rules.Count; r++)
            {
                WriteRule(writer, project, flag, targeting.Rules[r], segments, variations, conditionVariations);
                while (conditionRules.Count < conditionVariations.Count)
                {
                    conditionRules.Add(r);
                }
            }

            defaultVariation = WriteDefault(writer, project, flag, targeting.DefaultServe, variations, conditionVariations);
            while (conditionRules.Count < conditionVariations.Count)
            {
                conditionRules.Add(-1);
            }
            writer.WriteEndArray();
            writer.WritePropertyName("defaultVariation");
            WriteVariation(writer, variations[defaultVariation]);
            if (flag.Kind == FlagKind.Migration && flag.Migration is { } migration)
            {
                // Read by Flagstaff's SDK helper; other loaders skip unknown properties.
                writer.WriteStartObject("migration");
                writer.WriteNumber("compareRate", migration.CompareRate);
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        var json = buffer.WrittenSpan.ToArray();
        var loaded = FlagConfiguration.LoadFlag(json, LoadMode.Strict);
        if (loaded.Flag is null)
        {
            throw new DomainValidationException([.. loaded.Errors.Select(e => new ValidationError("rules", e.ToString()))]);
        }

        // An archived flag, or a flag of an archived project, is served to no one.
        bool enabled = targeting.Enabled && flag.ArchivedAt is null && project.ArchivedAt is null;
        return new SnapshotFlag(flag.Key, enabled, json, [.. conditionVariations], [.. conditionRules], defaultVariation, flag.Variations.FirstOrDefault(v => v.Fallback)?.Key, loaded.Flag)
        {
            ActiveValues = [.. flag.Variations.Where(v => !v.Fallback && v.Value is not null).Select(v => FlagValue.FromJson(v.Value!.Value))],
            Migration = flag.Kind == FlagKind.Migration ? flag.Migration : null,
            DefaultIsSplit = targeting.DefaultServe.Split is not null,
        };
    }

    private static void WriteRule(
        Utf8JsonWriter writer, Project project, Flag flag, TargetingRule rule,
        IReadOnlyDictionary<string, Segment> segments, Dictionary<string, Variation> variations, List<string> conditionVariations)
    {
        var alternatives = Expand(project, flag, rule.Clauses, segments);
        var schedule = new List<WireRule>();
        if (rule.Schedule?.From is { } from)
        {
            schedule.Add(WireRule.Date("timestamp", Operators.DateAfter, from));
        }

        if (rule.Schedule?.Until is { } until)
        {
            schedule.Add(WireRule.Date("timestamp", Operators.DateBefore, until));
        }

        foreach (var clauses in alternatives)
        {
            var common = clauses.Concat(schedule).ToList();
            if (rule.Schedule is { Steps.Count: > 0 } plan)
            {
                // Latest step first: once it has begun it decides; earlier steps' ranges are inside it.
                string property = plan.Property ?? rule.Serve.Split?.Property ?? project.StickinessProperty;
                foreach (var step in plan.Steps.OrderByDescending(s => s.At))
                {
                    var rules = new List<WireRule>(common)
                    {
                        WireRule.Date("timestamp", Operators.DateAfter, step.At),
                        WireRule.Percentage(property, 0, Units(step.Percentage) / Scale, flag.Seed),
                    };
                    WriteCondition(writer, rules, variations[rule.Serve.Variation!], conditionVariations);
                }
            }
            else if (rule.Serve.Split is { } split)
            {
                foreach (var (variation, start, end) in Ranges(split))
                {
                    var rules = new List<WireRule>(common) { WireRule.Percentage(split.Property ?? project.StickinessProperty, start, end, flag.Seed) };
                    WriteCondition(writer, rules, variations[variation], conditionVariations);
                }
            }
            else
            {
                WriteCondition(writer, common, variations[rule.Serve.Variation!], conditionVariations);
            }
        }
    }

    // A default split: every bucket but the last becomes a condition; the last is the wire default,
    // which also catches contexts without the split's property.
    private static string WriteDefault(
        Utf8JsonWriter writer, Project project, Flag flag, Serve serve, Dictionary<string, Variation> variations, List<string> conditionVariations)
    {
        if (serve.Split is not { } split)
        {
            return serve.Variation!;
        }

        var ranges = Ranges(split);
        for (int i = 0; i < ranges.Count - 1; i++)
        {
            var (variation, start, end) = ranges[i];
            WriteCondition(writer, [WireRule.Percentage(split.Property ?? project.StickinessProperty, start, end, flag.Seed)], variations[variation], conditionVariations);
        }

        return ranges[^1].Variation;
    }

    /// <summary>
    /// The ranges of [0, 1) a split's buckets are compiled to, in order (buckets without a share left
    /// out; the last ends at 1): a context whose bucket position is in a range gets its variation.
    /// </summary>
    public static IReadOnlyList<(string Variation, double Start, double End)> SplitRanges(Split split)
    {
        ArgumentNullException.ThrowIfNull(split);
        return Ranges(split);
    }

    /// <summary>The end of the range [0, end) a progressive rollout step of <paramref name="percentage"/> is compiled to.</summary>
    public static double RolloutEnd(double percentage) => Units(percentage) / Scale;

    private static List<(string Variation, double Start, double End)> Ranges(Split split)
    {
        var ranges = new List<(string, double, double)>();
        long cumulative = 0;
        var buckets = split.Buckets.Where(b => Units(b.Weight) > 0).ToList();
        for (int i = 0; i < buckets.Count; i++)
        {
            long next = cumulative + Units(buckets[i].Weight);
            ranges.Add((buckets[i].Variation, cumulative / Scale, i == buckets.Count - 1 ? 1 : next / Scale));
            cumulative = next;
        }

        return ranges;
    }

    private static long Units(double percent) => (long)Math.Round(percent * 1000);

    // Clauses in disjunctive normal form. A segment is "in the id list, or all its clauses hold", so
    // using it gives up to two alternatives (none for an empty segment: it matches no one). Not being
    // in it is "not in the id list, and some clause fails": one alternative per clause, each
    // [not in ids, not clause] (a single [not in ids] without clauses; for an empty segment, always
    // true: one alternative with no rules). FlagRules.Alternatives bounds the product.
    private static List<List<WireRule>> Expand(Project project, Flag flag, IReadOnlyList<Clause> clauses, IReadOnlyDictionary<string, Segment> segments)
    {
        var alternatives = new List<List<WireRule>> { new() };
        foreach (var clause in clauses)
        {
            List<List<WireRule>> options;
            if (clause.Segment is not null)
            {
                var segment = segments[clause.Segment];
                WireRule? ids = segment.Ids.Count > 0
                    ? new WireRule(segment.IdProperty ?? project.StickinessProperty, Operators.StrEqual, clause.Negate) { Values = segment.Ids }
                    : null;
                options = [];
                if (!clause.Negate)
                {
                    if (ids is not null)
                    {
                        options.Add([ids]);
                    }

                    if (segment.Clauses.Count > 0)
                    {
                        options.Add([.. segment.Clauses.Select(c => ToWire(c, flag))]);
                    }
                }
                else if (segment.Clauses.Count == 0)
                {
                    options.Add(ids is null ? [] : [ids]);
                }
                else
                {
                    foreach (var inner in segment.Clauses)
                    {
                        var negated = ToWire(inner with { Negate = !inner.Negate }, flag);
                        options.Add(ids is null ? [negated] : [ids, negated]);
                    }
                }
            }
            else
            {
                options = [[ToWire(clause, flag)]];
            }

            alternatives = [.. alternatives.SelectMany(a => options.Select(o => a.Concat(o).ToList()))];
        }

        return alternatives;
    }

    private static WireRule ToWire(Clause clause, Flag flag)
    {
        var rule = new WireRule(clause.Property!, clause.Operator!, clause.Negate);
        return Operators.Operands[clause.Operator!] switch
        {
            OperandKind.Values => rule with
            {
                // STR_EQUAL_SOFT lower-cases the property, never the values: store them lower-cased.
                Values = clause.Operator == Operators.StrEqualSoft ? [.. clause.Values!.Select(Flagstaff.Evaluation.TextRules.ToLowerCase)] : clause.Values,
            },
            OperandKind.Text or OperandKind.Pattern => rule with { Text = clause.Value!.Value.GetString() },
            OperandKind.Number => rule with { Number = clause.Value!.Value.GetDouble() },
            OperandKind.Date => WireRule.Date(clause.Property!, clause.Operator!, clause.Date!.Value) with { Negate = clause.Negate },
            OperandKind.Version => rule with { Version = FlagRules.ParseVersion(clause.Version!) },
            OperandKind.Range => WireRule.Percentage(clause.Property!, clause.From!.Value / 100, clause.To!.Value / 100, flag.Seed) with { Negate = clause.Negate },
            _ => rule,
        };
    }

    private static void WriteCondition(Utf8JsonWriter writer, List<WireRule> rules, Variation variation, List<string> conditionVariations)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("rules");
        foreach (var rule in rules)
        {
            rule.WriteTo(writer);
        }

        writer.WriteEndArray();
        writer.WritePropertyName("variation");
        WriteVariation(writer, variation);
        writer.WriteEndObject();
        conditionVariations.Add(variation.Key);
    }

    private static void WriteVariation(Utf8JsonWriter writer, Variation variation)
    {
        writer.WriteStartObject();
        writer.WriteBoolean("active", !variation.Fallback);
        writer.WritePropertyName("value");
        if (variation.Fallback || variation.Value is not { } value)
        {
            writer.WriteNullValue();
        }
        else
        {
            value.WriteTo(writer);
        }

        writer.WriteEndObject();
    }

    /// <summary>One rule of the wire format.</summary>
    private sealed record WireRule(string Key, string Operator, bool Negate)
    {
        public IReadOnlyList<string>? Values { get; init; }

        public string? Text { get; init; }

        public double? Number { get; init; }

        public int[]? Version { get; init; }

        public long? Timestamp { get; init; }

        public string? Iso { get; init; }

        public double? RangeStart { get; init; }

        public double? RangeEnd { get; init; }

        public uint? Seed { get; init; }

        public static WireRule Date(string key, string op, DateTimeOffset at) => new(key, op, false)
        {
            Timestamp = at.ToUnixTimeMilliseconds(),
            Iso = at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture),
        };

        public static WireRule Percentage(string key, double start, double end, uint seed) =>
            new(key, Operators.Percentage, false) { RangeStart = start, RangeEnd = end, Seed = seed };

        public void WriteTo(Utf8JsonWriter writer)
        {
            writer.WriteStartObject();
            writer.WriteString("key", Key);
            writer.WriteString("operator", Operator);
            writer.WriteBoolean("negate", Negate);
            if (Values is not null)
            {
                writer.WriteStartArray("values");
                foreach (var value in Values)
                {
                    writer.WriteStringValue(value);
                }

                writer.WriteEndArray();
            }

            if (Text is not null)
            {
                writer.WriteString("value", Text);
            }

            if (Number is { } number)
            {
                writer.WriteNumber("value", number);
            }

            if (Version is not null)
            {
                writer.WriteStartArray("version");
                foreach (int part in Version)
                {
                    writer.WriteNumberValue(part);
                }

                writer.WriteEndArray();
            }

            if (Timestamp is { } timestamp)
            {
                writer.WriteNumber("timestamp", timestamp);
                writer.WriteString("iso", Iso);
            }

            if (Seed is { } seed)
            {
                writer.WriteNumber("rangeStart", RangeStart!.Value);
                writer.WriteNumber("rangeEnd", RangeEnd!.Value);
                writer.WriteNumber("seed", seed);
            }

            writer.WriteEndObject();
        }
    }
}
