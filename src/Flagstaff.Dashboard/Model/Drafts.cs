using System.Globalization;
using System.Text.Json;
using Flagstaff.Domain;
using Flagstaff.Evaluation;
using Flagstaff.Management.Services;

namespace Flagstaff.Dashboard.Model;

/// <summary>
/// A flag's targeting in one environment being edited: mutable, so that forms can bind to it, and
/// turned back into the request the service takes (which validates it, with paths the fields show).
/// </summary>
public sealed class TargetingDraft
{
    /// <summary>The main switch.</summary>
    public bool Enabled { get; set; }

    /// <summary>The rules, in order.</summary>
    public List<RuleDraft> Rules { get; } = [];

    /// <summary>What everyone else gets.</summary>
    public ServeDraft DefaultServe { get; set; } = new();

    /// <summary>The version the edit is based on.</summary>
    public long Version { get; set; }

    /// <summary>A draft of the targeting as read.</summary>
    public static TargetingDraft Read(TargetingView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        var draft = new TargetingDraft { Enabled = view.Enabled, DefaultServe = ServeDraft.Read(view.DefaultServe), Version = view.Version };
        draft.Rules.AddRange(view.Rules.Select(RuleDraft.Read));
        return draft;
    }

    /// <summary>The request that saves the draft.</summary>
    public TargetingRequest ToRequest() => new() { Enabled = Enabled, Rules = [.. Rules.Select(r => r.ToRule())], DefaultServe = DefaultServe.ToServe() };

    /// <summary>The draft as JSON, to tell whether it differs from what was read.</summary>
    public string Fingerprint() => JsonSerializer.Serialize(ToRequest() with { Enabled = false }, ApiJson.Default.TargetingRequest);
}

/// <summary>A rule being edited.</summary>
public sealed class RuleDraft
{
    /// <summary>Stable identifier.</summary>
    public string Id { get; set; } = Keys.NewRuleId();

    /// <summary>A label.</summary>
    public string? Name { get; set; }

    /// <summary>The conditions, all of which must hold.</summary>
    public List<ClauseDraft> Clauses { get; } = [];

    /// <summary>What the rule serves.</summary>
    public ServeDraft Serve { get; set; } = new();

    /// <summary>When the rule applies and how it rolls out, if it is scheduled.</summary>
    public ScheduleDraft? Schedule { get; set; }

    /// <summary>A draft of a stored rule.</summary>
    public static RuleDraft Read(TargetingRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var draft = new RuleDraft { Id = rule.Id ?? Keys.NewRuleId(), Name = rule.Name, Serve = ServeDraft.Read(rule.Serve), Schedule = rule.Schedule is null ? null : ScheduleDraft.Read(rule.Schedule) };
        draft.Clauses.AddRange(rule.Clauses.Select(ClauseDraft.Read));
        return draft;
    }

    /// <summary>The rule.</summary>
    public TargetingRule ToRule() => new()
    {
        Id = Id,
        Name = string.IsNullOrWhiteSpace(Name) ? null : Name.Trim(),
        Clauses = [.. Clauses.Select(c => c.ToClause())],
        Serve = Serve.ToServe(),
        Schedule = Schedule?.ToSchedule(),
    };
}

/// <summary>A clause being edited: a condition on a property, or membership of a segment.</summary>
public sealed class ClauseDraft
{
    /// <summary>Whether it is a segment clause.</summary>
    public bool IsSegment { get; set; }

    /// <summary>The property read.</summary>
    public string Property { get; set; } = "";

    /// <summary>The operator.</summary>
    public string Operator { get; set; } = Operators.StrEqual;

    /// <summary>Whether the clause is negated.</summary>
    public bool Negate { get; set; }

    /// <summary>The segment key.</summary>
    public string Segment { get; set; } = "";

    /// <summary>The operand as typed: values one per line (or separated by commas), or one value.</summary>
    public string Operand { get; set; } = "";

    /// <summary>The start of a percentage range.</summary>
    public double? From { get; set; }

    /// <summary>The end of a percentage range.</summary>
    public double? To { get; set; }

