using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace Flagstaff.Testing;

/// <summary>
/// The server executable run as a separate process on a loopback port, as in production: for tests of
/// several nodes sharing one database, and of a server that goes away and comes back.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServerProcess(Process process, Uri address)
    {
        _process = process;
        Address = address;
    }

    public Uri Address { get; }

    /// <summary>What the process wrote, for failure messages.</summary>
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

    /// <summary>A free loopback port.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts the server over a database and waits until it is ready.</summary>
    public static async Task<ServerProcess> StartAsync(TestDatabase database, int? port = null, IDictionary<string, string>? settings = null)
    {
        var address = new Uri($"http://127.0.0.1:{port ?? FreePort()}/");
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "Flagstaff.Server.exe" : "Flagstaff.Server"))
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(address.ToString().TrimEnd('/'));
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Flagstaff__Setup__OwnerEmail"] = ServerHost.OwnerEmail,
            ["Flagstaff__Setup__OwnerPassword"] = ServerHost.OwnerPassword,
            ["Flagstaff__Provisioning__AdminToken"] = ServerHost.AdminToken,
            ["Flagstaff__Evaluation__ResyncSeconds"] = "2",
            ["Flagstaff__DataDirectory"] = "data",
        };
        if (database.Kind == DatabaseKind.Postgres)
        {
            environment["Flagstaff__Storage__PostgresConnectionString"] = database.ConnectionString;
        }
        else
        {
            environment["Flagstaff__Storage__SqlitePath"] = database.ConnectionString;
        }

        // An empty value leaves the variable out (to see what the server does without it).
        foreach (var (name, value) in settings ?? new Dictionary<string, string>())
        {
            if (value.Length == 0)
            {
                environment.Remove(name);
                start.Environment.Remove(name);
            }
            else
            {
                environment[name] = value;
            }
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the server.");
        var server = new ServerProcess(process, address);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await server.WaitUntilReadyAsync(TimeSpan.FromSeconds(60));
        return server;
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
        using var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The server exited with code {_process.ExitCode}:{Environment.NewLine}{Output}");
            }

            try
            {
                if ((await client.GetAsync("health/ready")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Not answering yet.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"The server was not ready within {timeout.TotalSeconds} s:{Environment.NewLine}{Output}");
    }

    /// <summary>A client authenticated with the provisioned admin access token.</summary>
    public HttpClient Admin()
    {
        var client = new HttpClient { BaseAddress = Address };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ServerHost.AdminToken);
        return client;
    }

    /// <summary>A client with no credentials.</summary>
    public HttpClient Anonymous() => new() { BaseAddress = Address };

    /// <summary>Stops the process at once, as a crash would.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
