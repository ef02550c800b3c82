using System.Text.Json;
using Flagstaff.Domain;

namespace Flagstaff.Dashboard.Model;

/// <summary>One difference: where, and the text before and after (null when added or removed).</summary>
/// <param name="Scope">Where: "Name", "Production · rule 2", ...</param>
/// <param name="Before">What it was, or null when it was added.</param>
/// <param name="After">What it is, or null when it was removed.</param>
public sealed record DiffLine(string Scope, string? Before, string? After);

/// <summary>
/// Readable differences between two states of a flag: settings, variations, and per environment the
/// main switch, each rule (matched by its id) and the default, each described in words.
/// </summary>
public static class FlagDiff
{
    /// <summary>The differences between two states of a flag (before null: it was created).</summary>
    public static IReadOnlyList<DiffLine> Compare(FlagDocument? before, FlagDocument after, IReadOnlyDictionary<string, string>? environmentNames = null)
    {
        ArgumentNullException.ThrowIfNull(after);
        var lines = new List<DiffLine>();
        Add(lines, "Name", before?.Name, after.Name);
        Add(lines, "Description", before?.Description, after.Description);
        Add(lines, "Tags", before is null ? null : string.Join(", ", before.Tags), string.Join(", ", after.Tags));
        Add(lines, "Kind", before is null ? null : Labels.Kind(before.Kind), Labels.Kind(after.Kind));
        Add(lines, "Archived", before is null ? null : YesNo(before.Archived), YesNo(after.Archived));
        CompareVariations(lines, before?.Variations ?? [], after.Variations);
        foreach (var (key, targeting) in after.Environments)
        {
            var name = environmentNames?.GetValueOrDefault(key) ?? key;
            var old = before?.Environments.GetValueOrDefault(key);
            Targeting(lines, name, old is null ? null : (old.Enabled, old.Rules, old.DefaultServe), (targeting.Enabled, targeting.Rules, targeting.DefaultServe));
        }

        return lines;
    }

    /// <summary>The differences between two states of the targeting in one environment.</summary>
    public static IReadOnlyList<DiffLine> Compare(
        string environment, (bool Enabled, IReadOnlyList<TargetingRule> Rules, Serve DefaultServe) before, (bool Enabled, IReadOnlyList<TargetingRule> Rules, Serve DefaultServe) after)
    {
        var lines = new List<DiffLine>();
        Targeting(lines, environment, before, after);
        return lines;
    }

    private static void Targeting(
        List<DiffLine> lines, string environment, (bool Enabled, IReadOnlyList<TargetingRule> Rules, Serve DefaultServe)? before, (bool Enabled, IReadOnlyList<TargetingRule> Rules, Serve DefaultServe) after)
    {
        Add(lines, environment + " · main switch", before is null ? null : OnOff(before.Value.Enabled), OnOff(after.Enabled));
        var oldRules = before?.Rules ?? [];
        var matched = new HashSet<int>();
        for (int i = 0; i < after.Rules.Count; i++)
        {
            var rule = after.Rules[i];
            int j = rule.Id is null ? -1 : IndexOf(oldRules, rule.Id);
            if (j < 0 && rule.Id is null && i < oldRules.Count && oldRules[i].Id is null)
            {
                j = i;
            }

            var scope = $"{environment} · rule {i + 1}";
            if (j < 0)
            {
                lines.Add(new DiffLine(scope + " (added)", null, Describe.Rule(rule)));
                continue;
            }

            matched.Add(j);
            Add(lines, j == i ? scope : $"{scope} (was {j + 1})", Describe.Rule(oldRules[j]), Describe.Rule(rule), force: j != i);
        }

        for (int j = 0; j < oldRules.Count; j++)
        {
            if (!matched.Contains(j))
            {
                lines.Add(new DiffLine($"{environment} · rule {j + 1} (removed)", Describe.Rule(oldRules[j]), null));
            }
        }

        Add(lines, environment + " · everyone else", before is null ? null : Describe.Serve(before.Value.DefaultServe), Describe.Serve(after.DefaultServe));
    }

    private static void CompareVariations(List<DiffLine> lines, IReadOnlyList<Variation> before, IReadOnlyList<Variation> after)
    {
        foreach (var variation in after)
        {
            var old = before.FirstOrDefault(v => v.Key == variation.Key);
            Add(lines, "Variation " + variation.Key, old is null ? null : Variation(old), Variation(variation), force: old is null && before.Count > 0);
        }

        foreach (var old in before.Where(o => after.All(v => v.Key != o.Key)))
        {
            lines.Add(new DiffLine("Variation " + old.Key + " (removed)", Variation(old), null));
        }
    }

    private static string Variation(Variation variation) =>
        (variation.Fallback ? "fallback (inactive)" : JsonValues.Show(variation.Value)) + (variation.Name is { Length: > 0 } name ? " · " + name : "");

    private static int IndexOf(IReadOnlyList<TargetingRule> rules, string id)
    {
        for (int i = 0; i < rules.Count; i++)
        {
            if (rules[i].Id == id)
            {
                return i;
            }
        }

        return -1;
    }

    private static void Add(List<DiffLine> lines, string scope, string? before, string? after, bool force = false)
    {
        if (force || (before is not null && before != after))
        {
            lines.Add(new DiffLine(scope, before, after));
        }
    }

    private static string OnOff(bool on) => on ? "on" : "off";

    private static string YesNo(bool yes) => yes ? "yes" : "no";

    /// <summary>A flag document from its JSON in the audit log.</summary>
    public static FlagDocument? Document(JsonElement? json) => json?.Deserialize(DomainJson.Default.FlagDocument);
}