    /// <summary>The operator and negation as one select value (see <see cref="OperatorChoice.Value"/>).</summary>
    public string Choice
    {
        get => (Negate ? "!" : "") + Operator;
        set
        {
            Negate = value.StartsWith('!');
            Operator = value.TrimStart('!');
        }
    }

    /// <summary>A draft of a stored clause.</summary>
    public static ClauseDraft Read(Clause clause)
    {
        ArgumentNullException.ThrowIfNull(clause);
        if (clause.Segment is not null)
        {
            return new ClauseDraft { IsSegment = true, Segment = clause.Segment, Negate = clause.Negate };
        }

        var op = clause.Operator ?? Operators.StrEqual;
        var operand = OperatorChoices.Operand(op) switch
        {
            OperandKind.Values => string.Join(Environment.NewLine, clause.Values ?? []),
            OperandKind.Text or OperandKind.Pattern => clause.Value is { ValueKind: JsonValueKind.String } text ? text.GetString()! : clause.Value?.ToString() ?? "",
            OperandKind.Number => clause.Value?.ToString() ?? "",
            OperandKind.Date => clause.Date is { } date ? date.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture) : "",
            OperandKind.Version => clause.Version ?? "",
            _ => "",
        };
        return new ClauseDraft { Property = clause.Property ?? "", Operator = op, Negate = clause.Negate, Operand = operand, From = clause.From, To = clause.To };
    }

    /// <summary>
    /// The clause. What cannot be read (a number that is not one) is passed on as typed, so the
    /// service's validation says what is wrong, next to the field.
    /// </summary>
    public Clause ToClause()
    {
        if (IsSegment)
        {
            return new Clause { Segment = Segment, Negate = Negate };
        }

        var clause = new Clause { Property = Property.Trim(), Operator = Operator, Negate = Negate };
        return OperatorChoices.Operand(Operator) switch
        {
            OperandKind.Values => clause with { Values = SplitValues(Operand) },
            OperandKind.Text or OperandKind.Pattern => clause with { Value = JsonValues.String(Operand) },
            OperandKind.Number => clause with
            {
                Value = double.TryParse(Operand, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
                    ? JsonValues.Number(number)
                    : JsonValues.String(Operand),
            },
            OperandKind.Date => clause with { Date = ParseUtc(Operand) },
            OperandKind.Version => clause with { Version = Operand.Trim() },
            OperandKind.Range => clause with { From = From, To = To },
            _ => clause,
        };
    }

    /// <summary>Values typed one per line or separated by commas, trimmed, without blanks.</summary>
    public static IReadOnlyList<string> SplitValues(string text) =>
        [.. (text ?? "").Split(['\n', ','], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)];

    /// <summary>A date and time typed in UTC (as a <c>datetime-local</c> input gives it), or null.</summary>
    public static DateTimeOffset? ParseUtc(string? text) =>
        DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? new DateTimeOffset(at, TimeSpan.Zero)
            : null;

    /// <summary>An instant for a <c>datetime-local</c> input, in UTC.</summary>
    public static string FormatUtc(DateTimeOffset? at) => at is { } value ? value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture) : "";
}

/// <summary>What a rule or the default serves, being edited: one variation, or a split.</summary>
public sealed class ServeDraft
{
    /// <summary>Whether it is a percentage split.</summary>
    public bool IsSplit { get; set; }

    /// <summary>The variation served (when not a split).</summary>
    public string Variation { get; set; } = "";

    /// <summary>The split's stickiness property; empty for the project's.</summary>
    public string SplitProperty { get; set; } = "";

    /// <summary>The split's buckets.</summary>
    public List<BucketDraft> Buckets { get; } = [];

    /// <summary>A draft of a stored serve.</summary>
    public static ServeDraft Read(Serve serve)
    {
        ArgumentNullException.ThrowIfNull(serve);
        var draft = new ServeDraft { IsSplit = serve.Split is not null, Variation = serve.Variation ?? "", SplitProperty = serve.Split?.Property ?? "" };
        draft.Buckets.AddRange((serve.Split?.Buckets ?? []).Select(b => new BucketDraft { Variation = b.Variation, Weight = b.Weight }));
        return draft;
    }

    /// <summary>Serves one variation.</summary>
    public static ServeDraft Of(string variation) => new() { Variation = variation };

