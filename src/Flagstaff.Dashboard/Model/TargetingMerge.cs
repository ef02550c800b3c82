using System.Text.Json;
using Flagstaff.Domain;
using Flagstaff.Management.Services;

namespace Flagstaff.Dashboard.Model;

/// <summary>The outcome of merging an edit with a change saved meanwhile.</summary>
/// <param name="Merged">The targeting to save: their change and the edit, together.</param>
/// <param name="Undone">
/// What saving <paramref name="Merged"/> undoes of their change, where both touched the same thing
/// (before: theirs, after: what the edit puts instead); empty when the two did not overlap.
/// </param>
public sealed record MergeResult(TargetingRequest Merged, IReadOnlyList<DiffLine> Undone);

/// <summary>
/// A three-way merge of one environment's targeting: the version an edit started from (base), the
/// version saved meanwhile by someone else (theirs) and the edit (mine). Each thing that can be told
/// apart — the default, each rule (by its id: its name, conditions, serve and schedule), the order of
/// the rules — takes whichever side changed it; where both changed the same thing differently the
/// edit wins, and that is reported, so an overwrite never undoes someone's change silently.
/// </summary>
public static class TargetingMerge
{
    /// <summary>Merges; all three are compared as the editor's drafts produce them.</summary>
    public static MergeResult Merge(string environment, TargetingRequest @base, TargetingRequest theirs, TargetingRequest mine)
    {
        ArgumentNullException.ThrowIfNull(@base);
        ArgumentNullException.ThrowIfNull(theirs);
        ArgumentNullException.ThrowIfNull(mine);
        var undone = new List<DiffLine>();
        var baseRules = ById(@base.Rules);
        var theirRules = ById(theirs.Rules);
        var myRules = ById(mine.Rules);

        // Each rule on its own.
        var merged = new Dictionary<string, TargetingRule>(StringComparer.Ordinal);
        var scopes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var id in baseRules.Keys.Union(theirRules.Keys).Union(myRules.Keys))
        {
            baseRules.TryGetValue(id, out var b);
            theirRules.TryGetValue(id, out var t);
            myRules.TryGetValue(id, out var m);
            var scope = $"{environment} · {Title(m ?? t ?? b!, mine.Rules, theirs.Rules)}";
            scopes[id] = scope;
            if (b is null)
            {
                // Added on one side (ids are random, so not on both).
                merged[id] = m ?? t!;
            }
            else if (m is null && t is null)
            {
                continue;
            }
            else if (m is null)
            {
                if (Same(b, t!))
                {
                    continue;
                }

                undone.Add(new DiffLine(scope + " (you removed it)", Describe.Rule(t!), null));
            }
            else if (t is null)
            {
                merged[id] = m;
                if (!Same(b, m))
                {
                    undone.Add(new DiffLine(scope + " (they removed it, your edit keeps it)", null, Describe.Rule(m)));
                }
            }
            else
            {
                var rule = new TargetingRule
                {
                    Id = id,
                    Name = Pick(b.Name, t.Name, m.Name, out bool nameClash),
                    Clauses = Pick(b.Clauses, t.Clauses, m.Clauses, Json(DomainJson.Default.IReadOnlyListClause), out bool clausesClash),
                    Serve = Pick(b.Serve, t.Serve, m.Serve, Json(DomainJson.Default.Serve), out bool serveClash),
                    Schedule = Pick(b.Schedule, t.Schedule, m.Schedule, s => s is null ? "" : Json(DomainJson.Default.IReadOnlyListTargetingRule)([new TargetingRule { Serve = Serve.Of(""), Schedule = s }]), out bool scheduleClash),
                };
                merged[id] = rule;
                if (nameClash || clausesClash || serveClash || scheduleClash)
                {
                    undone.Add(new DiffLine(scope, Describe.Rule(t), Describe.Rule(rule)));
                }
            }
        }

        var order = Order(@base.Rules, theirs.Rules, mine.Rules, merged, out bool orderClash);
        if (orderClash)
        {
            undone.Add(new DiffLine(environment + " · order of the rules", string.Join(", ", Names(theirs.Rules.Where(r => merged.ContainsKey(r.Id!)), merged, scopes)), string.Join(", ", Names(order, merged, scopes))));
        }

        var defaultServe = Pick(@base.DefaultServe, theirs.DefaultServe, mine.DefaultServe, Json(DomainJson.Default.Serve), out bool defaultClash);
        if (defaultClash)
        {
            undone.Add(new DiffLine(environment + " · everyone else", Describe.Serve(theirs.DefaultServe), Describe.Serve(defaultServe)));
        }

