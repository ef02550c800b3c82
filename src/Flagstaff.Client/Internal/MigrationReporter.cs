using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Flagstaff.Client.Internal;

/// <summary>
/// Sends migration measurements to <c>POST /migrations/report</c> every few seconds (5 by default, as
/// the guards expect) and on dispose. What could not be sent is kept, bounded, for the next report; a
/// refused key stops reporting with one log line.
/// </summary>
internal sealed class MigrationReporter(MigrationRecorder recorder, HttpClient http, Uri baseUrl, string key, TimeSpan timeout, ILogger logger)
    : Reporter(http, baseUrl, "migrations/report", key, timeout, logger, "migration")
{
    // Kept measurements beyond this are dropped, oldest first: about 10 minutes of a dozen busy stages.
    private const int MaxPending = 1500;

    // Measurements per request: a full one (two sides × 80 buckets) is under 2 KB, the body limit 1 MiB.
    private const int PerRequest = 250;

    private readonly List<MigrationMeasurement> _pending = [];

    protected override async Task SendAsync(CancellationToken cancellationToken)
    {
        recorder.Collect(_pending);
        while (_pending.Count > 0 && !Stopped)
        {
            var batch = new MigrationReportBody { Measurements = _pending.GetRange(0, Math.Min(PerRequest, _pending.Count)) };
            var body = JsonSerializer.SerializeToUtf8Bytes(batch, WireJson.Default.MigrationReportBody);
            var outcome = await PostAsync(body, cancellationToken).ConfigureAwait(false);
            if (outcome == ReportOutcome.Failed)
            {
                break;
            }

            _pending.RemoveRange(0, batch.Measurements.Count);
            if (outcome == ReportOutcome.Accepted)
            {
                Sent += batch.Measurements.Count;
            }
        }

        if (Stopped)
        {
            _pending.Clear();
        }
        else if (_pending.Count > MaxPending)
        {
            int dropped = _pending.Count - MaxPending;
            Log.MeasurementsDropped(Logger, _pending[0].Flag, dropped);
            _pending.RemoveRange(0, dropped);
        }
    }
}
