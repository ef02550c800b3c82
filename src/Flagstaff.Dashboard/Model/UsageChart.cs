using System.Globalization;
using Flagstaff.Domain;
using Flagstaff.Management.Services;

namespace Flagstaff.Dashboard.Model;

/// <summary>A period the usage tab offers.</summary>
/// <param name="Key">Its value in the page.</param>
/// <param name="Label">As a person says it.</param>
/// <param name="Length">How far back from now.</param>
public sealed record UsagePeriod(string Key, string Label, TimeSpan Length)
{
    /// <summary>The periods offered: the last hour (in minutes), day (in quarter hours) and week (in hours).</summary>
    public static IReadOnlyList<UsagePeriod> All { get; } =
    [
        new("hour", "Last hour", TimeSpan.FromHours(1)),
        new("day", "Last day", TimeSpan.FromDays(1)),
        new("week", "Last week", TimeSpan.FromDays(7)),
    ];
}

/// <summary>One value in the chart: its words, its colour class, its total and share.</summary>
/// <param name="Label">The variation and its value, or the value alone when no variation serves it.</param>
/// <param name="Note">Why a value has no variation, or null.</param>
/// <param name="ColorClass">The CSS class of its colour (the variation's colour elsewhere in the dashboard).</param>
/// <param name="Total">Evaluations in the period.</param>
/// <param name="Share">Its share of all evaluations, 0 to 1.</param>
public sealed record UsageSeries(string Label, string? Note, string ColorClass, long Total, double Share);

/// <summary>One piece of a stacked bar, in chart units (x in buckets, y in percent of the scale).</summary>
/// <param name="X">The bucket's index.</param>
/// <param name="Y">The top, from the top of the chart.</param>
/// <param name="Height">Its height.</param>
/// <param name="Series">The series (value) it counts.</param>
/// <param name="Title">What hovering shows.</param>
public sealed record UsageBar(int X, double Y, double Height, int Series, string Title);

/// <summary>A label on an axis, at a position in percent.</summary>
/// <param name="At">Where, 0 to 100 (from the left, or from the bottom).</param>
/// <param name="Text">The label.</param>
public sealed record UsageTick(double At, string Text);

/// <summary>
/// A flag's usage drawn as stacked bars, one per bucket and one colour per value, computed here so the
/// page only writes SVG rectangles: the scale rounded up to a readable number, and time labels on
/// round hours or days (UTC).
/// </summary>
public sealed class UsageChart
{
    // Steps between time labels, in minutes: the first that gives at most MaxTimeTicks labels.
    private static readonly int[] TimeSteps = [5, 10, 15, 30, 60, 120, 180, 240, 360, 720, 1440, 2880, 10080];
    private const int MaxTimeTicks = 8;

    private UsageChart(FlagUsage usage, IReadOnlyList<UsageSeries> series, IReadOnlyList<UsageBar> bars, long scale, IReadOnlyList<UsageTick> times)
    {
        Usage = usage;
        Series = series;
        Bars = bars;
        Scale = scale;
        Times = times;
    }

    /// <summary>The usage drawn.</summary>
    public FlagUsage Usage { get; }

    /// <summary>One series per value, in the order of <see cref="FlagUsage.Values"/> (largest first).</summary>
    public IReadOnlyList<UsageSeries> Series { get; }

    /// <summary>The pieces of the bars; empty buckets have none.</summary>
    public IReadOnlyList<UsageBar> Bars { get; }

    /// <summary>The number the top of the chart stands for.</summary>
    public long Scale { get; }

    /// <summary>The time labels under the chart.</summary>
    public IReadOnlyList<UsageTick> Times { get; }

    /// <summary>The count labels beside the chart: 0, half the scale, the scale.</summary>
    public IReadOnlyList<UsageTick> Counts =>
        [new(0, "0"), new(50, Number(Scale / 2.0)), new(100, Number(Scale))];

