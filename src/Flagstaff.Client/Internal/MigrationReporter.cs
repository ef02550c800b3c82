using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Flagstaff.Client.Internal;

/// <summary>
/// Sends migration measurements to <c>POST /migrations/report</c> every few seconds (5 by default, as
/// the guards expect) and on dispose. What could not be sent is kept, bounded, for the next report; a
/// refused key stops reporting with one log line.
/// </summary>
internal sealed class MigrationReporter : IDisposable
{
    // Kept measurements beyond this are dropped, oldest first: about 10 minutes of a dozen busy stages.
    private const int MaxPending = 1500;

    // Measurements per request: a full one (two sides × 80 buckets) is under 2 KB, the body limit 1 MiB.
    private const int PerRequest = 250;

    private readonly MigrationRecorder _recorder;
    private readonly HttpClient _http;
    private readonly Uri _reportUri;
    private readonly string _key;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;
    private readonly List<MigrationMeasurement> _pending = [];
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _stopped;

    public MigrationReporter(MigrationRecorder recorder, HttpClient http, Uri baseUrl, string key, TimeSpan timeout, ILogger logger)
    {
        _recorder = recorder;
        _http = http;
        var root = baseUrl.AbsoluteUri.EndsWith('/') ? baseUrl : new Uri(baseUrl.AbsoluteUri + "/");
        _reportUri = new Uri(root, "migrations/report");
        _key = key;
        _timeout = timeout;
        _logger = logger;
    }

    /// <summary>How many measurements the server accepted (for tests and diagnostics).</summary>
    public long Sent { get; private set; }

    public void Dispose() => _gate.Dispose();

    public async Task RunAsync(TimeSpan interval, TimeProvider clock, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(interval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                await FlushAsync(stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed; the final flush is the client's.
        }
    }

    /// <summary>Collects and sends what was measured. Never throws (but for cancellation of the caller's token).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _recorder.Collect(_pending);
            if (_stopped)
            {
                _pending.Clear();
                return;
            }

            while (_pending.Count > 0)
            {
                var batch = new MigrationReportBody { Measurements = _pending.GetRange(0, Math.Min(PerRequest, _pending.Count)) };
                var body = JsonSerializer.SerializeToUtf8Bytes(batch, WireJson.Default.MigrationReportBody);
                var outcome = await ReportSender.PostAsync(_http, _reportUri, _key, body, _timeout, _logger, "migration", cancellationToken).ConfigureAwait(false);
                if (outcome == ReportOutcome.Failed)
                {
                    break;
                }

                _pending.RemoveRange(0, batch.Measurements.Count);
                if (outcome == ReportOutcome.Accepted)
                {
                    Sent += batch.Measurements.Count;
                }
                else if (outcome == ReportOutcome.KeyRefused)
                {
                    _stopped = true;
                    _pending.Clear();
                }
            }

            if (_pending.Count > MaxPending)
            {
                int dropped = _pending.Count - MaxPending;
                Log.MeasurementsDropped(_logger, _pending[0].Flag, dropped);
                _pending.RemoveRange(0, dropped);
            }
        }
        finally
        {
            _gate.Release();
        }
    }
}
