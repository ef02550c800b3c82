using Flagstaff.Server.Streaming;

namespace Flagstaff.Server.Tests;

/// <summary>The queue between the stream hub and one stream's writer.</summary>
public sealed class StreamSubscriberTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private static StreamSubscriber NewSubscriber() => new("environment", "key", ofrep: false);

    private static StreamEvent Change(long version) => new(version - 1, version, new byte[] { 1 });

    /// <summary>Drains like the stream's writer: take what is queued, then wait; until closed or <paramref name="until"/> seen.</summary>
    private static async Task<List<long>> DrainAsync(StreamSubscriber subscriber, long until)
    {
        var taken = new List<long>();
        while (await subscriber.WaitAsync())
        {
            while (subscriber.TryTake(out var e))
            {
                taken.Add(e.ToVersion);
            }

            if (taken.Count > 0 && taken[^1] == until)
            {
                break;
            }
        }

        return taken;
    }

    [Fact]
    public async Task A_waiting_writer_is_woken_by_an_event_and_takes_events_in_order()
    {
        var subscriber = NewSubscriber();
        var draining = Task.Run(() => DrainAsync(subscriber, until: 3));
        await Task.Delay(50);
        Assert.False(draining.IsCompleted);

        for (long v = 1; v <= 3; v++)
        {
            subscriber.Send(Change(v));
        }

        Assert.Equal([1L, 2L, 3L], await draining.WaitAsync(Patience));
    }

    [Fact]
    public async Task A_subscriber_32_events_behind_is_closed_and_its_queue_dropped()
    {
        var subscriber = NewSubscriber();
        for (long v = 1; v <= 32; v++)
        {
            subscriber.Send(Change(v));
        }

        Assert.True(await subscriber.WaitAsync());

        subscriber.Send(Change(33));
        Assert.False(subscriber.TryTake(out _));
        Assert.False(await subscriber.WaitAsync());

        // Nothing reopens it.
        subscriber.Send(Change(34));
        Assert.False(subscriber.TryTake(out _));
    }

    [Fact]
    public async Task Closing_ends_a_writer_that_is_waiting_and_drops_what_was_queued()
    {
        var subscriber = NewSubscriber();
        var waiting = subscriber.WaitAsync().AsTask();
        Assert.False(waiting.IsCompleted);

        subscriber.Close();
        Assert.False(await waiting.WaitAsync(Patience));

        var queued = NewSubscriber();
        queued.Send(Change(1));
        queued.Close();
        Assert.False(queued.TryTake(out _));
        Assert.False(await queued.WaitAsync());
    }

    [Fact]
    public async Task Under_a_concurrent_sender_no_event_is_lost_repeated_or_reordered_and_no_wake_up_is_missed()
    {
        // Bursts of 1 to 31 events while the writer drains on another thread, never more than 32
        // behind: the writer must see 1..n exactly, in order. A missed wake-up would hang it.
        const long Count = 100_000;
        var subscriber = NewSubscriber();
        var taken = new List<long>();
        long progress = 0;
        var draining = Task.Run(async () =>
        {
            while (Volatile.Read(ref progress) < Count && await subscriber.WaitAsync())
            {
                while (subscriber.TryTake(out var e))
                {
                    taken.Add(e.ToVersion);
                    Volatile.Write(ref progress, e.ToVersion);
                }
            }
        });

        var random = new Random(7);
        var sending = Task.Run(() =>
        {
            long sent = 0;
            while (sent < Count)
            {
                var spin = new SpinWait();
                while (sent - Volatile.Read(ref progress) > 1)
                {
                    spin.SpinOnce();
                }

                for (int burst = random.Next(1, 32); burst > 0 && sent < Count; burst--)
                {
                    subscriber.Send(Change(++sent));
                }
            }
        });

        await sending.WaitAsync(Patience * 3);
        await draining.WaitAsync(Patience * 3);
        Assert.Equal(Enumerable.Range(1, (int)Count).Select(v => (long)v), taken);
    }
}
