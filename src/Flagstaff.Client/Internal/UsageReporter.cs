using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Flagstaff.Client.Internal;

/// <summary>
/// Sends usage to <c>POST /report</c> every few seconds and on dispose. What could not be sent is kept
/// (bounded) for the next report; a refused key stops reporting with one log line.
/// </summary>
internal sealed class UsageReporter : IDisposable
{
    private readonly UsageRecorder _recorder;
    private readonly HttpClient _http;
    private readonly Uri _reportUri;
    private readonly string _key;
    private readonly string _clientId;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;
    private readonly UsageBatch _pending = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _stopped;

    public UsageReporter(UsageRecorder recorder, HttpClient http, Uri baseUrl, string key, string clientId, TimeSpan timeout, ILogger logger)
    {
        _recorder = recorder;
        _http = http;
        var root = baseUrl.AbsoluteUri.EndsWith('/') ? baseUrl : new Uri(baseUrl.AbsoluteUri + "/");
        _reportUri = new Uri(root, "report");
        _key = key;
        _clientId = clientId;
        _timeout = timeout;
        _logger = logger;
    }

    /// <summary>How many evaluations the server accepted in reports (for tests and diagnostics).</summary>
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

    /// <summary>Collects and sends what was counted. Never throws (but for cancellation of the caller's token).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _recorder.Collect(_pending);
            if (_pending.IsEmpty || _stopped)
            {
                if (_stopped)
                {
                    _pending.Clear();
                }

                return;
            }

            long total = _pending.TotalCount;
            var body = JsonSerializer.SerializeToUtf8Bytes(_pending.ToBody(_clientId), WireJson.Default.UsageReportBody);
            switch (await ReportSender.PostAsync(_http, _reportUri, _key, body, _timeout, _logger, "usage", cancellationToken).ConfigureAwait(false))
            {
                case ReportOutcome.Accepted:
                    _pending.Clear();
                    Sent += total;
                    break;
                case ReportOutcome.KeyRefused:
                    _stopped = true;
                    _pending.Clear();
                    break;
                case ReportOutcome.Rejected:
                    _pending.Clear();
                    break;
                default:
                    // Kept for the next report.
                    break;
            }
        }
        finally
        {
            _gate.Release();
        }
    }
}
