using System.Collections.Concurrent;
using System.Diagnostics;
using Flagstaff.Evaluation;

namespace Flagstaff.Client.Internal;

/// <summary>
/// The counts of one side of one flag, stage and operation: calls, errors and a latency histogram
/// (<see cref="LatencyBuckets"/>). Writers only
/// increment with <see cref="Interlocked"/>; the collector takes each counter with an exchange, so a
/// count made during a collection lands in this report or the next, never nowhere.
/// </summary>
internal sealed class SideCounters
{
    private readonly long[] _latency = new long[LatencyBuckets.Count];
    private long _invoked;
    private long _errors;

    public void Record(long startTimestamp, bool error)
    {
        Interlocked.Increment(ref _latency[LatencyBuckets.Of(Stopwatch.GetElapsedTime(startTimestamp))]);
        Interlocked.Increment(ref _invoked);
        if (error)
        {
            Interlocked.Increment(ref _errors);
        }
    }

    /// <summary>Takes the counts (resetting them); null when the side was not called.</summary>
    public MigrationSideReport? Take()
    {
        long invoked = Interlocked.Exchange(ref _invoked, 0);
        long errors = Interlocked.Exchange(ref _errors, 0);
        List<long[]>? latency = null;
        for (int i = 0; i < LatencyBuckets.Count; i++)
        {
            if (Volatile.Read(ref _latency[i]) != 0)
            {
                long count = Interlocked.Exchange(ref _latency[i], 0);
                (latency ??= []).Add([i, count]);
            }
        }

        return invoked == 0 && errors == 0 && latency is null
            ? null
            : new MigrationSideReport { Invoked = invoked, Errors = errors, Latency = latency ?? [] };
    }
}

/// <summary>The counts of one flag, stage and operation.</summary>
internal sealed class MigrationCounters
{
    private long _compared;
    private long _inconsistent;
    private long _failedWrites;

    public SideCounters Old { get; } = new();

    public SideCounters New { get; } = new();

    public SideCounters Of(MigrationSide side) => side == MigrationSide.Old ? Old : New;

    public void Compared(bool consistent)
    {
        Interlocked.Increment(ref _compared);
        if (!consistent)
        {
            Interlocked.Increment(ref _inconsistent);
        }
    }

    public void FailedWrite() => Interlocked.Increment(ref _failedWrites);

    public MigrationMeasurement? Take(string flag, MigrationStage stage, MigrationOperation operation, long from, long to)
    {
        var old = Old.Take();
        var @new = New.Take();
        long compared = Interlocked.Exchange(ref _compared, 0);
        long inconsistent = Interlocked.Exchange(ref _inconsistent, 0);
        long failedWrites = Interlocked.Exchange(ref _failedWrites, 0);
        if (old is null && @new is null && compared == 0 && inconsistent == 0 && failedWrites == 0)
        {
            return null;
        }

        return new MigrationMeasurement
        {
            Flag = flag,
            Stage = stage.ToName(),
            Operation = operation == MigrationOperation.Read ? "read" : "write",
            From = from,
            To = to,
            Old = old,
            New = @new,
            Compared = compared,
            Inconsistent = inconsistent,
            FailedWrites = failedWrites,
        };
    }
}

/// <summary>The counters of one migration flag: one set per stage and operation, reached by index without a lookup.</summary>
internal sealed class MigrationFlagCounters(string flag)
{
    private const int Stages = (int)MigrationStage.Complete + 1;
    private readonly MigrationCounters[] _slots = CreateSlots();

    public string Flag { get; } = flag;

    public MigrationCounters this[MigrationStage stage, MigrationOperation operation] => _slots[((int)stage * 2) + (int)operation];

    public void Collect(List<MigrationMeasurement> into, long from, long to)
    {
        for (int stage = 0; stage < Stages; stage++)
        {
            for (int operation = 0; operation < 2; operation++)
            {
                if (_slots[(stage * 2) + operation].Take(Flag, (MigrationStage)stage, (MigrationOperation)operation, from, to) is { } measurement)
                {
                    into.Add(measurement);
                }
            }
        }
    }

    private static MigrationCounters[] CreateSlots()
    {
        var slots = new MigrationCounters[Stages * 2];
        for (int i = 0; i < slots.Length; i++)
        {
            slots[i] = new MigrationCounters();
        }

        return slots;
    }
}

/// <summary>The migration measurements of one client, per flag; collected by <see cref="MigrationReporter"/>.</summary>
internal sealed class MigrationRecorder(CoarseClock clock)
{
    private readonly ConcurrentDictionary<string, MigrationFlagCounters> _flags = new(StringComparer.Ordinal);
    private readonly Lock _collecting = new();
    private long _since = clock.NowMilliseconds;

    /// <summary>The counters of a flag (every migration of the same flag shares them).</summary>
    public MigrationFlagCounters For(string flag) => _flags.GetOrAdd(flag, static f => new MigrationFlagCounters(f));

    /// <summary>Takes every count made since the last collection, as measurements from then to now.</summary>
    public void Collect(List<MigrationMeasurement> into)
    {
        lock (_collecting)
        {
            long to = clock.NowMilliseconds;
            long from = _since;
            _since = to;
            foreach (var flag in _flags.Values)
            {
                flag.Collect(into, from, Math.Max(from, to));
            }
        }
    }
}
