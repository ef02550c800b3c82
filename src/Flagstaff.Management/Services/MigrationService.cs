using System.Globalization;
using Flagstaff.Domain;
using Flagstaff.Evaluation;
using Flagstaff.Management.Telemetry;
using Flagstaff.Storage;

namespace Flagstaff.Management.Services;

/// <summary>
/// Migration flags (docs/adr/0004-migrations.md): their status and measurements in an environment, the
/// emergency actions, and the guards' rollback. Every change goes through the flag service's
/// targeting change: versioned, audited, streamed to SDKs.
/// </summary>
public sealed class MigrationService(Store store, FlagService flags, TimeProvider clock, FlagstaffMetrics metrics)
{
    /// <summary>Measurements are summed in windows of this many seconds.</summary>
    public const int WindowSeconds = 10;

    /// <summary>How long measurements are kept.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(7);

    /// <summary>The time series covers this much.</summary>
    public const int SeriesSeconds = 15 * 60;

    /// <summary>The actor of the guards' rollbacks.</summary>
    public const string GuardActor = "guard";

    public const string ReadsToOld = "reads-to-old";
    public const string StopNewWrites = "stop-new-writes";

    private static readonly HashSet<string> NewAuthoritative = [MigrationStageNames.Live, MigrationStageNames.Rampdown];

    /// <summary>The start of the 10-second window an instant falls in, in Unix seconds.</summary>
    public static long WindowOf(DateTimeOffset at) => at.ToUnixTimeSeconds() / WindowSeconds * WindowSeconds;

    /// <summary>A migration flag's status in one environment, with the measurements of the last <paramref name="windowSeconds"/> (default: the guards' window).</summary>
    public Task<MigrationStatus> GetStatusAsync(string projectKey, string flagKey, string? environmentKey, int? windowSeconds, CancellationToken cancellationToken = default)
    {
        var errors = new ValidationErrors();
        if (string.IsNullOrEmpty(environmentKey))
        {
            errors.Add("environment", "is required: migrations are measured per environment");
        }

        if (windowSeconds is { } w && (w is < 10 or > 3600 || w % WindowSeconds != 0))
        {
            errors.Add("window", "must be a multiple of 10 seconds from 10 to 3600");
        }

        errors.ThrowIfAny();
        return store.ReadAsync(async s =>
        {
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var flag = await s.FlagAsync(project, flagKey).ConfigureAwait(false);
            var settings = Settings(flag);
            var environment = await s.EnvironmentAsync(project, environmentKey!).ConfigureAwait(false);
            var targeting = await s.GetTargetingAsync(flag.Id, environment.Id).ConfigureAwait(false) ?? throw new NotFoundException("No targeting.");
            var lastTrip = await s.LastSystemChangeAsync(flag.Id, environment.Id, GuardActor).ConfigureAwait(false);
            var now = clock.GetUtcNow();
            int window = windowSeconds ?? settings.WindowSeconds;
            long end = WindowOf(now) + WindowSeconds;
            long from = end - Math.Max(window, SeriesSeconds);
            var windows = await s.ListMigrationWindowsAsync(environment.Id, flag.Key, from, end).ConfigureAwait(false);
            var latency = await s.ListMigrationLatencyAsync(environment.Id, flag.Key, from, end).ConfigureAwait(false);

            long windowFrom = end - window;
            var totals = Sum(windows, latency, windowFrom);
            var traffic = windows.Where(x => x.WindowStart >= windowFrom)
                .GroupBy(x => x.Stage, StringComparer.Ordinal)
                .Select(g => (Stage: g.Key, Operations: g.Sum(x => Math.Max(x.OldInvoked, x.NewInvoked))))
                .ToList();
            long operations = traffic.Sum(t => t.Operations);
            var stages = MigrationPaths.Of(settings.Path!.Value);

            var guards = MigrationGuards.Judge(settings, totals, window);
            if (CoolingDown(lastTrip, settings, now))
            {
                guards = [.. guards.Select(g => g.Status == GuardStatus.Off ? g : g with { Status = GuardStatus.CoolingDown, Figures = null })];
            }

            return new MigrationStatus
            {
                Flag = flag.Key,
                Environment = environment.Key,
                Path = settings.Path!.Value,
                Stages = stages,
                SafeStage = MigrationPaths.SafeStage(settings.Path!.Value),
                Enabled = targeting.Enabled,
                TargetingVersion = targeting.Version,
                Cohorts = Cohorts(targeting),
                WindowSeconds = window,
                From = DateTimeOffset.FromUnixTimeSeconds(windowFrom),
                To = DateTimeOffset.FromUnixTimeSeconds(end),
                Traffic = [.. traffic.OrderBy(t => IndexOf(stages, t.Stage)).Select(t => new StageTraffic(t.Stage, t.Operations, operations == 0 ? 0 : (double)t.Operations / operations))],
                Old = totals.Old,
                New = totals.New,
                Compared = totals.Compared,
                Inconsistent = totals.Inconsistent,
                Consistency = totals.Consistency,
                FailedWrites = totals.FailedWrites,
                Guards = guards,
                LastTrip = lastTrip is null ? null : new GuardTrip(lastTrip.At, MigrationGuards.GuardOf(lastTrip.Comment), lastTrip.Comment, lastTrip.Revision),
                Series = Series(windows, latency, end),
            };
        }, cancellationToken);
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

        return stages.Count;
    }

