using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

// Usage: Flagstaff.LoadTest --url http://127.0.0.1:5080 --key fs_server_... --admin fs_pat_... --project p --flag f
//        [--environment production] [--count 10000] [--changes 20] [--warmup 0] [--pid <server pid>] [--hold <seconds>]
var options = Options.Parse(args);
var address = new Uri(options["url"]);
int count = int.Parse(options.GetValueOrDefault("count", "10000"), CultureInfo.InvariantCulture);
int changes = int.Parse(options.GetValueOrDefault("changes", "20"), CultureInfo.InvariantCulture);
// Changes delivered first and not measured: the server's code is still being tiered up by the JIT.
int warmup = int.Parse(options.GetValueOrDefault("warmup", "0"), CultureInfo.InvariantCulture);
int? pid = options.TryGetValue("pid", out var p) ? int.Parse(p, CultureInfo.InvariantCulture) : null;

long rssBefore = Rss(pid);
Console.WriteLine($"server memory before: {rssBefore / 1024.0 / 1024.0:F1} MiB");

var subscribers = new List<Subscriber>(count);
var connecting = Stopwatch.StartNew();
for (int i = 0; i < count; i += 200)
{
    var batch = Enumerable.Range(i, Math.Min(200, count - i)).Select(_ => Subscriber.ConnectAsync(address, options["key"])).ToList();
    subscribers.AddRange(await Task.WhenAll(batch));
}

await Task.WhenAll(subscribers.Select(s => s.Configured.Task));
Console.WriteLine($"{count} streams open and configured in {connecting.Elapsed.TotalSeconds:F1} s");
await Task.Delay(TimeSpan.FromSeconds(5));
long rssAfter = Rss(pid);
if (pid is not null)
{
    Console.WriteLine($"server memory with {count} streams: {rssAfter / 1024.0 / 1024.0:F1} MiB; {(rssAfter - rssBefore) / (double)count / 1024.0:F1} KiB per stream");
}

using var admin = new HttpClient { BaseAddress = address };
admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options["admin"]);
var environment = options.GetValueOrDefault("environment", "production");
var latencies = new List<double>();
var cpuBefore = CpuTime(pid);

// The changes alternate off and on: start from on, so that the first is a change and not a no-op.
(await admin.PostAsync($"api/projects/{options["project"]}/flags/{options["flag"]}/environments/{environment}/on", null)).EnsureSuccessStatusCode();
await Task.Delay(1000);
for (int change = -warmup; change < changes; change++)
{
    if (change == 0)
    {
        cpuBefore = CpuTime(pid);
    }

    foreach (var s in subscribers)
    {
        s.Expect();
    }

    var action = (change + warmup) % 2 == 0 ? "off" : "on";
    var response = await admin.PostAsync($"api/projects/{options["project"]}/flags/{options["flag"]}/environments/{environment}/{action}", null);
    response.EnsureSuccessStatusCode();
    var answered = Stopwatch.GetTimestamp();
    try
    {
        await Task.WhenAll(subscribers.Select(s => s.Patched.Task)).WaitAsync(TimeSpan.FromSeconds(30));
    }
    catch (TimeoutException)
    {
        var missing = subscribers.Where(s => !s.Patched.Task.IsCompleted).ToList();
        Console.WriteLine($"change {change}: {missing.Count} streams did not receive it within 30 s ({missing.Count(s => s.Ended)} of them closed by the server)");
        throw;
    }

    if (change >= 0)
    {
        latencies.AddRange(subscribers.Select(s => Stopwatch.GetElapsedTime(answered, s.PatchedAt).TotalMilliseconds));
    }

    await Task.Delay(500);
}

var cpuAfter = CpuTime(pid);
if (pid is not null)
{
    var user = cpuAfter.User - cpuBefore.User;
    var system = cpuAfter.System - cpuBefore.System;
    Console.WriteLine($"server CPU time during the changes: {user.TotalMilliseconds:F0} ms user, {system.TotalMilliseconds:F0} ms system; {(user + system).TotalMicroseconds / Math.Max(1, latencies.Count):F1} µs per event delivered (the 500 ms pauses between changes included)");
    long rssChanged = Rss(pid);
    Console.WriteLine($"server memory after the changes: {rssChanged / 1024.0 / 1024.0:F1} MiB; {(rssChanged - rssBefore) / (double)count / 1024.0:F1} KiB per stream (what the fan-outs left in the server's buffer pools and heap included)");
}

