using System.Globalization;
using System.Text.Json;
using Flagstaff.Domain;
using Flagstaff.Evaluation;
using Flagstaff.Management.Services;

namespace Flagstaff.Dashboard.Model;

/// <summary>Targeting in words: what the flags list, the read-only view and the history show.</summary>
public static class Describe
{
    /// <summary>A clause: "country is one of FR, DE", "is in segment beta".</summary>
    public static string Clause(Clause clause)
    {
        ArgumentNullException.ThrowIfNull(clause);
        if (clause.Segment is not null)
        {
            return (clause.Negate ? "is not in segment " : "is in segment ") + clause.Segment;
        }

        var op = clause.Operator ?? "?";
        var text = $"{clause.Property} {OperatorChoices.Label(op, clause.Negate)}";
        var operand = OperatorChoices.Operand(op) switch
        {
            OperandKind.Values => List(clause.Values ?? []),
            OperandKind.Text or OperandKind.Pattern => clause.Value is { ValueKind: JsonValueKind.String } value ? "\u201c" + value.GetString() + "\u201d" : JsonValues.Show(clause.Value),
            OperandKind.Number => JsonValues.Show(clause.Value),
            OperandKind.Date => clause.Date is { } date ? Labels.Time(date) : "?",
            OperandKind.Version => clause.Version ?? "?",
            OperandKind.Range => string.Create(CultureInfo.InvariantCulture, $"{clause.From}–{clause.To}%"),
            _ => null,
        };
        return operand is null ? text : text + " " + operand;
    }

    /// <summary>What is served: "on", "20% on, 80% off".</summary>
    public static string Serve(Serve serve)
    {
        ArgumentNullException.ThrowIfNull(serve);
        if (serve.Split is not { } split)
        {
            return serve.Variation ?? "?";
        }

        var buckets = string.Join(", ", split.Buckets.Where(b => b.Weight > 0).Select(b => $"{Labels.Percent(b.Weight)} {b.Variation}"));
        return split.Property is null ? buckets : $"{buckets} (by {split.Property})";
    }

    /// <summary>A rule in one sentence.</summary>
    public static string Rule(TargetingRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var who = rule.Clauses.Count == 0 ? "everyone" : "if " + string.Join(" and ", rule.Clauses.Select(Clause));
        var text = $"{who}: serve {Serve(rule.Serve)}";
        if (rule.Schedule is { } schedule)
        {
            text += " " + Schedule(schedule);
        }

        return (rule.Name is { Length: > 0 } name ? "\u201c" + name + "\u201d " : "") + text;
    }

    /// <summary>A schedule: "from … until …, 10% from …, 50% from …".</summary>
    public static string Schedule(Schedule schedule)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        var parts = new List<string>();
        if (schedule.From is { } from)
        {
            parts.Add("from " + Labels.Time(from));
        }

        if (schedule.Until is { } until)
        {
            parts.Add("until " + Labels.Time(until));
        }

        parts.AddRange(schedule.Steps.Select(s => $"{Labels.Percent(s.Percentage)} from {Labels.Time(s.At)}"));
        return string.Join(", ", parts);
    }

    /// <summary>
    /// What a flag serves in one environment, in a few words, for the flags list and the environment
    /// cards. Off or archived, nothing is served, and the words say so: during an incident "serves on"
    /// beside an off switch is exactly what gets misread.
    /// </summary>
    public static string Summary(TargetingView targeting, bool archived = false)
    {
        ArgumentNullException.ThrowIfNull(targeting);
        if (archived)
        {
            return "archived: not served";
        }

        return targeting.Enabled ? Rollout(targeting) : "not served";
    }

    /// <summary>The same at length, with what the targeting would serve once on (for a tooltip).</summary>
    public static string WhenOn(TargetingView targeting, bool archived = false)
    {
        ArgumentNullException.ThrowIfNull(targeting);
        return archived ? "Archived: served to no one; applications get the default in their code. Once restored and on: " + Rollout(targeting)
            : !targeting.Enabled ? "Off: applications get the default in their code. Once on: " + Rollout(targeting)
            : Rollout(targeting);
    }

    private static string Rollout(TargetingView targeting)
    {
        var serve = targeting.DefaultServe.Split is not null ? Serve(targeting.DefaultServe) : "serves " + Serve(targeting.DefaultServe);
        if (targeting.Rules.Count == 0)
        {
            return serve;
        }

        var rules = targeting.Rules.Count == 1 ? "1 rule" : $"{targeting.Rules.Count} rules";
        if (targeting.Rules.Any(r => r.Schedule is not null))
        {
            rules += " (scheduled)";
        }

        return $"{rules}, else {(targeting.DefaultServe.Split is not null ? Serve(targeting.DefaultServe) : Serve(targeting.DefaultServe))}";
    }

    /// <summary>A short list: "a, b, c and 12 more".</summary>
    public static string List(IReadOnlyList<string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return values.Count switch
        {
            0 => "(nothing)",
            <= 4 => string.Join(", ", values),
            _ => string.Join(", ", values.Take(3)) + $" and {values.Count - 3} more",
        };
    }
}
