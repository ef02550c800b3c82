using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Flagstaff.Evaluation;

namespace Flagstaff.Domain;

/// <summary>Which stages a migration goes through; chosen when the flag is created and never changed.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<MigrationPath>))]
public enum MigrationPath
{
    /// <summary>All six stages: off, dualwrite, shadow, live, rampdown, complete.</summary>
    [JsonStringEnumMemberName("full")]
    Full,

    /// <summary>off, dualwrite, live, complete.</summary>
    [JsonStringEnumMemberName("short")]
    Short,

    /// <summary>off, complete.</summary>
    [JsonStringEnumMemberName("direct")]
    Direct,
}

/// <summary>
/// A migration flag's settings (docs/adr/0004-migrations.md): its path, the share of reads compared,
/// and the guards that send reads back to the old side. A guard set to null is off.
/// </summary>
public sealed record MigrationSettings
{
    /// <summary>The default window guards judge over.</summary>
    public const int DefaultWindowSeconds = 60;

    /// <summary>The default number of calls (or comparisons) a guard needs before it judges.</summary>
    public const int DefaultMinSamples = 50;

    /// <summary>The stages it goes through; required when the flag is created, fixed afterwards.</summary>
    public MigrationPath? Path { get; set; }

    /// <summary>The share of reads in <c>shadow</c> and <c>live</c> whose two results are compared (0 to 1).</summary>
    public double CompareRate { get; set; } = 1;

    /// <summary>Trips when new-side errors / new-side calls is above it (0 to 1); null: off.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)] // null is "off", not "the default": always written
    public double? MaxNewErrorRate { get; set; } = 0.01;

    /// <summary>Trips when 1 − inconsistent / compared is below it (0 to 1); null: off.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)] // null is "off", not "the default": always written
    public double? MinConsistency { get; set; } = 0.999;

    /// <summary>Trips when the new side's p99 latency is above this many times the old side's; null: off.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)] // null is "off", not "the default": always written
    public double? MaxLatencyRatio { get; set; } = 3;

    /// <summary>The window guards judge over, in seconds (a multiple of 10, from 10 to 3600).</summary>
    public int WindowSeconds { get; set; } = DefaultWindowSeconds;

    /// <summary>The calls (or comparisons) a guard needs in its window before it judges.</summary>
    public int MinSamples { get; set; } = DefaultMinSamples;
}

/// <summary>The stages of each migration path, and what a guard or an emergency action does to targeting (the stage names are <see cref="MigrationStageNames"/>).</summary>
public static class MigrationPaths
{
    /// <summary>The stages of a path, in order.</summary>
    public static IReadOnlyList<string> Of(MigrationPath path) => path switch
    {
        MigrationPath.Full => MigrationStageNames.All,
        MigrationPath.Short => [MigrationStageNames.Off, MigrationStageNames.DualWrite, MigrationStageNames.Live, MigrationStageNames.Complete],
        _ => [MigrationStageNames.Off, MigrationStageNames.Complete],
    };

    /// <summary>
    /// The last stage of the path whose authoritative side is old, where a guard sends reads back
    /// (shadow, dualwrite); none on the direct path.
    /// </summary>
    public static string? SafeStage(MigrationPath path) => path switch
    {
        MigrationPath.Full => MigrationStageNames.Shadow,
        MigrationPath.Short => MigrationStageNames.DualWrite,
        _ => null,
    };

    /// <summary>Whether the new side is authoritative at a stage (reads are served from new).</summary>
    public static bool ReadsFromNew(string stage) => stage is MigrationStageNames.Live or MigrationStageNames.Rampdown or MigrationStageNames.Complete;

    /// <summary>The variations of a migration flag: one per stage of its path, key and value the stage's name.</summary>
    public static IReadOnlyList<Variation> Variations(MigrationPath path) =>
        [.. Of(path).Select(stage => new Variation { Key = stage, Name = Title(stage), Value = JsonSerializer.SerializeToElement(stage, DomainJson.Default.String) })];

    private static string Title(string stage) => stage switch
    {
        MigrationStageNames.DualWrite => "Dual write",
        _ => char.ToUpperInvariant(stage[0]) + stage[1..],
    };

