using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Flagstaff.Testing;

/// <summary>
/// A PostgreSQL server of one test's own, on a free loopback port, that the test may stop or freeze
/// (SIGSTOP of the postmaster and every backend: the sockets stay open and nothing answers, as with a
/// hung host) without disturbing the shared test server. PostgreSQL refuses to run as root, so as root
/// it runs as the <c>postgres</c> user, as <c>./test.sh</c> does.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _data;

    private PrivatePostgres(string bin, string data, int port)
    {
        _bin = bin;
        _data = data;
        Port = port;
        ConnectionString = $"Host=127.0.0.1;Port={port.ToString(CultureInfo.InvariantCulture)};Username=postgres;Database=postgres";
    }

    /// <summary>The port it listens on.</summary>
    public int Port { get; }

    /// <summary>A connection string to its <c>postgres</c> database.</summary>
    public string ConnectionString { get; }

    /// <summary>Creates a cluster in a temporary folder and starts it.</summary>
    public static async Task<PrivatePostgres> StartAsync()
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "pg_ctl"))).OrderBy(d => d, StringComparer.Ordinal).LastOrDefault()
            : null;
        if (bin is null)
        {
            throw new InvalidOperationException("A private PostgreSQL needs the PostgreSQL server binaries (/usr/lib/postgresql/*/bin); ./test.sh installs them.");
        }

        var data = Directory.CreateTempSubdirectory("flagstaff-test-pg-").FullName;
        var server = new PrivatePostgres(bin, data, ServerHost.FreePort());
        if (IsRoot)
        {
            await RunAsync("chown", "postgres:postgres", data);
        }

        await server.AsPostgresAsync("initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync");
        await server.StartServerAsync();
        return server;
    }

    /// <summary>Starts (again) the stopped server, waiting until it accepts connections.</summary>
    public Task StartServerAsync() => AsPostgresAsync(
        "pg_ctl", "-D", _data, "-l", Path.Combine(_data, "server.log"), "-w", "-t", "60", "start",
        "-o", $"-p {Port.ToString(CultureInfo.InvariantCulture)} -k {_data} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=100");

    /// <summary>Stops the server at once (as a crash would: no shutdown checkpoint).</summary>
    public Task StopAsync() => AsPostgresAsync("pg_ctl", "-D", _data, "-m", "immediate", "-w", "stop");

    /// <summary>Freezes the postmaster and every backend (SIGSTOP).</summary>
    public Task FreezeAsync() => SignalAsync("STOP");

    /// <summary>Lets a frozen server go on (SIGCONT).</summary>
    public Task ThawAsync() => SignalAsync("CONT");

    /// <summary>Creates an empty database on this server for a Flagstaff server.</summary>
    public async Task<TestDatabase> CreateDatabaseAsync() => await TestDatabase.CreateAsync(DatabaseKind.Postgres, ConnectionString);

    private async Task SignalAsync(string signal)
    {
        var processes = PostgresProcesses();
        await RunAsync("kill", [$"-{signal}", .. processes.Select(p => p.ToString(CultureInfo.InvariantCulture))]);
    }

    // The postmaster (first line of postmaster.pid) and its children, found in /proc.
    private List<int> PostgresProcesses()
    {
        int postmaster = int.Parse(File.ReadLines(Path.Combine(_data, "postmaster.pid")).First(), CultureInfo.InvariantCulture);
        var processes = new List<int> { postmaster };
        foreach (var directory in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                continue;
            }

            try
            {
                // "pid (name) state ppid ...": the name may hold spaces, so fields are counted after ')'.
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(fields[1], CultureInfo.InvariantCulture) == postmaster)
                {
                    processes.Add(pid);
                }
            }
            catch (IOException)
            {
                // The process ended meanwhile.
            }
        }

        return processes;
    }

    private static bool IsRoot => Environment.UserName == "root";

    private Task AsPostgresAsync(string tool, params string[] arguments) =>
        IsRoot ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_bin, tool), .. arguments]) : RunAsync(Path.Combine(_bin, tool), arguments);

    private static async Task RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed ({process.ExitCode}): {await output}{await error}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await ThawAsync();
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            // Already stopped.
        }

        try
        {
            await StopAsync();
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }

        Directory.Delete(_data, recursive: true);
    }
}
