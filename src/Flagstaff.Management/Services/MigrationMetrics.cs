using System.Globalization;
using Flagstaff.Domain;
using Flagstaff.Evaluation;
using Flagstaff.Storage;

namespace Flagstaff.Management.Services;

/// <summary>
/// Latency histograms as SDKs send them (<see cref="LatencyBuckets"/>): they add up across SDK instances
/// and nodes; a percentile is read as its bucket's upper bound, exact to 25 %.
/// </summary>
public static class LatencyHistogram
{
    /// <summary>The upper bound of the bucket holding the <paramref name="quantile"/> of the calls; null when there are none.</summary>
    public static double? Percentile(ReadOnlySpan<long> counts, double quantile)
    {
        long total = 0;
        foreach (long count in counts)
        {
            total += count;
        }

        if (total == 0)
        {
            return null;
        }

        long rank = Math.Max(1, (long)Math.Ceiling(quantile * total));
        long cumulative = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            cumulative += counts[i];
            if (cumulative >= rank)
            {
                return LatencyBuckets.UpperBound(i);
            }
        }

        return LatencyBuckets.UpperBound(counts.Length - 1);
    }
}

/// <summary>Measurements summed over some windows: counts per side, comparisons, failed writes and latency histograms.</summary>
public sealed class MigrationTotals
{
    public long OldInvoked { get; private set; }

    public long OldErrors { get; private set; }

    public long NewInvoked { get; private set; }

    public long NewErrors { get; private set; }

    public long Compared { get; private set; }

    public long Inconsistent { get; private set; }

    public long FailedWrites { get; private set; }

    public long[] OldLatency { get; } = new long[LatencyBuckets.Count];

    public long[] NewLatency { get; } = new long[LatencyBuckets.Count];

    public void Add(MigrationWindow window)
    {
        ArgumentNullException.ThrowIfNull(window);
        OldInvoked += window.OldInvoked;
        OldErrors += window.OldErrors;
        NewInvoked += window.NewInvoked;
        NewErrors += window.NewErrors;
        Compared += window.Compared;
        Inconsistent += window.Inconsistent;
        FailedWrites += window.FailedWrites;
    }

    public void Add(MigrationLatency latency)
    {
        ArgumentNullException.ThrowIfNull(latency);
        if (latency.Bucket is >= 0 and < LatencyBuckets.Count)
        {
            (latency.Side == "new" ? NewLatency : OldLatency)[latency.Bucket] += latency.Count;
        }
    }

    public SideMetrics Old => Side(OldInvoked, OldErrors, OldLatency);

    public SideMetrics New => Side(NewInvoked, NewErrors, NewLatency);

    /// <summary>The share of compared reads whose results agreed; null when none were compared.</summary>
    public double? Consistency => Compared == 0 ? null : 1 - ((double)Inconsistent / Compared);

    private static SideMetrics Side(long invoked, long errors, long[] latency) =>
        new(invoked, errors, invoked == 0 ? null : (double)errors / invoked, LatencyHistogram.Percentile(latency, 0.5), LatencyHistogram.Percentile(latency, 0.99));
}

/// <summary>
/// The guards of a migration flag (docs/adr/0004-migrations.md) judged over a window's totals: each
/// guard is off, waiting for enough samples, fine, or tripped, with the figures that say why.
/// </summary>
public static class MigrationGuards
{
    public const string ErrorRate = "maxNewErrorRate";
    public const string Consistency = "minConsistency";
    public const string LatencyRatio = "maxLatencyRatio";

    public static IReadOnlyList<GuardState> Judge(MigrationSettings settings, MigrationTotals totals, int seconds)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(totals);
        int min = settings.MinSamples;
        var states = new List<GuardState>(3);

        if (settings.MaxNewErrorRate is not { } maxRate)
        {
            states.Add(new GuardState(ErrorRate, null, null, totals.NewInvoked, min, GuardStatus.Off, null));
        }
        else
        {
            double? rate = totals.New.ErrorRate;
            bool judging = totals.NewInvoked >= min;
            bool tripped = judging && rate > maxRate;
            states.Add(new GuardState(ErrorRate, maxRate, rate, totals.NewInvoked, min, Status(judging, tripped),
                tripped ? Invariant($"new error rate {Percent(rate!.Value)} % over {seconds} s ({totals.NewErrors:N0} of {totals.NewInvoked:N0} calls) above {Percent(maxRate)} %") : null));
        }

        if (settings.MinConsistency is not { } minConsistency)
        {
            states.Add(new GuardState(Consistency, null, null, totals.Compared, min, GuardStatus.Off, null));
        }
        else
        {
            double? consistency = totals.Consistency;
            bool judging = totals.Compared >= min;
            bool tripped = judging && consistency < minConsistency;
            states.Add(new GuardState(Consistency, minConsistency, consistency, totals.Compared, min, Status(judging, tripped),
                tripped ? Invariant($"consistency {Percent(consistency!.Value)} % over {seconds} s ({totals.Inconsistent:N0} of {totals.Compared:N0} compared reads differed) below {Percent(minConsistency)} %") : null));
        }

        if (settings.MaxLatencyRatio is not { } maxRatio)
        {
            states.Add(new GuardState(LatencyRatio, null, null, Math.Min(totals.OldInvoked, totals.NewInvoked), min, GuardStatus.Off, null));
        }
        else
        {
            var (oldP99, newP99) = (totals.Old.P99, totals.New.P99);
            double? ratio = oldP99 is { } o && newP99 is { } n ? n / o : null;
            long samples = Math.Min(totals.OldInvoked, totals.NewInvoked);
            bool judging = samples >= min && ratio is not null;
            bool tripped = judging && ratio > maxRatio;
            states.Add(new GuardState(LatencyRatio, maxRatio, ratio, samples, min, Status(judging, tripped),
                tripped ? Invariant($"new p99 {Duration(newP99!.Value)} is {ratio:0.#} times old p99 {Duration(oldP99!.Value)} over {seconds} s ({totals.NewInvoked:N0} and {totals.OldInvoked:N0} calls) above {maxRatio:0.##} times") : null));
        }

        return states;
    }

    /// <summary>Which guard a rollback's comment names (comments start with the guard's figures).</summary>
    public static string? GuardOf(string? comment) =>
        comment is null ? null
        : comment.StartsWith("new error rate", StringComparison.Ordinal) ? ErrorRate
        : comment.StartsWith("consistency", StringComparison.Ordinal) ? Consistency
        : comment.StartsWith("new p99", StringComparison.Ordinal) ? LatencyRatio
        : null;

    private static GuardStatus Status(bool judging, bool tripped) => !judging ? GuardStatus.Waiting : tripped ? GuardStatus.Tripped : GuardStatus.Ok;

    private static string Percent(double share) => (share * 100).ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>A duration in microseconds, in words.</summary>
    public static string Duration(double microseconds) =>
        microseconds < 1_000 ? Invariant($"{microseconds:0.#} µs")
        : microseconds < 1_000_000 ? Invariant($"{microseconds / 1_000:0.#} ms")
        : Invariant($"{microseconds / 1_000_000:0.##} s");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
