using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Flagstaff.Management.Webhooks;

/// <summary>How one attempt went: delivered (2xx), or why not.</summary>
/// <param name="Delivered">Whether the receiver accepted it.</param>
/// <param name="Status">The receiver's HTTP status, if it answered.</param>
/// <param name="Error">Why it was not delivered (written by Flagstaff, never taken from the response).</param>
public sealed record WebhookResult(bool Delivered, int? Status, string? Error);

/// <summary>
/// Sends signed webhook requests. Redirects are not followed, no proxy is used, the address connected
/// to is checked at connect time, an attempt has a deadline, response headers are bounded and the
/// response body is never read.
/// </summary>
public sealed class WebhookSender : IDisposable
{
    public const string SignatureHeader = "Flagstaff-Signature";
    public const string EventIdHeader = "Flagstaff-Event-Id";
    public const string EventHeader = "Flagstaff-Event";

    private readonly HttpClient _client;
    private readonly TimeSpan _timeout;

    public WebhookSender(IOptions<WebhookOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value;
        Addresses = new WebhookAddresses(settings.Networks);
        _timeout = settings.Timeout;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = _timeout,
            MaxResponseHeadersLength = 16,
            MaxConnectionsPerServer = 4,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectCallback = ConnectAsync,
        };
        _client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _client.DefaultRequestHeaders.UserAgent.ParseAdd("Flagstaff-Webhooks/1");
    }

    /// <summary>The address policy in force.</summary>
    public WebhookAddresses Addresses { get; }

    /// <summary>The signature header's value: <c>t=unix-seconds,v1=hex(HMAC-SHA256(secret, "t.body"))</c>.</summary>
    public static string Sign(string secret, long timestamp, string body)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var signed = Encoding.UTF8.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + "." + body);
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed);
        return string.Create(CultureInfo.InvariantCulture, $"t={timestamp},v1={Convert.ToHexStringLower(mac)}");
    }

    /// <summary>Posts one delivery; never throws for what the receiver or the network did.</summary>
    public async Task<WebhookResult> SendAsync(string url, string eventId, string eventType, string body, string secret, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return new WebhookResult(false, null, "The URL is not an http or https URL.");
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add(EventIdHeader, eventId);
        request.Headers.Add(EventHeader, eventType);
        request.Headers.Add(SignatureHeader, Sign(secret, now.ToUnixTimeSeconds(), body));
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_timeout);
        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
            int status = (int)response.StatusCode;
            return status switch
            {
                >= 200 and < 300 => new WebhookResult(true, status, null),
                >= 300 and < 400 => new WebhookResult(false, status, string.Create(CultureInfo.InvariantCulture, $"The receiver answered {status} (a redirect); redirects are not followed.")),
                _ => new WebhookResult(false, status, string.Create(CultureInfo.InvariantCulture, $"The receiver answered {status}.")),
            };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new WebhookResult(false, null, string.Create(CultureInfo.InvariantCulture, $"No answer within {_timeout.TotalSeconds:0.#} s."));
        }
        catch (HttpRequestException e) when (Find<WebhookAddressRefusedException>(e) is { } refused)
        {
            return new WebhookResult(false, null, refused.Message);
        }
        catch (HttpRequestException e)
        {
            return new WebhookResult(false, null, "The request failed: " + (Find<SocketException>(e)?.Message ?? e.Message));
        }
    }

    private static T? Find<T>(Exception e) where T : Exception
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is T found)
            {
                return found;
            }
        }

        return null;
    }

    /// <summary>
    /// Resolves the host and connects only to an address the policy allows: the check is on the address
    /// the socket connects to, so no later answer of a name server can lead elsewhere.
    /// </summary>
    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = await ResolveAsync(host, cancellationToken).ConfigureAwait(false);
        Refuse(host, addresses);
        Exception? last = null;
        foreach (var resolved in addresses)
        {
            // An IPv4-mapped address is the IPv4 address itself (and needs no dual-mode socket).
            var address = resolved.IsIPv4MappedToIPv6 ? resolved.MapToIPv4() : resolved;
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }

    /// <summary>The addresses of a host (a literal address in any notation the platform accepts is itself).</summary>
    public static async Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        var bare = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        return IPAddress.TryParse(bare, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(bare, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Throws when any address of the host is refused: a name that also resolves to an internal address
    /// is not used at all, rather than reached on whichever address happens to answer.
    /// </summary>
    public void Refuse(string host, IReadOnlyList<IPAddress> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        if (addresses.Count == 0)
        {
            throw new WebhookAddressRefusedException($"{host} has no address.");
        }

        foreach (var address in addresses)
        {
            if (Addresses.Refusal(address) is { } kind)
            {
                var what = address.ToString() == host.Trim('[', ']') ? address.ToString() : $"{host} resolves to {address}, which";
                throw new WebhookAddressRefusedException(
                    $"{what} is {kind}: webhooks do not reach internal networks unless Flagstaff:Webhooks:AllowedNetworks allows it.");
            }
        }
    }

    public void Dispose() => _client.Dispose();
}
