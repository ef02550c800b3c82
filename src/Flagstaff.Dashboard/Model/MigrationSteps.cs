using Flagstaff.Domain;
using Flagstaff.Evaluation;
using Flagstaff.Management.Services;

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
        var stages = MigrationPaths.Of(path);
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
            if (now > was && (now - was > 1 || stages[now] == MigrationStageNames.Complete))
            {
                lines.Add($"{cohort}: {stages[was]} → {stages[now]}");
            }
        }

        int Furthest(Serve serve) => MigrationPaths.StagesOf(serve).Select(s => Math.Max(0, IndexOf(stages, s))).DefaultIfEmpty(0).Max();
    }

    /// <summary>
    /// Where "advance" takes a cohort: the next stage of the path; a cohort split over stages (halfway
    /// through a move) finishes the move, to its furthest stage, so no one skips a stage. Null at complete.
    /// </summary>
    public static string? Next(MigrationPath path, Serve serve)
    {
        var (stages, first, last) = Span(path, serve);
        return first != last ? stages[last] : last + 1 < stages.Count ? stages[last + 1] : null;
    }

    /// <summary>
    /// Where "back one stage" takes a cohort: the previous stage; a split cohort goes back to its
    /// earliest stage. Null at off, and when any of it is at complete: old no longer has its writes.
    /// </summary>
    public static string? Previous(MigrationPath path, Serve serve)
    {
        var (stages, first, last) = Span(path, serve);
        if (stages[last] == MigrationStageNames.Complete)
        {
            return null;
        }

        return first != last ? stages[first] : first > 0 ? stages[first - 1] : null;
    }

    private static (IReadOnlyList<string> Stages, int First, int Last) Span(MigrationPath path, Serve serve)
    {
        ArgumentNullException.ThrowIfNull(serve);
        var stages = MigrationPaths.Of(path);
        var at = MigrationPaths.StagesOf(serve).Select(s => Math.Max(0, IndexOf(stages, s))).DefaultIfEmpty(0).ToList();
        return (stages, at.Min(), at.Max());
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
