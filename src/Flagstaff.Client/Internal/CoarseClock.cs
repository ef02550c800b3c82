namespace Flagstaff.Client.Internal;

/// <summary>
/// The current time in milliseconds since the Unix epoch, for the <c>timestamp</c> property that
/// schedules read. Reading the wall clock costs tens of nanoseconds on some virtual machines, a large
/// part of an evaluation; the monotonic tick count costs a few, so the wall clock is read once a second
/// and the ticks added to it. Schedules are set to the minute, so millisecond drift does not matter.
/// </summary>
internal sealed class CoarseClock
{
    private const long RebaseEveryMilliseconds = 1000;
    private readonly TimeProvider? _provider;

    // Two fields updated without a lock: a reader that sees one updated and not the other is off by the
    // drift of one second, which is harmless.
    private long _offset;
    private long _rebaseAt;

    public CoarseClock(TimeProvider? provider)
    {
        _provider = provider is null || ReferenceEquals(provider, TimeProvider.System) ? null : provider;
        if (_provider is null)
        {
            Rebase(Environment.TickCount64);
        }
    }

    public long NowMilliseconds
    {
        get
        {
            if (_provider is not null)
            {
                return _provider.GetUtcNow().ToUnixTimeMilliseconds();
            }

            long tick = Environment.TickCount64;
            return tick < _rebaseAt ? tick + _offset : Rebase(tick);
        }
    }

    public DateTimeOffset UtcNow => _provider?.GetUtcNow() ?? DateTimeOffset.UtcNow;

    /// <summary>The time provider for delays and timers.</summary>
    public TimeProvider Provider => _provider ?? TimeProvider.System;

    private long Rebase(long tick)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        _offset = now - tick;
        _rebaseAt = tick + RebaseEveryMilliseconds;
        return now;
    }
}
