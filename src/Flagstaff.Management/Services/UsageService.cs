using System.Globalization;
using System.Text.Json;
using Flagstaff.Domain;
using Flagstaff.Storage;

namespace Flagstaff.Management.Services;

/// <summary>
/// Reads the usage SDKs report (<c>POST /report</c>, summed per minute by the evaluation side): a
/// flag's evaluations per value over a period in buckets, and when each flag was last evaluated.
/// </summary>
public sealed class UsageService(Store store, TimeProvider clock)
{
    /// <summary>At most this many buckets in one answer.</summary>
    public const int MaxBuckets = 1_000;

    /// <summary>How long usage is kept: older minutes are pruned by the recorder.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(30);

    /// <summary>The default period: the last day.</summary>
    public static readonly TimeSpan DefaultPeriod = TimeSpan.FromDays(1);

    // Bucket sizes chosen when the caller names none: the smallest that gives at most TargetBuckets
    // (an hour in minutes, a day in quarter hours, a week in hours, a month in 6 hours).
    private static readonly int[] BucketSizes = [1, 5, 15, 60, 180, 360, 720, 1440];
    private const int TargetBuckets = 180;

    /// <summary>
    /// A flag's evaluations in one environment per value, from <paramref name="from"/> (default a day
    /// before <paramref name="to"/>) to <paramref name="to"/> (default now), in buckets of
    /// <paramref name="bucketMinutes"/> (default chosen from the period). The period is widened to
    /// whole buckets, aligned in UTC; every bucket is listed, empty ones included.
    /// </summary>
    public Task<FlagUsage> GetAsync(
        string projectKey, string flagKey, string? environmentKey, DateTimeOffset? from, DateTimeOffset? to, int? bucketMinutes,
        CancellationToken cancellationToken = default)
    {
        var errors = new ValidationErrors();
        if (string.IsNullOrEmpty(environmentKey))
        {
            errors.Add("environment", "is required: usage is counted per environment");
        }

        var end = to ?? clock.GetUtcNow();
        var start = from ?? end - DefaultPeriod;
        if (start >= end)
        {
            errors.Add("from", "must be before to");
        }

        if (bucketMinutes is < 1 or > 1440)
        {
            errors.Add("bucket", "must be between 1 and 1440 minutes");
        }

        errors.ThrowIfAny();
        long startSeconds = start.ToUnixTimeSeconds(), endSeconds = end.ToUnixTimeSeconds() + (end.UtcTicks % TimeSpan.TicksPerSecond > 0 ? 1 : 0);
        double periodMinutes = (endSeconds - startSeconds) / 60.0;
        int size = bucketMinutes ?? Array.Find(BucketSizes, s => periodMinutes / s <= TargetBuckets) switch { 0 => BucketSizes[^1], var s => s };
        long fromMinute = FloorDiv(startSeconds, 60L * size) * size;
        long toMinute = CeilDiv(endSeconds, 60L * size) * size;
        long count = (toMinute - fromMinute) / size;
        if (count > MaxBuckets)
        {
            errors.Add(bucketMinutes is null ? "from" : "bucket", string.Create(CultureInfo.InvariantCulture, $"gives {count:N0} buckets of {size} minute{(size == 1 ? "" : "s")}: at most {MaxBuckets:N0} fit in one answer"));
            errors.ThrowIfAny();
        }

        return store.ReadAsync(async s =>
        {
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var flag = await s.FlagAsync(project, flagKey).ConfigureAwait(false);
            var environment = await s.EnvironmentAsync(project, environmentKey!).ConfigureAwait(false);
            var rows = await s.ListUsageAsync(environment.Id, flag.Key, fromMinute, toMinute).ConfigureAwait(false);
            var last = await s.LastEvaluatedAsync(environment.Id, flag.Key).ConfigureAwait(false) is { } lastMinute ? Minute(lastMinute) : (DateTimeOffset?)null;
            return Build(flag, environment.Key, fromMinute, size, (int)count, rows, last);
        }, cancellationToken);
    }

    /// <summary>When each flag of a project was last evaluated, by environment key then flag key (flags never evaluated in <see cref="Retention"/> are absent).</summary>
    public Task<LastEvaluated> LastEvaluatedAsync(string projectKey, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async s =>
        {
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var environments = new Dictionary<string, IReadOnlyDictionary<string, DateTimeOffset>>(StringComparer.Ordinal);
            foreach (var environment in await s.ListEnvironmentsAsync(project.Id).ConfigureAwait(false))
            {
                environments[environment.Key] = (await s.LastEvaluatedAsync(environment.Id).ConfigureAwait(false))
                    .ToDictionary(p => p.Key, p => Minute(p.Value), StringComparer.Ordinal);
            }

            return new LastEvaluated(environments);
        }, cancellationToken);

    /// <summary>What usage reports to a project carried past a limit and was dropped, per reason (since the project was created).</summary>
    public Task<IReadOnlyList<ReportDropCount>> DroppedAsync(string projectKey, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<ReportDropCount>>(async s =>
        {
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            return [.. (await s.ListReportDropsAsync(project.Id).ConfigureAwait(false)).Select(d => new ReportDropCount(d.Reason, d.Count, d.LastAt))];
        }, cancellationToken);

    private static FlagUsage Build(Flag flag, string environment, long fromMinute, int size, int count, IReadOnlyList<UsageCount> rows, DateTimeOffset? last)
    {
        // One series per value, largest first; each bucket lists its counts in that order.
        var values = rows.GroupBy(r => r.Value, StringComparer.Ordinal)
            .Select(g => (Value: g.Key, Total: g.Sum(r => r.Count)))
            .OrderByDescending(v => v.Total).ThenBy(v => v.Value, StringComparer.Ordinal)
            .ToList();
        var index = values.Select((v, i) => (v.Value, i)).ToDictionary(p => p.Value, p => p.i, StringComparer.Ordinal);
        var counts = new long[count][];
        for (int i = 0; i < count; i++)
        {
            counts[i] = new long[values.Count];
        }

        foreach (var row in rows)
        {
            counts[(row.Minute - fromMinute) / size][index[row.Value]] += row.Count;
        }

        return new FlagUsage
        {
            Flag = flag.Key,
            Environment = environment,
            From = Minute(fromMinute),
            To = Minute(fromMinute + ((long)count * size)),
            BucketMinutes = size,
            Total = values.Sum(v => v.Total),
            LastEvaluated = last,
            Values = [.. values.Select(v => new UsageValue(v.Value, VariationOf(flag, v.Value), v.Total))],
            Buckets = [.. counts.Select((c, i) => new UsageBucket(Minute(fromMinute + ((long)i * size)), c.Sum(), c))],
        };
    }

    // The variation whose value an SDK reported (values are JSON text, as the SDK sent them).
    private static string? VariationOf(Flag flag, string value)
    {
        JsonElement reported;
        try
        {
            using var document = JsonDocument.Parse(value);
            reported = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }

        foreach (var variation in flag.Variations)
        {
            if (!variation.Fallback && variation.Value is { } candidate && JsonElement.DeepEquals(candidate, reported))
            {
                return variation.Key;
            }
        }

        return null;
    }

    private static DateTimeOffset Minute(long minute) => DateTimeOffset.FromUnixTimeSeconds(minute * 60);

    private static long FloorDiv(long a, long b) => (a / b) - (a % b < 0 ? 1 : 0);

    private static long CeilDiv(long a, long b) => -FloorDiv(-a, b);
}