    /// <summary>Draws a flag's usage.</summary>
    public static UsageChart Build(FlagUsage usage, Flag flag)
    {
        ArgumentNullException.ThrowIfNull(usage);
        ArgumentNullException.ThrowIfNull(flag);
        var series = new List<UsageSeries>(usage.Values.Count);
        int others = 0;
        foreach (var value in usage.Values)
        {
            int variation = value.Variation is null ? -1 : IndexOf(flag, value.Variation);
            var label = variation >= 0 ? $"{value.Variation} = {value.Value}" : value.Value;
            var note = variation >= 0 ? null : "no variation serves this value: likely the default in the code";
            var color = variation >= 0 ? $"fill-{variation % 6}" : $"fill-other-{others++ % 3}";
            series.Add(new UsageSeries(label, note, color, value.Total, usage.Total == 0 ? 0 : (double)value.Total / usage.Total));
        }

        long highest = usage.Buckets.Count == 0 ? 0 : usage.Buckets.Max(b => b.Total);
        long scale = NiceCeiling(highest);
        var bars = new List<UsageBar>();
        for (int i = 0; i < usage.Buckets.Count; i++)
        {
            var bucket = usage.Buckets[i];
            double bottom = 100;
            for (int s = 0; s < bucket.Counts.Count; s++)
            {
                long count = bucket.Counts[s];
                if (count == 0)
                {
                    continue;
                }

                double height = 100.0 * count / scale;
                bottom -= height;
                bars.Add(new UsageBar(i, bottom, height, s, $"{BucketLabel(usage, bucket)} · {series[s].Label}: {Number(count)}"));
            }
        }

        return new UsageChart(usage, series, bars, scale, TimeTicks(usage));
    }

    /// <summary>A bucket's time span in words: "24 Nov 12:15–12:30 UTC".</summary>
    public static string BucketLabel(FlagUsage usage, UsageBucket bucket)
    {
        ArgumentNullException.ThrowIfNull(usage);
        ArgumentNullException.ThrowIfNull(bucket);
        var start = bucket.Start.UtcDateTime;
        var end = start.AddMinutes(usage.BucketMinutes);
        return usage.BucketMinutes >= 1440
            ? start.ToString("ddd d MMM", CultureInfo.InvariantCulture)
            : start.ToString("d MMM HH:mm", CultureInfo.InvariantCulture) + "–" + end.ToString("HH:mm", CultureInfo.InvariantCulture) + " UTC";
    }

    /// <summary>A count with thousands separators.</summary>
    public static string Number(double value) => value.ToString("#,0.##", CultureInfo.InvariantCulture);

    private static int IndexOf(Flag flag, string variation)
    {
        for (int i = 0; i < flag.Variations.Count; i++)
        {
            if (flag.Variations[i].Key == variation)
            {
                return i;
            }
        }

        return -1;
    }

    // 1, 2, 5 times a power of ten, at least the highest bar (and at least 1, so an empty chart has a scale).
    private static long NiceCeiling(long value)
    {
        long power = 1;
        while (true)
        {
            foreach (long step in (ReadOnlySpan<long>)[1, 2, 5])
            {
                if (step * power >= value)
                {
                    return step * power;
                }
            }

            power *= 10;
        }
    }

    private static List<UsageTick> TimeTicks(FlagUsage usage)
    {
        var ticks = new List<UsageTick>();
        var span = (usage.To - usage.From).TotalMinutes;
        if (span <= 0)
        {
            return ticks;
        }

        int step = Array.Find(TimeSteps, s => s >= usage.BucketMinutes && span / s <= MaxTimeTicks);
        step = step == 0 ? TimeSteps[^1] : step;
        long first = (long)Math.Ceiling(usage.From.ToUnixTimeSeconds() / 60.0 / step) * step;
        for (long minute = first; minute < usage.To.ToUnixTimeSeconds() / 60; minute += step)
        {
            var at = DateTimeOffset.FromUnixTimeSeconds(minute * 60).UtcDateTime;
            var text = step >= 1440 ? at.ToString("ddd d MMM", CultureInfo.InvariantCulture)
                : at.Hour == 0 && at.Minute == 0 ? at.ToString("d MMM", CultureInfo.InvariantCulture)
                : at.ToString("HH:mm", CultureInfo.InvariantCulture);
            ticks.Add(new UsageTick(100.0 * (minute - (usage.From.ToUnixTimeSeconds() / 60)) / span, text));
        }

        return ticks;
    }
}