        // The main switch is not part of an edit: it is switched on its own, at once.
        return new MergeResult(new TargetingRequest { Enabled = theirs.Enabled, Rules = order, DefaultServe = defaultServe }, undone);
    }

    /// <summary>
    /// Gives the rules of a stored version the ids the draft of <paramref name="base"/> gave them, so
    /// that rules stored without an id (through the API) are matched as the history diff matches them:
    /// by position.
    /// </summary>
    public static TargetingRequest Normalize(TargetingView view, TargetingView storedBase, TargetingRequest @base)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(storedBase);
        ArgumentNullException.ThrowIfNull(@base);
        var rules = view.Rules.Select((r, i) => r.Id is null && i < storedBase.Rules.Count && storedBase.Rules[i].Id is null && i < @base.Rules.Count ? r with { Id = @base.Rules[i].Id } : r).ToList();
        return TargetingDraft.Read(view with { Rules = rules }).ToRequest();
    }

    private static Dictionary<string, TargetingRule> ById(IReadOnlyList<TargetingRule> rules) =>
        rules.Where(r => r.Id is not null).GroupBy(r => r.Id!, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);

    // The edit's order when it moved rules, else theirs; rules only one side added go after the rule
    // they follow on that side.
    private static List<TargetingRule> Order(
        IReadOnlyList<TargetingRule> @base, IReadOnlyList<TargetingRule> theirs, IReadOnlyList<TargetingRule> mine, Dictionary<string, TargetingRule> merged, out bool clash)
    {
        var baseIds = @base.Select(r => r.Id!).ToList();
        bool IsMoved(IReadOnlyList<TargetingRule> side)
        {
            var kept = side.Select(r => r.Id!).Where(baseIds.Contains).ToList();
            return !kept.SequenceEqual(baseIds.Where(kept.Contains));
        }

        bool mineMoved = IsMoved(mine), theirsMoved = IsMoved(theirs);
        var (leading, other) = mineMoved ? (mine, theirs) : (theirs, mine);
        clash = mineMoved && theirsMoved && !SameOrder(mine, theirs, merged);
        var ids = leading.Select(r => r.Id!).Where(merged.ContainsKey).ToList();
        for (int i = 0; i < other.Count; i++)
        {
            var id = other[i].Id!;
            if (ids.Contains(id) || !merged.ContainsKey(id))
            {
                continue;
            }

            int after = -1;
            for (int j = i - 1; j >= 0 && after < 0; j--)
            {
                after = ids.IndexOf(other[j].Id!);
            }

            ids.Insert(after + 1, id);
        }

        return [.. ids.Select(id => merged[id])];
    }

    private static bool SameOrder(IReadOnlyList<TargetingRule> a, IReadOnlyList<TargetingRule> b, Dictionary<string, TargetingRule> merged)
    {
        var x = a.Select(r => r.Id!).Where(id => merged.ContainsKey(id) && b.Any(o => o.Id == id)).ToList();
        var y = b.Select(r => r.Id!).Where(id => merged.ContainsKey(id) && a.Any(o => o.Id == id)).ToList();
        return x.SequenceEqual(y);
    }

    private static IEnumerable<string> Names(IEnumerable<TargetingRule> rules, Dictionary<string, TargetingRule> merged, Dictionary<string, string> scopes) =>
        rules.Select(r => r.Name is { Length: > 0 } name ? "“" + name + "”" : scopes[r.Id!][(scopes[r.Id!].IndexOf('·', StringComparison.Ordinal) + 2)..]);

    private static string Title(TargetingRule rule, IReadOnlyList<TargetingRule> mine, IReadOnlyList<TargetingRule> theirs)
    {
        int index = IndexOf(mine, rule.Id);
        if (index < 0)
        {
            index = IndexOf(theirs, rule.Id);
        }

        return $"rule {index + 1}" + (rule.Name is { Length: > 0 } name ? $" “{name}”" : "");
    }

    private static int IndexOf(IReadOnlyList<TargetingRule> rules, string? id)
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

    private static string? Pick(string? b, string? t, string? m, out bool clash) => Pick(b, t, m, s => s ?? "", out clash);

    private static T Pick<T>(T b, T t, T m, Func<T, string> key, out bool clash)
    {
        string kb = key(b), kt = key(t), km = key(m);
        clash = kb != kt && kb != km && kt != km;
        return km == kb ? t : m;
    }

    private static Func<T, string> Json<T>(System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) => value => JsonSerializer.Serialize(value, type);

    private static bool Same(TargetingRule a, TargetingRule b) =>
        JsonSerializer.Serialize([a], DomainJson.Default.IReadOnlyListTargetingRule) == JsonSerializer.Serialize([b], DomainJson.Default.IReadOnlyListTargetingRule);
}
