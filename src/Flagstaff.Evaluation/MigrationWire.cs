namespace Flagstaff.Evaluation;

/// <summary>
/// The stage names of a migration flag (its variations' keys and values), as the SDK reads them and the
/// server writes them (docs/adr/0004-migrations.md). Defined here, once, for both.
/// </summary>
public static class MigrationStageNames
{
    /// <summary>Old side only.</summary>
    public const string Off = "off";

    /// <summary>Writes to old then new; reads from old.</summary>
    public const string DualWrite = "dualwrite";

    /// <summary>Writes to old then new; reads from both, compared; old returned.</summary>
    public const string Shadow = "shadow";

    /// <summary>Writes to new then old; reads from both, compared; new returned.</summary>
    public const string Live = "live";

    /// <summary>Writes to new then old; reads from new.</summary>
    public const string Rampdown = "rampdown";

    /// <summary>New side only: the old side no longer receives writes.</summary>
    public const string Complete = "complete";

    /// <summary>Every stage, in order.</summary>
    public static IReadOnlyList<string> All { get; } = [Off, DualWrite, Shadow, Live, Rampdown, Complete];
}

/// <summary>
/// The latency histogram of migration measurements, as the SDK fills it and the server merges it:
/// bucket <c>i</c> counts durations up to 10 µs × 1.25^i (and above the previous bound); the last
/// bucket also holds everything longer. A percentile read from it is exact to 25 %.
/// </summary>
public static class LatencyBuckets
{
    /// <summary>Buckets per histogram.</summary>
    public const int Count = 80;

    private static readonly double LogBase = Math.Log(1.25);

    /// <summary>The upper bound of a bucket, in microseconds.</summary>
    public static double UpperBound(int bucket) => 10 * Math.Pow(1.25, bucket);

    /// <summary>The bucket of a duration: the smallest <c>i</c> with <c>d ≤ 10 µs × 1.25^i</c>, at most the last.</summary>
    public static int Of(TimeSpan duration)
    {
        double micros = duration.Ticks / (double)TimeSpan.TicksPerMicrosecond;
        if (micros <= 10)
        {
            return 0;
        }

        int i = (int)Math.Ceiling(Math.Log(micros / 10) / LogBase);

        // The logarithm can land a hair above an exact bound: the bound itself belongs to the bucket below.
        if (i > 0 && micros <= UpperBound(i - 1))
        {
            i--;
        }

        return Math.Min(i, Count - 1);
    }
}
