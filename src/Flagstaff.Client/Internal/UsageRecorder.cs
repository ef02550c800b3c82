using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Flagstaff.Evaluation;

namespace Flagstaff.Client.Internal;

/// <summary>
/// Counts evaluations for usage reports without a lock or an allocation per evaluation: each thread
/// counts in a table of its own, keyed by the compiled flag (by reference) and the slot that decided
/// (a condition, the default variation, or "the caller's default was returned"). Only the owning thread
/// writes a table; the reporter reads the counters and remembers what it already reported, so nothing
/// is ever reset under a writer's feet. Tables of dead threads, and counters of flags replaced by a
/// change, are reported one last time and dropped.
/// </summary>
internal sealed class UsageRecorder : IDisposable
{
    private const int MaxMissedSlugs = 1_000;

    // The table of the last recorder used on this thread: one client per process is the common case,
    // and then this is the only lookup. Other clients on the same thread fall back to _tables.
    [ThreadStatic]
    private static UsageTable? _threadTable;

    private readonly ThreadLocal<UsageTable?> _tables = new();
    private readonly List<UsageTable> _registry = [];
    private readonly Lock _registryGate = new();
    private readonly ConcurrentQueue<FlagCounters> _retired = new();
    private readonly ConcurrentDictionary<string, MissCounter> _misses = new(StringComparer.Ordinal);
    private readonly CoarseClock _clock;

    public UsageRecorder(CoarseClock clock, bool recordContexts, bool recordValues)
    {
        _clock = clock;
        RecordContexts = recordContexts;
        RecordValues = recordValues;
    }

    public bool RecordContexts { get; }

