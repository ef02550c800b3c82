using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Flagstaff.Client.Internal;

/// <summary>
/// Sends usage to <c>POST /report</c> every few seconds and on dispose. What could not be sent is kept
/// (bounded) for the next report; a refused key stops reporting with one log line.
/// </summary>
internal sealed class UsageReporter(UsageRecorder recorder, HttpClient http, Uri baseUrl, string key, string clientId, TimeSpan timeout, ILogger logger)
    : Reporter(http, baseUrl, "report", key, timeout, logger, "usage")
{
    private readonly UsageBatch _pending = new();

    protected override async Task SendAsync(CancellationToken cancellationToken)
    {
        recorder.Collect(_pending);
        if (Stopped)
        {
            _pending.Clear();
            return;
        }

        if (_pending.IsEmpty)
        {
            return;
        }

        long total = _pending.TotalCount;
        var body = JsonSerializer.SerializeToUtf8Bytes(_pending.ToBody(clientId), WireJson.Default.UsageReportBody);
        switch (await PostAsync(body, cancellationToken).ConfigureAwait(false))
        {
            case ReportOutcome.Accepted:
                _pending.Clear();
                Sent += total;
                break;
            case ReportOutcome.KeyRefused or ReportOutcome.Rejected:
                _pending.Clear();
                break;
            default:
                // Kept for the next report.
                break;
        }
    }
}
