using System.Net.Http.Headers;
using Flagstaff.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Flagstaff.Testing;

/// <summary>
/// The real Flagstaff server (the same services and pipeline as the executable) listening on a
/// loopback port, over a real database. Tests talk HTTP to it, as any client would.
/// </summary>
public sealed class ServerHost : IAsyncDisposable
{
    public const string OwnerEmail = "owner@example.com";
    public const string OwnerPassword = "owner password 1";
    public const string AdminToken = "fs_pat_provisionedadmintoken0123456789";

    private readonly WebApplication _app;
    private readonly TestDatabase? _ownedDatabase;

    private ServerHost(WebApplication app, Uri address, TestDatabase database, TestDatabase? ownedDatabase)
    {
        _app = app;
        Address = address;
        Database = database;
        _ownedDatabase = ownedDatabase;
    }

    /// <summary>Where the server listens (http://127.0.0.1:port/).</summary>
    public Uri Address { get; }

    /// <summary>What the server logged (warnings and errors), for assertions and for diagnosing failures.</summary>
    public LogCollector Logs { get; private init; } = null!;

    /// <summary>The database it uses.</summary>
    public TestDatabase Database { get; }

    /// <summary>The server's services, for tests that must look inside.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>
    /// Starts a server on a new database (or on <paramref name="database"/>, shared with other servers).
    /// The owner account and an admin access token are provisioned from configuration. It listens on
    /// <paramref name="port"/>, or on a free port when 0 (a fixed port lets a test stop a server and
    /// start another where clients expect it).
    /// </summary>
    /// <param name="kind">The database to create when <paramref name="database"/> is not given.</param>
    /// <param name="database">A database to use (shared with other servers), or null for a new one.</param>
    /// <param name="settings">Configuration to add or override.</param>
    /// <param name="services">Changes to the service registrations.</param>
    /// <param name="provisionOwner">False to start like a fresh install: no account, a setup token in the log.</param>
    /// <param name="port">The loopback port to listen on; 0 for a free one.</param>
    public static async Task<ServerHost> StartAsync(
        DatabaseKind kind, TestDatabase? database = null, IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null, bool provisionOwner = true, int port = 0)
    {
        var owned = database is null ? await TestDatabase.CreateAsync(kind) : null;
        var db = database ?? owned!;
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Testing",
            ContentRootPath = AppContext.BaseDirectory,
            ApplicationName = typeof(Startup).Assembly.GetName().Name,
        });
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var logs = new LogCollector();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Logging.AddFilter((category, level) => level >= LogLevel.Warning);
        var configuration = new Dictionary<string, string?>
        {
            ["Flagstaff:Storage:PostgresConnectionString"] = db.Kind == DatabaseKind.Postgres ? db.ConnectionString : "",
            ["Flagstaff:Storage:SqlitePath"] = db.Kind == DatabaseKind.Sqlite ? db.ConnectionString : null,
            ["Flagstaff:Evaluation:ResyncSeconds"] = "2",

            // Beside the tests (the content root), not in the user's data folder that the server defaults to.
            ["Flagstaff:DataDirectory"] = "data",
        };
        if (provisionOwner)
        {
            configuration["Flagstaff:Setup:OwnerEmail"] = OwnerEmail;
            configuration["Flagstaff:Setup:OwnerPassword"] = OwnerPassword;
            configuration["Flagstaff:Setup:OwnerName"] = "Olive Owner";
            configuration["Flagstaff:Provisioning:AdminToken"] = AdminToken;
        }

        builder.Configuration.AddInMemoryCollection(configuration);
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        builder.AddFlagstaffServer();
        services?.Invoke(builder.Services);
        var app = builder.Build();
        await Startup.InitializeAsync(app.Services);
        app.UseFlagstaffServer();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ServerHost(app, new Uri(address.TrimEnd('/') + "/"), db, owned) { Logs = logs };
    }

    /// <summary>
    /// A client with no credentials, which keeps the session cookie once it signs in and sends the header
    /// that the server requires of changes made with the cookie (as the dashboard does).
    /// </summary>
    public HttpClient Anonymous()
    {
        var client = new HttpClient(new ServerLogHandler(Logs) { InnerHandler = new HttpClientHandler { UseCookies = true, CookieContainer = new System.Net.CookieContainer() } }) { BaseAddress = Address };
        client.DefaultRequestHeaders.Add("X-Flagstaff-Request", "1");
        return client;
    }

    /// <summary>A client authenticated with the provisioned admin access token.</summary>
    public HttpClient Admin() => WithToken(AdminToken);

    /// <summary>A client authenticated with a personal access token.</summary>
    public HttpClient WithToken(string token)
    {
        var client = new HttpClient(new ServerLogHandler(Logs) { InnerHandler = new HttpClientHandler() }) { BaseAddress = Address };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>A loopback port that is free now (for a server that must come back on the same port).</summary>
    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_ownedDatabase is not null)
        {
            await _ownedDatabase.DisposeAsync();
        }
    }
}

/// <summary>Collects a server's log lines (with exceptions) in memory.</summary>
public sealed class LogCollector : ILoggerProvider
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCollector collector, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            collector._lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)}{(exception is null ? "" : Environment.NewLine + exception)}");
    }
}

/// <summary>Attaches the server's log to requests that failed on the server, so the test failure shows why.</summary>
internal sealed class ServerLogHandler(LogCollector logs) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if ((int)response.StatusCode >= 500)
        {
            request.Options.Set(HttpJson.ServerLogKey, string.Join(Environment.NewLine, logs.Lines.TakeLast(5)));
        }

        return response;
    }
}
