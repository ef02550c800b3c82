using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;

namespace Flagstaff.Client.Internal;

/// <summary>What became of a report.</summary>
internal enum ReportOutcome
{
    /// <summary>The server took it.</summary>
    Accepted,

    /// <summary>The key was refused (401, 403): reporting stops.</summary>
    KeyRefused,

    /// <summary>The server will never take this body (400, 404, 413): sending it again would fail again.</summary>
    Rejected,

    /// <summary>It did not get through (network, timeout, 5xx): keep it for the next report.</summary>
    Failed,
}

/// <summary>Posts a report body with the server key, for the usage and migration reporters alike. Never throws but for the caller's cancellation.</summary>
internal static class ReportSender
{
    public static async Task<ReportOutcome> PostAsync(HttpClient http, Uri uri, string key, byte[] body, TimeSpan timeout, ILogger logger, string what, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation("X-Tggl-Api-Key", key);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            using var response = await http.SendAsync(request, limit.Token).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                return ReportOutcome.Accepted;
            }

            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                Log.ReportKeyRefused(logger, what, (int)response.StatusCode);
                return ReportOutcome.KeyRefused;
            }

            if (response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound or HttpStatusCode.RequestEntityTooLarge)
            {
                Log.ReportRejected(logger, what, (int)response.StatusCode);
                return ReportOutcome.Rejected;
            }

            Log.ReportAnswered(logger, what, (int)response.StatusCode);
            return ReportOutcome.Failed;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Log.ReportFailed(logger, what, e.Message);
            return ReportOutcome.Failed;
        }
    }
}