if (latencies.Count > 0)
{
    latencies.Sort();
    double Percentile(double q) => latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(q * latencies.Count) - 1)];
    Console.WriteLine($"{changes} changes x {count} streams: from the API's response to each subscriber's receipt p50 {Percentile(0.5):F1} ms, p99 {Percentile(0.99):F1} ms, max {latencies[^1]:F1} ms");
    Console.WriteLine("(negative values: the event arrived before the API call returned)");
}

if (options.TryGetValue("hold", out var hold))
{
    // Keeps the streams open for inspecting the server (dotnet-gcdump, dotnet-counters).
    Console.WriteLine($"holding {count} streams for {hold} s");
    await Task.Delay(TimeSpan.FromSeconds(double.Parse(hold, CultureInfo.InvariantCulture)));
}

foreach (var s in subscribers)
{
    s.Dispose();
}

// User and system CPU time of a process, from /proc/<pid>/stat (in clock ticks of 10 ms).
static (TimeSpan User, TimeSpan System) CpuTime(int? pid)
{
    if (pid is null)
    {
        return default;
    }

    var fields = File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
    return (TimeSpan.FromMilliseconds(long.Parse(fields[11], CultureInfo.InvariantCulture) * 10), TimeSpan.FromMilliseconds(long.Parse(fields[12], CultureInfo.InvariantCulture) * 10));
}

static long Rss(int? pid)
{
    if (pid is null)
    {
        return 0;
    }

    var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
}

/// <summary>One SSE connection over a raw socket: cheap enough to hold ten thousand from one process.</summary>
internal sealed class Subscriber : IDisposable
{
    private readonly Socket _socket;

    private Subscriber(Socket socket) => _socket = socket;

    public TaskCompletionSource Configured { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Patched { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public long PatchedAt { get; private set; }

    public bool Ended { get; private set; }

    public void Expect() => Patched = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public static async Task<Subscriber> ConnectAsync(Uri address, string key)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(address.Host, address.Port);
        var request = $"GET /stream HTTP/1.1\r\nHost: {address.Authority}\r\nX-Tggl-Api-Key: {key}\r\nAccept: text/event-stream\r\n\r\n";
        await socket.SendAsync(Encoding.ASCII.GetBytes(request));
        var subscriber = new Subscriber(socket);
        _ = subscriber.ReadAsync();
        return subscriber;
    }

    private async Task ReadAsync()
    {
        // The receipt time is taken before anything else, and events are found by scanning bytes: the
        // tool's own work must not count as the server's latency.
        var buffer = new byte[4096];
        int kept = 0;
        try
        {
            while (true)
            {
                int read = await _socket.ReceiveAsync(buffer.AsMemory(kept));
                long at = Stopwatch.GetTimestamp();
                if (read == 0)
                {
                    Ended = true;
                    return;
                }

                var seen = buffer.AsSpan(0, kept + read);
                if (!Configured.Task.IsCompleted && seen.IndexOf("event: config"u8) >= 0)
                {
                    Configured.TrySetResult();
                }
                else if (seen.IndexOf("event: patch"u8) >= 0 && !Patched.Task.IsCompleted)
                {
                    PatchedAt = at;
                    Patched.TrySetResult();
                }

                // Keep the last bytes in case a marker is split between two reads.
                kept = Math.Min(16, seen.Length);
                seen[^kept..].CopyTo(buffer);
            }
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose() => _socket.Dispose();
}

internal static class Options
{
    public static Dictionary<string, string> Parse(string[] args)
    {
        var options = new Dictionary<string, string>();
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            options[args[i].TrimStart('-')] = args[i + 1];
        }

        foreach (var required in new[] { "url", "key", "admin", "project", "flag" })
        {
            if (!options.ContainsKey(required))
            {
                throw new ArgumentException($"--{required} is required.");
            }
        }

        return options;
    }
}
