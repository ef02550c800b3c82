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

/// <summary>
/// Sends what the client measured to the server in the background: every few seconds, on demand and
/// on dispose, one flush at a time, with the server key. The usage and migration reporters differ only
/// in what they collect and how they batch it. Never throws but for the caller's cancellation; a
/// refused key stops reporting for good.
/// </summary>
internal abstract class Reporter : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _uri;
    private readonly string _key;
    private readonly TimeSpan _timeout;
    private readonly string _what;
    private readonly SemaphoreSlim _gate = new(1, 1);

    protected Reporter(HttpClient http, Uri baseUrl, string path, string key, TimeSpan timeout, ILogger logger, string what)
    {
        _http = http;
        var root = baseUrl.AbsoluteUri.EndsWith('/') ? baseUrl : new Uri(baseUrl.AbsoluteUri + "/");
        _uri = new Uri(root, path);
        _key = key;
        _timeout = timeout;
        Logger = logger;
        _what = what;
    }

    protected ILogger Logger { get; }

    /// <summary>Whether the server refused the key: nothing is sent any more.</summary>
    protected bool Stopped { get; private set; }

    /// <summary>How many items the server accepted (for tests and diagnostics).</summary>
    public long Sent { get; protected set; }

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
            await SendAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Collects what was measured since the last flush and sends it with <see cref="PostAsync"/>; one at a time.</summary>
    protected abstract Task SendAsync(CancellationToken cancellationToken);

    /// <summary>Posts one report body.</summary>
    protected async Task<ReportOutcome> PostAsync(byte[] body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _uri) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation("X-Tggl-Api-Key", _key);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(_timeout);
        try
        {
            using var response = await _http.SendAsync(request, limit.Token).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                return ReportOutcome.Accepted;
            }

            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                Log.ReportKeyRefused(Logger, _what, (int)response.StatusCode);
                Stopped = true;
                return ReportOutcome.KeyRefused;
            }

            if (response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound or HttpStatusCode.RequestEntityTooLarge)
            {
                Log.ReportRejected(Logger, _what, (int)response.StatusCode);
                return ReportOutcome.Rejected;
            }

            Log.ReportAnswered(Logger, _what, (int)response.StatusCode);
            return ReportOutcome.Failed;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Log.ReportFailed(Logger, _what, e.Message);
            return ReportOutcome.Failed;
        }
    }
}