    private static MigrationTotals Sum(IEnumerable<MigrationWindow> windows, IEnumerable<MigrationLatency> latency, long from)
    {
        var totals = new MigrationTotals();
        foreach (var window in windows)
        {
            if (window.WindowStart >= from)
            {
                totals.Add(window);
            }
        }

        foreach (var bucket in latency)
        {
            if (bucket.WindowStart >= from)
            {
                totals.Add(bucket);
            }
        }

        return totals;
    }

    private static List<MigrationPoint> Series(IReadOnlyList<MigrationWindow> windows, IReadOnlyList<MigrationLatency> latency, long end)
    {
        long first = end - SeriesSeconds;
        var byWindow = windows.Where(w => w.WindowStart >= first).ToLookup(w => w.WindowStart);
        var latencyByWindow = latency.Where(l => l.WindowStart >= first).ToLookup(l => l.WindowStart);
        var points = new List<MigrationPoint>(SeriesSeconds / WindowSeconds);
        for (long start = first; start < end; start += WindowSeconds)
        {
            var totals = new MigrationTotals();
            foreach (var w in byWindow[start])
            {
                totals.Add(w);
            }

            foreach (var l in latencyByWindow[start])
            {
                totals.Add(l);
            }

            points.Add(new MigrationPoint(DateTimeOffset.FromUnixTimeSeconds(start), totals.OldInvoked, totals.NewInvoked, totals.OldErrors, totals.NewErrors,
                totals.Old.P99, totals.New.P99, totals.Compared, totals.Inconsistent, totals.FailedWrites));
        }

        return points;
    }

    private static List<MigrationCohort> Cohorts(Targeting targeting)
    {
        var cohorts = new List<MigrationCohort>();
        for (int i = 0; i < targeting.Rules.Count; i++)
        {
            var rule = targeting.Rules[i];
            cohorts.Add(new MigrationCohort(rule.Id, rule.Name ?? string.Create(CultureInfo.InvariantCulture, $"Rule {i + 1}"), StagesOf(rule.Serve)));
        }

        cohorts.Add(new MigrationCohort(null, "Everyone else", StagesOf(targeting.DefaultServe)));
        return cohorts;
    }

    private static List<StageWeight> StagesOf(Serve serve) =>
        serve.Variation is { } v ? [new StageWeight(v, 100)] : [.. (serve.Split?.Buckets ?? []).Select(b => new StageWeight(b.Variation, b.Weight))];

    private static MigrationSettings Settings(Flag flag) =>
        flag.Kind == FlagKind.Migration && flag.Migration is { Path: not null } settings
            ? settings
            : throw new DomainValidationException("flag", $"\"{flag.Key}\" is not a migration flag");

    private static bool CoolingDown(AuditEntry? lastTrip, MigrationSettings settings, DateTimeOffset now) =>
        lastTrip is not null && now - lastTrip.At < TimeSpan.FromSeconds(settings.WindowSeconds);

