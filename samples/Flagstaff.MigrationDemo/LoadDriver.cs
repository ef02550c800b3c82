using System.Collections.Concurrent;
using System.Net;

namespace Flagstaff.MigrationDemo;

/// <summary>
/// Users of the records service: workers issuing reads and writes over HTTP without pause. Each worker
/// owns its records, so it knows what a read must return: the value of its last acknowledged write.
/// Every request that fails, and every read that returns anything else, is a user-visible failure.
/// </summary>
public sealed class LoadDriver(Uri service, int workers, int recordsPerWorker, int accounts, TimeSpan operationDelay) : IAsyncDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = service, Timeout = TimeSpan.FromSeconds(30) };
    private readonly Dictionary<string, string>[] _acknowledged = [.. Enumerable.Range(0, workers).Select(_ => new Dictionary<string, string>(StringComparer.Ordinal))];
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<string> _failureSamples = new();
    private Task[] _workers = [];
    private volatile TaskCompletionSource? _paused;
    private volatile bool _stopping;
    private int _parked;
    private long _reads;
    private long _writes;
    private long _failedRequests;
    private long _wrongReads;

    public long Reads => Interlocked.Read(ref _reads);

    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>Requests that did not succeed (an error status, a timeout, a refused connection).</summary>
    public long FailedRequests => Interlocked.Read(ref _failedRequests);

    /// <summary>Reads that succeeded but did not return the last acknowledged write.</summary>
    public long WrongReads => Interlocked.Read(ref _wrongReads);

    /// <summary>The first few failures, described.</summary>
    public IReadOnlyCollection<string> FailureSamples => _failureSamples;

    public int Records => workers * recordsPerWorker;

    public string AccountOf(int worker, int index) => "acct-" + (((worker * recordsPerWorker) + index) % accounts).ToString("000", System.Globalization.CultureInfo.InvariantCulture);

    public static string IdOf(int worker, int index) => $"rec-{worker}-{index}";

    /// <summary>Every record's last acknowledged value (call when stopped or paused).</summary>
    public IEnumerable<(string Id, string Account, string Value)> Acknowledged()
    {
        for (int w = 0; w < workers; w++)
        {
            for (int i = 0; i < recordsPerWorker; i++)
            {
                if (_acknowledged[w].TryGetValue(IdOf(w, i), out var value))
                {
                    yield return (IdOf(w, i), AccountOf(w, i), value);
                }
            }
        }
    }

    /// <summary>Writes every record once: the data that exists before the migration starts.</summary>
    public async Task SeedAsync(CancellationToken cancellationToken) =>
        await Parallel.ForAsync(0, workers, cancellationToken, async (w, ct) =>
        {
            for (int i = 0; i < recordsPerWorker; i++)
            {
                await WriteAsync(w, i, "seed", ct);
            }
        });

    public void Start() => _workers = [.. Enumerable.Range(0, workers).Select(w => Task.Run(() => RunAsync(w, _stop.Token)))];

    /// <summary>Stops issuing requests once those in flight are answered, until <see cref="Resume"/>.</summary>
    public async Task PauseAsync(CancellationToken cancellationToken)
    {
        // Workers released by the last pause may not have counted themselves out yet.
        while (Volatile.Read(ref _parked) > 0)
        {
            await Task.Delay(5, cancellationToken);
        }

        _paused = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        while (Volatile.Read(ref _parked) < _workers.Length)
        {
            await Task.Delay(5, cancellationToken);
        }
    }

    public void Resume()
    {
        var paused = _paused;
        _paused = null;
        paused?.TrySetResult();
    }

    /// <summary>Stops once the requests in flight are answered (so that what was acknowledged is known exactly).</summary>
    public async Task StopAsync()
    {
        _stopping = true;
        Resume();
        await Task.WhenAll(_workers);
    }

    private async Task RunAsync(int worker, CancellationToken stop)
    {
        var random = new Random(worker);
        long sequence = 0;
        try
        {
            while (!_stopping && !stop.IsCancellationRequested)
            {
                if (_paused is { } paused)
                {
                    Interlocked.Increment(ref _parked);
                    await paused.Task.WaitAsync(stop);
                    Interlocked.Decrement(ref _parked);
                    continue;
                }

                int index = random.Next(recordsPerWorker);
                if (random.Next(2) == 0)
                {
                    await WriteAsync(worker, index, $"w{worker}-{++sequence}", stop);
                }
                else
                {
                    await ReadAsync(worker, index, stop);
                }

                await Task.Delay(operationDelay, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopped.
        }
    }

    private async Task WriteAsync(int worker, int index, string value, CancellationToken cancellationToken)
    {
        var id = IdOf(worker, index);
        Interlocked.Increment(ref _writes);
        try
        {
            using var response = await _http.PutAsJsonAsync($"records/{id}", new WriteRequest(AccountOf(worker, index), value), DemoJson.Default.WriteRequest, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                _acknowledged[worker][id] = value;
                return;
            }

            Failed($"PUT {id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Failed($"PUT {id}: {e.Message}");
        }
    }

    private async Task ReadAsync(int worker, int index, CancellationToken cancellationToken)
    {
        var id = IdOf(worker, index);
        Interlocked.Increment(ref _reads);
        try
        {
            using var response = await _http.GetAsync($"records/{id}?account={AccountOf(worker, index)}", cancellationToken);
            _acknowledged[worker].TryGetValue(id, out var expected);
            if (response.StatusCode == HttpStatusCode.NotFound && expected is null)
            {
                return;
            }

            if (!response.IsSuccessStatusCode)
            {
                Failed($"GET {id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
                return;
            }

            var record = await response.Content.ReadFromJsonAsync(DemoJson.Default.RecordView, cancellationToken);
            if (record?.Value != expected)
            {
                Interlocked.Increment(ref _wrongReads);
                Sample($"GET {id} at {record?.Stage} from {record?.Side}: \"{record?.Value}\", expected \"{expected}\"");
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Failed($"GET {id}: {e.Message}");
        }
    }

    private void Failed(string what)
    {
        Interlocked.Increment(ref _failedRequests);
        Sample(what);
    }

    private void Sample(string what)
    {
        if (_failureSamples.Count < 10)
        {
            _failureSamples.Enqueue(what);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Disposed without a stop (the story failed): abandon the requests in flight.
        await _stop.CancelAsync();
        await StopAsync();

        _http.Dispose();
        _stop.Dispose();
    }
}
