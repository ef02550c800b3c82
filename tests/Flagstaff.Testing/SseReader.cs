using System.Text;
using System.Threading.Channels;

namespace Flagstaff.Testing;

/// <summary>One Server-Sent Event as received.</summary>
public sealed record SseEvent(string? Id, string Event, string Data);

/// <summary>
/// A Server-Sent Events client for tests: connects, parses events (and heartbeat comments) as they
/// arrive, and lets a test wait for the next one with a deadline.
/// </summary>
public sealed class SseReader : IAsyncDisposable
{
    private readonly Channel<SseEvent> _events = Channel.CreateUnbounded<SseEvent>();
    private readonly CancellationTokenSource _stop = new();
    private readonly HttpResponseMessage _response;
    private readonly Task _reading;

    private SseReader(HttpResponseMessage response)
    {
        _response = response;
        _reading = Task.Run(ReadAsync);
    }

    /// <summary>The status of the response.</summary>
    public System.Net.HttpStatusCode Status => _response.StatusCode;

    /// <summary>Completed when the server closes the stream.</summary>
    public Task Completion => _reading;

    /// <summary>How many heartbeat comments arrived.</summary>
    public int Heartbeats { get; private set; }

    public static async Task<SseReader> ConnectAsync(HttpClient client, string path, IDictionary<string, string>? headers = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return new SseReader(response);
    }

    private async Task ReadAsync()
    {
        try
        {
            await using var stream = await _response.Content.ReadAsStreamAsync(_stop.Token);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            string? id = null;
            string name = "message";
            var data = new StringBuilder();
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                if (line.Length == 0)
                {
                    if (data.Length > 0)
                    {
                        await _events.Writer.WriteAsync(new SseEvent(id, name, data.ToString()));
                    }

                    (id, name) = (null, "message");
                    data.Clear();
                }
                else if (line.StartsWith(':'))
                {
                    Heartbeats++;
                }
                else if (line.StartsWith("id:", StringComparison.Ordinal))
                {
                    id = line[3..].Trim();
                }
                else if (line.StartsWith("event:", StringComparison.Ordinal))
                {
                    name = line[6..].Trim();
                }
                else if (line.StartsWith("data:", StringComparison.Ordinal))
                {
                    data.Append(line[5..].TrimStart());
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException or ObjectDisposedException)
        {
            // Closed by the server, or by the test (which may dispose the response before reading began).
        }
        finally
        {
            _events.Writer.TryComplete();
        }
    }

    /// <summary>The next event; throws <see cref="TimeoutException"/> when none comes in time.</summary>
    public async Task<SseEvent> NextAsync(TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        try
        {
            return await _events.Reader.ReadAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException("No event arrived in time.");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException("The stream closed.");
        }
    }

    /// <summary>Whether an event is already waiting (without waiting for one).</summary>
    public bool TryNext(out SseEvent? next) => _events.Reader.TryRead(out next);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _response.Dispose();
        await _reading;
        _stop.Dispose();
    }
}
