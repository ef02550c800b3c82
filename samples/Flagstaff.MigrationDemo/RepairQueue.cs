using System.Threading.Channels;
using Flagstaff.Client;

namespace Flagstaff.MigrationDemo;

/// <summary>
/// Failed writes to the side that was not authoritative (handed over by the migration helper), written
/// again in the background until they succeed. A repair writes the record it was given with its
/// version; the stores keep the newest version, so a repair that lands after a newer write is a no-op.
/// </summary>
public sealed class RepairQueue(IRecordStore old, IRecordStore @new, TimeSpan retryDelay) : IAsyncDisposable
{
    private readonly Channel<MigrationWriteFailure<StoredRecord>> _queue = Channel.CreateUnbounded<MigrationWriteFailure<StoredRecord>>();
    private readonly CancellationTokenSource _stop = new();
    private Task? _worker;
    private long _queued;
    private long _repaired;
    private long _attempts;

    public long Queued => Interlocked.Read(ref _queued);

    public long Repaired => Interlocked.Read(ref _repaired);

    public long Pending => Queued - Repaired;

    /// <summary>Writes tried, including the ones that failed and were tried again.</summary>
    public long Attempts => Interlocked.Read(ref _attempts);

    /// <summary>The migration's failed-write handler: quick, never throws.</summary>
    public void Enqueue(MigrationWriteFailure<StoredRecord> failure)
    {
        Interlocked.Increment(ref _queued);
        _queue.Writer.TryWrite(failure);
    }

    public void Start() => _worker = Task.Run(() => RunAsync(_stop.Token));

    /// <summary>Waits until every queued repair is done.</summary>
    public async Task DrainedAsync(CancellationToken cancellationToken)
    {
        while (Pending > 0)
        {
            await Task.Delay(20, cancellationToken);
        }
    }

    private async Task RunAsync(CancellationToken stop)
    {
        try
        {
            await foreach (var failure in _queue.Reader.ReadAllAsync(stop))
            {
                var store = failure.Side == MigrationSide.Old ? old : @new;
                while (true)
                {
                    Interlocked.Increment(ref _attempts);
                    try
                    {
                        await store.PutAsync(failure.Input, stop);
                        Interlocked.Increment(ref _repaired);
                        break;
                    }
                    catch (Exception) when (!stop.IsCancellationRequested)
                    {
                        // The store is still failing: keep the order of repairs and try again shortly.
                        await Task.Delay(retryDelay, stop);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_worker is not null)
        {
            await _worker;
        }

        _stop.Dispose();
    }
}