    /// <summary>
    /// An emergency action: <c>reads-to-old</c> moves every cohort at live or rampdown to the safe
    /// stage (what a guard does); <c>stop-new-writes</c> moves every cohort not at complete to off.
    /// Cohorts at complete are never moved: the old side no longer has their data.
    /// </summary>
    public async Task<TargetingView> ActAsync(string projectKey, string flagKey, MigrationActionRequest request, Actor actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var errors = new ValidationErrors();
        if (string.IsNullOrEmpty(request.Environment))
        {
            errors.Add("environment", "is required");
        }

        if (request.Action is not (ReadsToOld or StopNewWrites))
        {
            errors.Add("action", $"must be {ReadsToOld} or {StopNewWrites}");
        }

        errors.ThrowIfAny();
        var flag = await store.ReadAsync(async s => await s.FlagAsync(await s.ProjectAsync(projectKey).ConfigureAwait(false), flagKey).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        var path = Settings(flag).Path!.Value;
        if (request.Action == ReadsToOld)
        {
            var safe = MigrationPaths.SafeStage(path)
                ?? throw new DomainValidationException("action", "the direct path has no stage that writes to both sides: use stop-new-writes to send cohorts back to off");
            return await flags.ChangeTargetingAsync(projectKey, flagKey, request.Environment, null, actor, ReadsToOld,
                $"Emergency: reads back to old (cohorts at live and rampdown moved to {safe})",
                t => MigrationPaths.Move(t, NewAuthoritative, safe), cancellationToken).ConfigureAwait(false);
        }

        var notOff = MigrationPaths.Of(path).Where(s => s is not (MigrationStageNames.Off or MigrationStageNames.Complete)).ToHashSet(StringComparer.Ordinal);
        return await flags.ChangeTargetingAsync(projectKey, flagKey, request.Environment, null, actor, StopNewWrites,
            "Emergency: writes to new stopped (cohorts moved to off; cohorts at complete stay)",
            t => MigrationPaths.Move(t, notOff, MigrationStageNames.Off), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// One pass of the guards over every environment and migration flag with recent measurements:
    /// where a guard trips, cohorts at live and rampdown go to the safe stage in one change, made only
    /// if the targeting is still at the version judged (so two nodes never apply it twice). Returns the
    /// rollbacks this node made.
    /// </summary>
    public async Task<IReadOnlyList<GuardRollback>> GuardAsync(CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        long end = WindowOf(now) + WindowSeconds;
        var candidates = await store.ReadAsync(s => s.ListMeasuredMigrationsAsync(end - 3600), cancellationToken).ConfigureAwait(false);
        var rollbacks = new List<GuardRollback>();
        foreach (var (environmentId, flagKey) in candidates)
        {
            var judged = await JudgeAsync(environmentId, flagKey, now, end, cancellationToken).ConfigureAwait(false);
            if (judged is not { } j)
            {
                continue;
            }

            try
            {
                var view = await flags.ChangeTargetingAsync(j.Project, j.Flag, j.Environment, j.Version, Actor.System(GuardActor), "guard-rollback",
                    $"{j.Figures}: cohorts at live and rampdown moved to {j.Safe}",
                    t => MigrationPaths.Move(t, NewAuthoritative, j.Safe), cancellationToken).ConfigureAwait(false);
                if (view.Version != j.Version)
                {
                    metrics.GuardRolledBack(j.Guard);
                    rollbacks.Add(new GuardRollback(j.Project, j.Environment, j.Flag, j.Guard, j.Figures));
                }
            }
            catch (Exception e) when (e is ConflictException or ConcurrencyConflictException or NotFoundException)
            {
                // Another node (or a member) changed the targeting first: judged again on the next pass.
            }
        }

        return rollbacks;
    }

    private Task<Judged?> JudgeAsync(string environmentId, string flagKey, DateTimeOffset now, long end, CancellationToken cancellationToken) =>
        store.ReadAsync(async s =>
        {
            var environment = await s.GetEnvironmentByIdAsync(environmentId).ConfigureAwait(false);
            var project = environment is null ? null : await s.GetProjectByIdAsync(environment.ProjectId).ConfigureAwait(false);
            var flag = project is null ? null : await s.GetFlagAsync(project.Id, flagKey).ConfigureAwait(false);
            if (flag is not { Kind: FlagKind.Migration, ArchivedAt: null, Migration: { Path: { } path } settings } || MigrationPaths.SafeStage(path) is not { } safe)
            {
                return null;
            }

            var targeting = await s.GetTargetingAsync(flag.Id, environmentId).ConfigureAwait(false);
            if (targeting is not { Enabled: true } || !targeting.Rules.Select(r => r.Serve).Append(targeting.DefaultServe).SelectMany(MigrationPaths.StagesOf).Any(NewAuthoritative.Contains))
            {
                return null;
            }

            // After a rollback, guards wait one window, and never judge measurements from before it again.
            long from = end - settings.WindowSeconds;
            var lastTrip = await s.LastSystemChangeAsync(flag.Id, environmentId, GuardActor).ConfigureAwait(false);
            if (lastTrip is not null)
            {
                if (CoolingDown(lastTrip, settings, now))
                {
                    return null;
                }

                from = Math.Max(from, (lastTrip.At.ToUnixTimeSeconds() + WindowSeconds - 1) / WindowSeconds * WindowSeconds);
            }

            var totals = Sum(
                await s.ListMigrationWindowsAsync(environmentId, flag.Key, from, end).ConfigureAwait(false),
                await s.ListMigrationLatencyAsync(environmentId, flag.Key, from, end).ConfigureAwait(false),
                from);
            metrics.GuardEvaluated();
            var tripped = MigrationGuards.Judge(settings, totals, settings.WindowSeconds).FirstOrDefault(g => g.Status == GuardStatus.Tripped);
            return tripped is null ? null : new Judged(project!.Key, environment!.Key, flag.Key, targeting.Version, safe, tripped.Guard, tripped.Figures!);
        }, cancellationToken);

    private sealed record Judged(string Project, string Environment, string Flag, long Version, string Safe, string Guard, string Figures);
}

/// <summary>A rollback made by a guard.</summary>
public sealed record GuardRollback(string Project, string Environment, string Flag, string Guard, string Figures);
