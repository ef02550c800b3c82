using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Flagstaff.Testing;

/// <summary>
/// A real Prometheus (Debian's <c>prometheus</c> package) of one test's own: a temporary configuration
/// and data folder, a free loopback port, scraping one target every second. The package may also run
/// a Prometheus service of its own; this one shares nothing with it.
/// </summary>
public sealed class PrometheusProcess : IAsyncDisposable
{
    private const string Binary = "/usr/bin/prometheus";
    private readonly Process _process;
    private readonly DirectoryInfo _directory;
    private readonly HttpClient _http;
    private readonly System.Text.StringBuilder _output = new();

    private PrometheusProcess(Process process, DirectoryInfo directory, Uri address)
    {
        _process = process;
        _directory = directory;
        Address = address;
        _http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>Where its HTTP API listens.</summary>
    public Uri Address { get; }

    /// <summary>What it logged, for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts Prometheus scraping <paramref name="target"/> (<c>host:port</c>) at <paramref name="path"/> every second, with a bearer token when given.</summary>
    public static async Task<PrometheusProcess> StartAsync(string target, string path, string? bearerToken)
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"This test runs Prometheus ({Binary}, Debian's prometheus package); ./test.sh installs it.");
        }

        var directory = Directory.CreateTempSubdirectory("flagstaff-test-prometheus-");
        int port = ServerHost.FreePort();
        var authorization = bearerToken is null ? "" : $"\n    authorization:\n      type: Bearer\n      credentials: '{bearerToken}'";
        var config = Path.Combine(directory.FullName, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: flagstaff
                metrics_path: {path}{authorization}
                static_configs:
                  - targets: ['{target}']
            """);
        var start = new ProcessStartInfo(Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory.FullName,
        };
        foreach (var argument in new[]
        {
            "--config.file=" + config,
            "--storage.tsdb.path=" + Path.Combine(directory.FullName, "data"),
            "--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
            "--log.level=warn",
        })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start Prometheus.");
        var prometheus = new PrometheusProcess(process, directory, new Uri($"http://127.0.0.1:{port}/"));
        process.OutputDataReceived += (_, e) => prometheus.Append(e.Data);
        process.ErrorDataReceived += (_, e) => prometheus.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await prometheus.WaitUntilReadyAsync(TimeSpan.FromSeconds(60));
        return prometheus;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Prometheus exited with code {_process.ExitCode}:{Environment.NewLine}{Output}");
            }

            try
            {
                if ((await _http.GetAsync("-/ready")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"Prometheus was not ready within {timeout.TotalSeconds} s:{Environment.NewLine}{Output}");
    }

    /// <summary>An instant query through the HTTP API (<c>/api/v1/query</c>): the value of each series found, by its labels.</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> QueryAsync(string query)
    {
        using var response = await _http.GetAsync("api/v1/query?query=" + Uri.EscapeDataString(query));
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Prometheus refused the query {query}: {(int)response.StatusCode} {body}");
        }

        using var json = JsonDocument.Parse(body);
        var results = new List<(IReadOnlyDictionary<string, string>, double)>();
        foreach (var series in json.RootElement.GetProperty("data").GetProperty("result").EnumerateArray())
        {
            var labels = series.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal);
            results.Add((labels, double.Parse(series.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture)));
        }

        return results;
    }

    /// <summary>The scrape targets' health as Prometheus sees it (<c>/api/v1/targets</c>), for failure messages.</summary>
    public async Task<string> TargetsAsync() => await _http.GetStringAsync("api/v1/targets");

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _directory.Delete(recursive: true);
    }
}
