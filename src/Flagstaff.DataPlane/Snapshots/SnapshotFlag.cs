using Flagstaff.Domain;
using Flagstaff.Evaluation;

namespace Flagstaff.DataPlane.Snapshots;

/// <summary>
/// A flag as an environment snapshot holds it, compiled for that environment: its wire configuration (spec/flag-format.md) and what the
/// server needs besides to explain results (which variation each condition serves).
/// </summary>
public sealed class SnapshotFlag
{
    internal SnapshotFlag(string key, bool enabled, byte[] json, string[] conditionVariations, int[] conditionRules, string defaultVariation, string? fallbackVariation, CompiledFlag evaluator)
    {
        Key = key;
        FallbackVariation = fallbackVariation;
        Enabled = enabled;
        Json = json;
        ConditionVariations = conditionVariations;
        ConditionRules = conditionRules;
        DefaultVariation = defaultVariation;
        Evaluator = evaluator;
    }

    /// <summary>The flag's key (the wire slug).</summary>
    public string Key { get; }

    /// <summary>
    /// Whether the flag is served in the environment (main switch on and not archived). A disabled flag
    /// is left out of <c>GET /config</c>; its configuration still exists so a result can say "disabled".
    /// </summary>
    public bool Enabled { get; }

    /// <summary>The flag in the wire format, compact UTF-8 JSON.</summary>
    public byte[] Json { get; }

    /// <summary>The variation key each wire condition serves, by condition index.</summary>
    public IReadOnlyList<string> ConditionVariations { get; }

    /// <summary>
    /// The targeting rule each wire condition comes from, by condition index; -1 for conditions that
    /// come from a split default.
    /// </summary>
    public IReadOnlyList<int> ConditionRules { get; }

    /// <summary>The values of the flag's variations that are not the fallback: what it can serve.</summary>
    public IReadOnlyList<FlagValue> ActiveValues { get; init; } = [];

    /// <summary>A migration flag's settings (null for other kinds): measurements are taken for these flags only.</summary>
    public MigrationSettings? Migration { get; init; }

    /// <summary>The key of the flag's fallback variation, if it has one.</summary>
    public string? FallbackVariation { get; }

    /// <summary>The variation key the wire default serves.</summary>
    public string DefaultVariation { get; }

    /// <summary>
    /// Whether the default serves a percentage split: its last bucket is compiled as the wire default,
    /// so a context served the wire default was still placed by the split.
    /// </summary>
    public bool DefaultIsSplit { get; init; }

    /// <summary>The flag, compiled by the evaluation core.</summary>
    public CompiledFlag Evaluator { get; }

    /// <summary>The variation key a result came from.</summary>
    public string VariationOf(in EvaluationResult result) =>
        result.ConditionIndex >= 0 ? ConditionVariations[result.ConditionIndex] : DefaultVariation;
}