    public bool RecordValues { get; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Record<T, TConverter>(FlagSnapshot snapshot, CompiledFlag flag, int slot, EvaluationContext context, T defaultValue, TConverter converter)
        where TConverter : struct, IFlagConverter<T>
    {
        var table = _threadTable;
        if (table is null || !ReferenceEquals(table.Owner, this))
        {
            table = Attach();
        }

        if (snapshot.Generation > table.Generation)
        {
            table.Sweep(snapshot);
        }

        var counters = table.Find(flag) ?? table.Add(flag);
        counters.Counts[slot]++;
        if (converter.HasDefault && counters.Defaults[slot] is null)
        {
            counters.Defaults[slot] = converter.BoxDefault(defaultValue);
        }

        if (RecordContexts && !ReferenceEquals(context, table.LastContext))
        {
            table.SeeContext(context, _clock.NowMilliseconds / 1000);
        }
    }

    /// <summary>An evaluation of a flag the configuration does not have (or before there is one): the rare path.</summary>
    public void RecordMiss<T, TConverter>(string slug, T defaultValue, TConverter converter)
        where TConverter : struct, IFlagConverter<T>
    {
        if (!_misses.TryGetValue(slug, out var counter))
        {
            if (_misses.Count >= MaxMissedSlugs)
            {
                return;
            }

            counter = _misses.GetOrAdd(slug, static _ => new MissCounter());
        }

        Interlocked.Increment(ref counter.Count);
        if (converter.HasDefault && counter.Default is null)
        {
            counter.Default = converter.BoxDefault(defaultValue);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private UsageTable Attach()
    {
        UsageTable? table;
        try
        {
            table = _tables.Value;
        }
        catch (ObjectDisposedException)
        {
            // The client was disposed and its last report sent: counting goes nowhere, but an
            // evaluation made after dispose must still not throw.
            return new UsageTable(this, Thread.CurrentThread);
        }

        if (table is null)
        {
            table = new UsageTable(this, Thread.CurrentThread);
            _tables.Value = table;
            lock (_registryGate)
            {
                _registry.Add(table);
            }
        }

        _threadTable = table;
        return table;
    }

    internal void Retire(FlagCounters counters) => _retired.Enqueue(counters);

    /// <summary>Collects what was counted since the last call. Called by one reporter at a time.</summary>
    public void Collect(UsageBatch batch)
    {
        UsageTable[] tables;
        lock (_registryGate)
        {
            tables = [.. _registry];
        }

        foreach (var table in tables)
        {
            // Read whether the thread is alive before its counters: a dead thread's counts are final.
            bool dead = !table.Thread.IsAlive;
            foreach (var counters in table.Slots)
            {
                if (counters is not null)
                {
                    Collect(counters, batch);
                }
            }

            table.DrainContexts(batch);
            if (dead)
            {
                lock (_registryGate)
                {
                    _registry.Remove(table);
                }
            }
        }

        while (_retired.TryDequeue(out var counters))
        {
            Collect(counters, batch);
        }

        foreach (var (slug, counter) in _misses)
        {
            long count = Interlocked.Exchange(ref counter.Count, 0);
            if (count > 0)
            {
                var defaultJson = UsageBatch.ToJson(counter.Default);
                batch.AddCount(slug, defaultJson, defaultJson, count);
            }
        }
    }

    private static void Collect(FlagCounters counters, UsageBatch batch)
    {
        var flag = counters.Flag;
        int conditions = flag.ConditionCount;
        for (int slot = 0; slot < counters.Counts.Length; slot++)
        {
            long current = Volatile.Read(ref counters.Counts[slot]);
            long delta = current - counters.Reported[slot];
            if (delta <= 0)
            {
                continue;
            }

            counters.Reported[slot] = current;
            var defaultJson = UsageBatch.ToJson(Volatile.Read(ref counters.Defaults[slot]));
            var variation = slot < conditions ? flag.GetConditionVariation(slot) : slot == conditions ? flag.DefaultVariation : null;
            var valueJson = variation is { Active: true } ? variation.Value.ToJson() : defaultJson;
            batch.AddCount(flag.Slug, valueJson, defaultJson, delta);
        }
    }

    public void Dispose() => _tables.Dispose();

    private sealed class MissCounter
    {
        public long Count;
        public object? Default;
    }
}

/// <summary>The counters of one flag on one thread: one slot per condition, one for the default variation, one for "the caller's default".</summary>
internal sealed class FlagCounters
{
    public FlagCounters(CompiledFlag flag)
    {
        Flag = flag;
        int slots = flag.ConditionCount + 2;
        Counts = new long[slots];
        Defaults = new object?[slots];
        Reported = new long[slots];
    }

    public CompiledFlag Flag { get; }

    /// <summary>Written by the owning thread only.</summary>
    public long[] Counts { get; }

    /// <summary>The caller's default seen first in each slot (reports name it); written by the owning thread.</summary>
    public object?[] Defaults { get; }

    /// <summary>What the reporter already reported; written by the reporter only.</summary>
    public long[] Reported { get; }
}

/// <summary>One thread's counters: an open-addressing table keyed by flag reference, written by that thread only.</summary>
internal sealed class UsageTable
{
    private const int MaxProperties = 200;
    private const int MaxValuesPerProperty = 100;

    private FlagCounters?[] _slots = new FlagCounters?[32];
    private int _count;
    private FlagCounters? _last;
    private readonly Lock _contextGate = new();
    private Dictionary<string, (long First, long Last)> _properties = new(StringComparer.Ordinal);
    private Dictionary<string, Dictionary<string, string?>> _values = new(StringComparer.Ordinal);

    public UsageTable(UsageRecorder owner, Thread thread)
    {
        Owner = owner;
        Thread = thread;
    }

    public UsageRecorder Owner { get; }

    public Thread Thread { get; }

    /// <summary>The newest snapshot generation this table was swept for.</summary>
    public int Generation { get; private set; }

    public EvaluationContext? LastContext { get; private set; }

    public FlagCounters?[] Slots => Volatile.Read(ref _slots);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public FlagCounters? Find(CompiledFlag flag)
    {
        var last = _last;
        if (last is not null && ReferenceEquals(last.Flag, flag))
        {
            return last;
        }

        return FindSlow(flag);
    }

    private FlagCounters? FindSlow(CompiledFlag flag)
    {
        var slots = _slots;
        int mask = slots.Length - 1;
        int i = RuntimeHelpers.GetHashCode(flag) & mask;
        while (true)
        {
            var counters = slots[i];
            if (counters is null)
            {
                return null;
            }

            if (ReferenceEquals(counters.Flag, flag))
            {
                _last = counters;
                return counters;
            }

            i = (i + 1) & mask;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public FlagCounters Add(CompiledFlag flag)
    {
        var counters = new FlagCounters(flag);
        if ((_count + 1) * 2 > _slots.Length)
        {
            var larger = new FlagCounters?[_slots.Length * 2];
            foreach (var existing in _slots)
            {
                if (existing is not null)
                {
                    Insert(larger, existing);
                }
            }

            Volatile.Write(ref _slots, larger);
        }

        Insert(_slots, counters);
        _count++;
        _last = counters;
        return counters;
    }

    private static void Insert(FlagCounters?[] slots, FlagCounters counters)
    {
        int mask = slots.Length - 1;
        int i = RuntimeHelpers.GetHashCode(counters.Flag) & mask;
        while (slots[i] is not null)
        {
            i = (i + 1) & mask;
        }

        Volatile.Write(ref slots[i], counters);
    }

    /// <summary>
    /// After a configuration change: counters of flags that are no longer current are handed to the
    /// reporter (which reports them one last time) and dropped from this table.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void Sweep(FlagSnapshot snapshot)
    {
        Generation = snapshot.Generation;
        var configuration = snapshot.Configuration;
        var kept = new FlagCounters?[_slots.Length];
        int count = 0;
        foreach (var counters in _slots)
        {
            if (counters is null)
            {
                continue;
            }

            if (configuration is not null && configuration.TryGetFlag(counters.Flag.Slug, out var current) && ReferenceEquals(current, counters.Flag))
            {
                Insert(kept, counters);
                count++;
            }
            else
            {
                Owner.Retire(counters);
            }
        }

        _last = null;
        _count = count;
        Volatile.Write(ref _slots, kept);
    }

    /// <summary>Notes the properties (and string values) of a context not seen just before on this thread.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void SeeContext(EvaluationContext context, long nowSeconds)
    {
        LastContext = context;
        var keys = context.Keys;
        lock (_contextGate)
        {
            for (int i = 0; i < keys.Count; i++)
            {
                var key = keys[i];
                ref var seen = ref CollectionsMarshal.GetValueRefOrNullRef(_properties, key);
                if (!Unsafe.IsNullRef(ref seen))
                {
                    seen.Last = nowSeconds;
                }
                else if (_properties.Count < MaxProperties)
                {
                    _properties[key] = (nowSeconds, nowSeconds);
                }

                if (Owner.RecordValues && context.TryGetString(key, out var text) && text.Length > 0)
                {
                    if (!_values.TryGetValue(key, out var values))
                    {
                        if (_values.Count >= MaxProperties)
                        {
                            continue;
                        }

                        _values[key] = values = new Dictionary<string, string?>(StringComparer.Ordinal);
                    }

                    if (values.Count < MaxValuesPerProperty || values.ContainsKey(text))
                    {
                        var label = Label(context, key);
                        if (label is not null || !values.ContainsKey(text))
                        {
                            values[text] = label;
                        }
                    }
                }
            }
        }
    }

    // A human label for an id: "accountName" beside "accountId", "account_name" beside "account_id".
    private static string? Label(EvaluationContext context, string key)
    {
        int stem;
        if (key.EndsWith("Id", StringComparison.Ordinal) && key.Length > 2)
        {
            stem = key.Length - 2;
        }
        else if (key.EndsWith("_id", StringComparison.Ordinal) && key.Length > 3)
        {
            stem = key.Length - 3;
        }
        else
        {
            return null;
        }

        bool snake = key[stem] == '_';
        var suffix = snake ? "_name" : "Name";
        var keys = context.Keys;
        for (int i = 0; i < keys.Count; i++)
        {
            var other = keys[i];
            if (other.Length == stem + suffix.Length && other.AsSpan(0, stem).SequenceEqual(key.AsSpan(0, stem)) && other.AsSpan(stem).SequenceEqual(suffix)
                && context.TryGetString(other, out var label) && label.Length > 0)
            {
                return label;
            }
        }

        return null;
    }

    public void DrainContexts(UsageBatch batch)
    {
        Dictionary<string, (long First, long Last)> properties;
        Dictionary<string, Dictionary<string, string?>> values;
        lock (_contextGate)
        {
            if (_properties.Count == 0 && _values.Count == 0)
            {
                return;
            }

            properties = _properties;
            values = _values;
            _properties = new(StringComparer.Ordinal);
            _values = new(StringComparer.Ordinal);
        }

        batch.AddContexts(properties, values);
    }
}
