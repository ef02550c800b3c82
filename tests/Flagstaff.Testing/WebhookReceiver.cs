using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Flagstaff.Testing;

/// <summary>One request a <see cref="WebhookReceiver"/> received, and the status it answered.</summary>
public sealed record ReceivedWebhook(string Path, string? EventId, string? Event, string? Signature, string Body, int Answered, DateTimeOffset At)
{
    /// <summary>Whether it was accepted (answered 2xx).</summary>
    public bool Accepted => Answered is >= 200 and < 300;
}

/// <summary>
/// A real HTTP server on loopback (Kestrel) that receives webhooks: it records every request and
/// answers what <see cref="Answer"/> says (200 by default).
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedWebhook> _received = new();

    private WebhookReceiver(WebApplication app) => _app = app;

    /// <summary>Where it listens: http://127.0.0.1:port/.</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>The status to answer a request with, and an optional Location header (for redirects).</summary>
    public Func<ReceivedWebhook, (int Status, string? Location)> Answer { get; set; } = _ => (200, null);

    /// <summary>A body sent with every non-2xx answer, which must never be shown back to users.</summary>
    public const string ErrorBody = "receiver-internal-detail-7f3a";

    /// <summary>Everything received, in order of arrival.</summary>
    public IReadOnlyList<ReceivedWebhook> Received => [.. _received];

    /// <summary>The accepted requests, in order of arrival.</summary>
    public IReadOnlyList<ReceivedWebhook> Accepted => [.. _received.Where(r => r.Accepted)];

    public static async Task<WebhookReceiver> StartAsync(string address = "127.0.0.1", int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://{address}:{port}");
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        app.MapPost("/{**path}", receiver.HandleAsync);
        await app.StartAsync();
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Address = new Uri(bound.TrimEnd('/') + "/");
        return receiver;
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        var headers = context.Request.Headers;
        var pending = new ReceivedWebhook(
            context.Request.Path, headers["Flagstaff-Event-Id"].FirstOrDefault(), headers["Flagstaff-Event"].FirstOrDefault(), headers["Flagstaff-Signature"].FirstOrDefault(),
            body, 0, DateTimeOffset.UtcNow);
        var (status, location) = Answer(pending);
        _received.Enqueue(pending with { Answered = status });
        context.Response.StatusCode = status;
        if (location is not null)
        {
            context.Response.Headers.Location = location;
        }

        if (status is < 200 or >= 300)
        {
            await context.Response.WriteAsync(ErrorBody);
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds of what was received.</summary>
    public async Task<IReadOnlyList<ReceivedWebhook>> WaitForAsync(Func<IReadOnlyList<ReceivedWebhook>, bool> condition, string what, double seconds = 30)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            var received = Received;
            if (condition(received))
            {
                return received;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"Timed out after {seconds} s waiting for {what}; received: {string.Join(", ", Received.Select(r => $"{r.Event} {r.EventId} -> {r.Answered}"))}");
    }

    /// <summary>
    /// Checks a signature header as the README tells receivers to: HMAC-SHA256 with the secret over the
    /// timestamp, a dot and the raw body, compared in constant time, the timestamp within 5 minutes.
    /// </summary>
    public static bool Verify(string secret, string? header, string body)
    {
        if (header is null)
        {
            return false;
        }

        var parts = header.Split(',').Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        if (!parts.TryGetValue("t", out var t) || !parts.TryGetValue("v1", out var v1)
            || !long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out long timestamp)
            || Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - timestamp) > 300)
        {
            return false;
        }

        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(t + "." + body));
        byte[] given;
        try
        {
            given = Convert.FromHexString(v1);
        }
        catch (FormatException)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(expected, given);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