    /// <summary>The serve.</summary>
    public Serve ToServe() => IsSplit
        ? new Serve { Split = new Split { Property = string.IsNullOrWhiteSpace(SplitProperty) ? null : SplitProperty.Trim(), Buckets = [.. Buckets.Select(b => new SplitBucket { Variation = b.Variation, Weight = b.Weight })] } }
        : Serve.Of(Variation);

    /// <summary>Turns the serve into a split over the flag's variations, everyone in the bucket of the variation served until now.</summary>
    public void StartSplit(IReadOnlyList<Flagstaff.Domain.Variation> variations)
    {
        ArgumentNullException.ThrowIfNull(variations);
        IsSplit = true;
        if (Buckets.Count == 0)
        {
            var current = variations.Any(v => v.Key == Variation) ? Variation : variations[0].Key;
            Buckets.AddRange(variations.Select(v => new BucketDraft { Variation = v.Key, Weight = v.Key == current ? 100 : 0 }));
        }
    }

    /// <summary>Serves one variation again: the one with the largest share.</summary>
    public void StopSplit()
    {
        IsSplit = false;
        if (Buckets.Count > 0)
        {
            Variation = Buckets.MaxBy(b => b.Weight)!.Variation;
        }

        Buckets.Clear();
    }

    /// <summary>
    /// Sets one bucket's share, as a slider does: the difference is taken from (or given to) the other
    /// buckets, the last ones first, so the shares keep adding up to 100.
    /// </summary>
    public void SetWeight(int index, double weight)
    {
        weight = Math.Round(Math.Clamp(double.IsNaN(weight) ? 0 : weight, 0, 100), 3);
        double delta = weight - Buckets[index].Weight;
        Buckets[index].Weight = weight;
        for (int i = Buckets.Count - 1; i >= 0 && Math.Abs(delta) > 1e-9; i--)
        {
            if (i == index)
            {
                continue;
            }

            double next = Math.Round(Math.Clamp(Buckets[i].Weight - delta, 0, 100), 3);
            delta -= Buckets[i].Weight - next;
            Buckets[i].Weight = next;
        }
    }
}

/// <summary>A bucket of a split being edited.</summary>
public sealed class BucketDraft
{
    /// <summary>The variation served.</summary>
    public string Variation { get; set; } = "";

    /// <summary>The share, in percent.</summary>
    public double Weight { get; set; }
}

/// <summary>A rule's schedule being edited: a window, and optionally progressive steps.</summary>
public sealed class ScheduleDraft
{
    /// <summary>From when (UTC, as typed).</summary>
    public string From { get; set; } = "";

    /// <summary>Until when (UTC, as typed).</summary>
    public string Until { get; set; } = "";

    /// <summary>The property deciding who is in a progressive rollout; empty for the project's.</summary>
    public string Property { get; set; } = "";

    /// <summary>The steps of a progressive rollout.</summary>
    public List<StepDraft> Steps { get; } = [];

    /// <summary>A draft of a stored schedule.</summary>
    public static ScheduleDraft Read(Schedule schedule)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        var draft = new ScheduleDraft { From = ClauseDraft.FormatUtc(schedule.From), Until = ClauseDraft.FormatUtc(schedule.Until), Property = schedule.Property ?? "" };
        draft.Steps.AddRange(schedule.Steps.Select(s => new StepDraft { At = ClauseDraft.FormatUtc(s.At), Percentage = s.Percentage }));
        return draft;
    }

    /// <summary>The schedule.</summary>
    public Schedule ToSchedule() => new()
    {
        From = ClauseDraft.ParseUtc(From),
        Until = ClauseDraft.ParseUtc(Until),
        Property = string.IsNullOrWhiteSpace(Property) ? null : Property.Trim(),
        Steps = [.. Steps.Select(s => new RolloutStep { At = ClauseDraft.ParseUtc(s.At) ?? default, Percentage = s.Percentage })],
    };
}

/// <summary>A step of a progressive rollout being edited.</summary>
public sealed class StepDraft
{
    /// <summary>When the step begins (UTC, as typed).</summary>
    public string At { get; set; } = "";

    /// <summary>The share from then on, in percent.</summary>
    public double Percentage { get; set; }
}