    /// <summary>
    /// Moves every cohort (rules and default, split buckets included) served one of
    /// <paramref name="from"/> to <paramref name="to"/>; buckets that end on the same stage are merged.
    /// Cohorts at other stages are left as they are.
    /// </summary>
    public static Targeting Move(Targeting targeting, IReadOnlySet<string> from, string to)
    {
        ArgumentNullException.ThrowIfNull(targeting);
        ArgumentNullException.ThrowIfNull(from);
        return targeting with
        {
            Rules = [.. targeting.Rules.Select(r => r with { Serve = Move(r.Serve, from, to) })],
            DefaultServe = Move(targeting.DefaultServe, from, to),
        };
    }

    private static Serve Move(Serve serve, IReadOnlySet<string> from, string to)
    {
        if (serve.Variation is { } variation)
        {
            return from.Contains(variation) ? serve with { Variation = to } : serve;
        }

        if (serve.Split is not { } split || !split.Buckets.Any(b => from.Contains(b.Variation)))
        {
            return serve;
        }

        var merged = new List<SplitBucket>();
        foreach (var bucket in split.Buckets)
        {
            var stage = from.Contains(bucket.Variation) ? to : bucket.Variation;
            int index = merged.FindIndex(b => b.Variation == stage);
            if (index < 0)
            {
                merged.Add(new SplitBucket { Variation = stage, Weight = bucket.Weight });
            }
            else
            {
                merged[index] = merged[index] with { Weight = Math.Round(merged[index].Weight + bucket.Weight, 3) };
            }
        }

        return serve with { Split = split with { Buckets = merged } };
    }

    /// <summary>The stages a cohort serves (one, or each bucket of its split with weight).</summary>
    public static IEnumerable<string> StagesOf(Serve serve)
    {
        ArgumentNullException.ThrowIfNull(serve);
        return serve.Variation is { } v ? [v] : serve.Split?.Buckets.Where(b => b.Weight > 0).Select(b => b.Variation) ?? [];
    }

    /// <summary>Checks a flag's migration settings and variations against its kind.</summary>
    internal static void Check(Flag flag, ValidationErrors errors)
    {
        if (flag.Kind != FlagKind.Migration)
        {
            if (flag.Migration is not null)
            {
                errors.Add("migration", "only migration flags have migration settings");
            }

            return;
        }

        if (flag.ValueType != FlagValueType.String)
        {
            errors.Add("valueType", "a migration flag's values are its stages: its value type is string");
        }

        if (flag.Migration is not { } settings)
        {
            errors.Add("migration", "is required for a migration flag: at least its path (full, short or direct)");
            return;
        }

        if (settings.Path is not { } path)
        {
            errors.Add("migration.path", "is required: full, short or direct");
            return;
        }

        var expected = Variations(path);
        if (flag.Variations.Count != expected.Count || !flag.Variations.Zip(expected).All(p => Same(p.First, p.Second)))
        {
            errors.Add("variations", $"a migration flag's variations are the stages of its path ({string.Join(", ", Of(path))}); they cannot be edited");
        }

        CheckRate(settings.CompareRate, "migration.compareRate", errors);
        if (settings.MaxNewErrorRate is { } errorRate)
        {
            CheckRate(errorRate, "migration.maxNewErrorRate", errors);
        }

        if (settings.MinConsistency is { } consistency)
        {
            CheckRate(consistency, "migration.minConsistency", errors);
        }

        if (settings.MaxLatencyRatio is { } ratio && (double.IsNaN(ratio) || ratio is < 1 or > 1000))
        {
            errors.Add("migration.maxLatencyRatio", Invariant($"must be between 1 and 1000 (times the old side's p99), not {ratio}"));
        }

        if (settings.WindowSeconds is < 10 or > 3600 || settings.WindowSeconds % 10 != 0)
        {
            errors.Add("migration.windowSeconds", Invariant($"must be a multiple of 10 from 10 to 3600 (measurements are kept in 10-second windows), not {settings.WindowSeconds}"));
        }

        if (settings.MinSamples is < 1 or > 1_000_000)
        {
            errors.Add("migration.minSamples", Invariant($"must be between 1 and 1,000,000, not {settings.MinSamples}"));
        }
    }

    private static bool Same(Variation a, Variation b) =>
        a.Key == b.Key && !a.Fallback && a.Value is { ValueKind: JsonValueKind.String } value && value.GetString() == b.Key;

    private static void CheckRate(double value, string path, ValidationErrors errors)
    {
        if (double.IsNaN(value) || value is < 0 or > 1)
        {
            errors.Add(path, Invariant($"must be between 0 and 1, not {value}"));
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
