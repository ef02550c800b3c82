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
public sealed record TestResult(bool Enabled, bool Active, string? Value, string Variation, int? Rule, bool Split);

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
            throw new DomainValidationException("context", "is not a JSON object, such as {\"userId\": \"u-42\"}");
        }

        var context = EvaluationContext.FromJson(json);
        var targeting = new Targeting { FlagId = flag.Id, EnvironmentId = view.Environment, Enabled = view.Enabled, Rules = view.Rules, DefaultServe = view.DefaultServe };
        var compiled = FlagCompiler.Compile(project, flag, targeting, segments);
        var result = compiled.Evaluator.Evaluate(context, now.ToUnixTimeMilliseconds());
        var variation = compiled.VariationOf(result);
        int? rule = result.ConditionIndex < 0 ? null : RuleOf(project, flag, targeting, segments, result.ConditionIndex);
        return new TestResult(compiled.Enabled, result.IsActive, result.Value?.ToJson(), variation, rule, result.Reason == EvaluationReason.Split);
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
