using System.Globalization;
using Flagstaff.Domain;
using Flagstaff.Management.Services;

namespace Flagstaff.Dashboard.Model;

/// <summary>
/// When a flag is stale (time to remove it from the code, then archive it), and why, from what SDKs
/// report evaluating, from the code scans uploaded by <c>flagstaff refs --upload</c>, and from its targeting. The flags list shows <see cref="Definition"/> word for word.
/// </summary>
public static class Staleness
{
    /// <summary>Days without an evaluation after which any flag is stale (once the project's SDKs report usage).</summary>
    public const int UnusedDays = 7;

    /// <summary>Days a temporary flag may serve everyone the same, unchanged, before it is stale.</summary>
    public const int SettledDays = 30;

    /// <summary>What "stale" means, as the flags list says it.</summary>
    public static string Definition { get; } =
        $"Stale: not evaluated by any application, in any environment, for {UnusedDays} days (judged once this project's SDKs report usage; "
        + $"new flags get {UnusedDays} days), or a temporary flag (release, experiment, migration) that has served everyone the same in every "
        + $"environment, unchanged, for {SettledDays} days, or a flag that no repository's last code scan names any more (flagstaff refs --upload; "
        + $"judged once a scan is {UnusedDays} days newer than the flag). Remove it from the code, then archive it.";

    /// <summary>
    /// Why a flag is stale, in a few words, or null when it is not. <paramref name="lastEvaluated"/> is
    /// null when usage is unknown; when no flag of the project was ever evaluated, usage is not judged.
    /// <paramref name="scans"/> are the last code scan of each of the project's repositories (none: references are not judged).
    /// </summary>
    public static string? Reason(FlagDetails flag, LastEvaluated? lastEvaluated, DateTimeOffset now, IReadOnlyList<CodeReferenceScan>? scans = null)
    {
        ArgumentNullException.ThrowIfNull(flag);
        if (flag.Flag.ArchivedAt is not null)
        {
            return null;
        }

        if (lastEvaluated is not null && lastEvaluated.Environments.Values.Any(e => e.Count > 0) && now - flag.Flag.CreatedAt >= TimeSpan.FromDays(UnusedDays))
        {
            DateTimeOffset? latest = null;
            foreach (var environment in lastEvaluated.Environments.Values)
            {
                if (environment.TryGetValue(flag.Flag.Key, out var at) && (latest is null || at > latest))
                {
                    latest = at;
                }
            }

            if (latest is null)
            {
                return $"not evaluated in {(int)UsageService.Retention.TotalDays} days";
            }

            if (now - latest.Value >= TimeSpan.FromDays(UnusedDays))
            {
                return $"not evaluated for {(int)(now - latest.Value).TotalDays} days";
            }
        }

        if (NoReferencesLeft(flag.Flag, scans) is { } unreferenced)
        {
            return unreferenced;
        }

        if (Labels.IsTemporary(flag.Flag.Kind) && flag.Environments.All(ServesEveryoneTheSame))
        {
            var changed = flag.Environments.Select(t => t.UpdatedAt).Append(flag.Flag.UpdatedAt).Max();
            if (now - changed >= TimeSpan.FromDays(SettledDays))
            {
                return $"{(flag.Environments.Any(t => t.Enabled) ? "serves everyone the same" : "off everywhere")}, unchanged for {(int)(now - changed).TotalDays} days";
            }
        }

        return null;
    }

    // A flag is given UnusedDays to reach the code: a scan made sooner after its creation does not judge it.
    private static string? NoReferencesLeft(Flag flag, IReadOnlyList<CodeReferenceScan>? scans)
    {
        if (scans is not { Count: > 0 })
        {
            return null;
        }

        var latest = scans.MaxBy(s => s.ScannedAt)!;
        if (latest.ScannedAt - flag.CreatedAt < TimeSpan.FromDays(UnusedDays) || scans.Any(s => s.Flags.Any(f => f.Key == flag.Key && f.Total > 0)))
        {
            return null;
        }

        return scans.Count == 1
            ? $"no references left in {latest.Repository} (scanned {latest.ScannedAt.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)})"
            : string.Create(CultureInfo.InvariantCulture, $"no references left in {scans.Count} repositories (last scanned {latest.ScannedAt:yyyy-MM-dd})");
    }

    // Off, or on without rules and serving one variation (a split with one variation at 100% is one).
    private static bool ServesEveryoneTheSame(TargetingView targeting) =>
        !targeting.Enabled
        || (targeting.Rules.Count == 0
            && (targeting.DefaultServe.Split is not { } split || split.Buckets.Count(b => b.Weight > 0) <= 1));
}
