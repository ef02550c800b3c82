using Flagstaff.DataPlane.Compilation;
using Flagstaff.Domain;
using Flagstaff.Evaluation;
using Flagstaff.Server.Services;

namespace Flagstaff.Dashboard.Model;

/// <summary>What the test panel found for one context.</summary>
/// <param name="Enabled">Whether the main switch is on (when off, applications get the default in their code).</param>
/// <param name="Active">Whether the flag is active for the context (else applications get their default).</param>
/// <param name="Value">The value served, as JSON, when active.</param>
/// <param name="Variation">The variation served.</param>
/// <param name="Rule">The index of the rule that decided, or null when the default did.</param>
/// <param name="Split">Whether a percentage split decided within the rule or default.</param>
/// <param name="Placement">Where the context falls in the split or progressive rollout of what decided, if one did.</param>
public sealed record TestResult(bool Enabled, bool Active, string? Value, string Variation, int? Rule, bool Split, SplitPlacement? Placement = null);

/// <summary>Where a context falls in a split or a progressive rollout.</summary>
/// <param name="Property">The property that places it.</param>
/// <param name="Position">Its bucket position in [0, 1), from the evaluation core; null when the context lacks the property.</param>
/// <param name="Ranges">The ranges of [0, 1), each with what it gets (a variation, or being in the rollout).</param>
/// <param name="Range">The index of the range that includes the position, or null.</param>
/// <param name="Step">For a progressive rollout, the step begun at the time evaluated ("30% since …").</param>
public sealed record SplitPlacement(string Property, double? Position, IReadOnlyList<(string Label, double Start, double End)> Ranges, int? Range, string? Step = null);

/// <summary>
/// Evaluates a context against a flag's compiled configuration in one environment with the evaluation
/// core, exactly as the evaluation APIs would, and tells which rule decided.
/// </summary>
public static class TestPanel
{
    /// <summary>Evaluates; throws <see cref="DomainValidationException"/> when the context is not a JSON object.</summary>
    public static TestResult Evaluate(Project project, Flag flag, TargetingView view, IReadOnlyDictionary<string, Segment> segments, string contextJson, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(project);
        ArgumentNullException.ThrowIfNull(flag);
        ArgumentNullException.ThrowIfNull(view);
        if (JsonValues.Parse(contextJson) is not { ValueKind: System.Text.Json.JsonValueKind.Object } json)
        {
            throw new DomainValidationException("context", $"is not a JSON object, such as {{\"{project.StickinessProperty}\": \"u-42\"}}");
        }

        var context = EvaluationContext.FromJson(json);
        var targeting = new Targeting { FlagId = flag.Id, EnvironmentId = view.Environment, Enabled = view.Enabled, Rules = view.Rules, DefaultServe = view.DefaultServe };
        var compiled = FlagCompiler.Compile(project, flag, targeting, segments);
        var result = compiled.Evaluator.Evaluate(context, now.ToUnixTimeMilliseconds());
        var variation = compiled.VariationOf(result);
        int? rule = result.ConditionIndex < 0 ? null : RuleOf(project, flag, targeting, segments, result.ConditionIndex);
        var placement = rule is { } r ? Placement(project, flag, targeting.Rules[r], context, now) : targeting.DefaultServe.Split is { } split ? Placement(project, flag, split, context) : null;
        return new TestResult(compiled.Enabled, result.IsActive, result.Value?.ToJson(), variation, rule, result.Reason == EvaluationReason.Split || placement is not null, placement);
    }

    // A rule's progressive rollout (the step begun at the time evaluated) or its split.
    private static SplitPlacement? Placement(Project project, Flag flag, TargetingRule rule, EvaluationContext context, DateTimeOffset now)
    {
        if (rule.Schedule is { Steps.Count: > 0 } plan)
        {
            var at = context.TryGetValue("timestamp", out var stamp) && stamp.Kind == ContextValueKind.Number ? DateTimeOffset.FromUnixTimeMilliseconds((long)stamp.Number) : now;
            var step = plan.Steps.Where(s => s.At <= at).MaxBy(s => s.At);
            if (step is null)
            {
                return null;
            }

            var property = plan.Property ?? rule.Serve.Split?.Property ?? project.StickinessProperty;
            double? position = Bucketing.Position(context, property, flag.Seed);
            double end = FlagCompiler.RolloutEnd(step.Percentage);
            return new SplitPlacement(property, position, [("in the rollout", 0, end), ("not in it yet", end, 1)], position is { } p ? (p < end ? 0 : 1) : null, $"{Labels.Percent(step.Percentage)} since {Labels.Time(step.At)}");
        }

        return rule.Serve.Split is { } split ? Placement(project, flag, split, context) : null;
    }

    private static SplitPlacement Placement(Project project, Flag flag, Split split, EvaluationContext context)
    {
        var property = split.Property ?? project.StickinessProperty;
        double? position = Bucketing.Position(context, property, flag.Seed);
        var ranges = FlagCompiler.SplitRanges(split);
        int? range = null;
        for (int i = 0; i < ranges.Count && position is { } p; i++)
        {
            if (p >= ranges[i].Start && p < ranges[i].End)
            {
                range = i;
            }
        }

        return new SplitPlacement(property, position, [.. ranges], range);
    }

    // A rule compiles to one or more wire conditions, and a default split to conditions after them:
    // compiling the rules one prefix at a time tells where each rule's conditions end.
    private static int? RuleOf(Project project, Flag flag, Targeting targeting, IReadOnlyDictionary<string, Segment> segments, int condition)
    {
        int Count(int rules) => FlagCompiler.Compile(project, flag, targeting with { Rules = [.. targeting.Rules.Take(rules)] }, segments).Evaluator.ConditionCount;
        int defaults = Count(0);
        for (int rule = 0; rule < targeting.Rules.Count; rule++)
        {
            if (condition < Count(rule + 1) - defaults)
            {
                return rule;
            }
        }

        return null;
    }
}
