using Flagstaff.Management.Services;

namespace Flagstaff.Dashboard.Model;

/// <summary>
/// When a flag is stale (time to remove it from the code, then archive it), and why, from what SDKs
/// report evaluating and from its targeting. The flags list shows <see cref="Definition"/> word for word.
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
        + $"environment, unchanged, for {SettledDays} days. Remove it from the code, then archive it.";

    /// <summary>
    /// Why a flag is stale, in a few words, or null when it is not. <paramref name="lastEvaluated"/> is
    /// null when usage is unknown; when no flag of the project was ever evaluated, usage is not judged.
    /// </summary>
    public static string? Reason(FlagDetails flag, LastEvaluated? lastEvaluated, DateTimeOffset now)
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

    // Off, or on without rules and serving one variation (a split with one variation at 100% is one).
    private static bool ServesEveryoneTheSame(TargetingView targeting) =>
        !targeting.Enabled
        || (targeting.Rules.Count == 0
            && (targeting.DefaultServe.Split is not { } split || split.Buckets.Count(b => b.Weight > 0) <= 1));
}
