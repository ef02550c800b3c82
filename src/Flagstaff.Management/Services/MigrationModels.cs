using System.Text.Json.Serialization;
using Flagstaff.Domain;

namespace Flagstaff.Management.Services;

/// <summary>What a guard is doing.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<GuardStatus>))]
public enum GuardStatus
{
    /// <summary>The guard is switched off (its threshold is null).</summary>
    [JsonStringEnumMemberName("off")]
    Off,

    /// <summary>Not enough calls (or comparisons) in the window to judge.</summary>
    [JsonStringEnumMemberName("waiting")]
    Waiting,

    /// <summary>Judging, and within its threshold.</summary>
    [JsonStringEnumMemberName("ok")]
    Ok,

    /// <summary>Judging, and past its threshold.</summary>
    [JsonStringEnumMemberName("tripped")]
    Tripped,

    /// <summary>A guard rolled this flag back less than one window ago: guards wait before judging again.</summary>
    [JsonStringEnumMemberName("cooling-down")]
    CoolingDown,
}

/// <summary>One guard over the window: its threshold, the measured value, the samples it judges on, and its state (with the figures when tripped).</summary>
public sealed record GuardState(string Guard, double? Threshold, double? Value, long Samples, int MinSamples, GuardStatus Status, string? Figures);

/// <summary>Calls to one side, how many threw, and the p50 and p99 latency in microseconds (bucket upper bounds).</summary>
public sealed record SideMetrics(long Invoked, long Errors, double? ErrorRate, double? P50, double? P99);

/// <summary>The operations reported at one stage in the window and their share of all operations.</summary>
public sealed record StageTraffic(string Stage, long Operations, double Share);

/// <summary>A stage a cohort serves, with its weight in percent (100 unless the cohort is split).</summary>
public sealed record StageWeight(string Stage, double Weight);

/// <summary>A targeting rule, or the default (<see cref="RuleId"/> null), and the stages it serves.</summary>
public sealed record MigrationCohort(string? RuleId, string Name, IReadOnlyList<StageWeight> Stages);

/// <summary>The last time a guard rolled the flag back in this environment: when, which guard, and the figures.</summary>
public sealed record GuardTrip(DateTimeOffset At, string? Guard, string? Comment, long? Revision);

/// <summary>One 10-second point of a migration's time series (latency in microseconds).</summary>
public sealed record MigrationPoint(DateTimeOffset Start, long OldInvoked, long NewInvoked, long OldErrors, long NewErrors, double? OldP99, double? NewP99, long Compared, long Inconsistent, long FailedWrites);

/// <summary>
/// A migration flag in one environment: its cohorts and their stages, the measurements over the
/// window (per stage, per side, comparisons, failed writes), the guards' state, the last rollback,
/// and 10-second points over the last 15 minutes.
/// </summary>
public sealed record MigrationStatus
{
    public required string Flag { get; init; }

    public required string Environment { get; init; }

    public MigrationPath Path { get; init; }

    public IReadOnlyList<string> Stages { get; init; } = [];

    /// <summary>Where a guard sends reads back (null on the direct path).</summary>
    public string? SafeStage { get; init; }

    /// <summary>The main switch: off serves <c>off</c> to everyone.</summary>
    public bool Enabled { get; init; }

    public long TargetingVersion { get; init; }

    public IReadOnlyList<MigrationCohort> Cohorts { get; init; } = [];

    public int WindowSeconds { get; init; }

    public DateTimeOffset From { get; init; }

    public DateTimeOffset To { get; init; }

    public IReadOnlyList<StageTraffic> Traffic { get; init; } = [];

    public required SideMetrics Old { get; init; }

    public required SideMetrics New { get; init; }

    public long Compared { get; init; }

    public long Inconsistent { get; init; }

    public double? Consistency { get; init; }

    public long FailedWrites { get; init; }

    public IReadOnlyList<GuardState> Guards { get; init; } = [];

    public GuardTrip? LastTrip { get; init; }

    public IReadOnlyList<MigrationPoint> Series { get; init; } = [];
}

/// <summary>An emergency action on a migration flag in one environment.</summary>
public sealed record MigrationActionRequest
{
    public required string Environment { get; init; }

    /// <summary><c>reads-to-old</c> (cohorts at live and rampdown to the safe stage) or <c>stop-new-writes</c> (every cohort not at complete to off).</summary>
    public required string Action { get; init; }
}
