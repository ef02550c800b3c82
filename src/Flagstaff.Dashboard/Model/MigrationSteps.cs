using Flagstaff.Domain;
using Flagstaff.Server.Services;

namespace Flagstaff.Dashboard.Model;

/// <summary>
/// The moves of a migration flag's cohorts that the targeting editor asks about before saving: a cohort
/// moved forward by more than one stage of its path, or into <c>complete</c>.
/// </summary>
public static class MigrationSteps
{
    /// <summary>One line per risky move ("Beta: shadow → complete"); empty when there is none.</summary>
    public static List<string> Risky(MigrationPath path, TargetingView before, TargetingRequest after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var stages = MigrationStages.Of(path);
        var lines = new List<string>();
        for (int i = 0; i < after.Rules.Count; i++)
        {
            var rule = after.Rules[i];
            var old = (rule.Id is null ? null : before.Rules.FirstOrDefault(r => r.Id == rule.Id)) ?? (i < before.Rules.Count && before.Rules[i].Id is null ? before.Rules[i] : null);
            Check(rule.Name is { Length: > 0 } name ? name : $"Rule {i + 1}", old?.Serve, rule.Serve);
        }

        Check("Everyone else", before.DefaultServe, after.DefaultServe);
        return lines;

        void Check(string cohort, Serve? from, Serve to)
        {
            int was = from is null ? 0 : Furthest(from), now = Furthest(to);
            if (now > was && (now - was > 1 || stages[now] == MigrationStages.Complete))
            {
                lines.Add($"{cohort}: {stages[was]} → {stages[now]}");
            }
        }

        int Furthest(Serve serve) => MigrationStages.StagesOf(serve).Select(s => Math.Max(0, IndexOf(stages, s))).DefaultIfEmpty(0).Max();
    }

    private static int IndexOf(IReadOnlyList<string> stages, string stage)
    {
        for (int i = 0; i < stages.Count; i++)
        {
            if (stages[i] == stage)
            {
                return i;
            }
        }

        return -1;
    }
}
