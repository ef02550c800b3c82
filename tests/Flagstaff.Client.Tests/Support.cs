using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Flagstaff.Evaluation;
using Flagstaff.Storage;
using Flagstaff.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Flagstaff.Client.Tests;

/// <summary>One real server on loopback (SQLite) per test class.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public ServerHost Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await ServerHost.StartAsync(DatabaseKind.Sqlite);

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>A project of its own with a server key, and the management calls tests make.</summary>
public sealed class Environment(ServerHost server, string project, string key, string keyId)
{
    public const string Name = "production";

    public ServerHost Server { get; } = server;

    public string Project { get; } = project;

    public string ServerKey { get; } = key;

    public string KeyId { get; } = keyId;

    public static async Task<Environment> CreateAsync(ServerHost server)
    {
        using var admin = server.Admin();
        var project = "p-" + Guid.NewGuid().ToString("N")[..10];
        await (await admin.PostJsonAsync("api/projects", new JsonObject { ["key"] = project, ["name"] = "Project " + project })).ReadJsonAsync(HttpStatusCode.Created);
        var created = await (await admin.PostJsonAsync($"api/projects/{project}/environments/{Name}/keys", JsonNode.Parse("""{"name":"sdk","kind":"server"}"""))).ReadJsonAsync(HttpStatusCode.Created);
        var secret = created["secret"]!.GetValue<string>();
        await KnownAsync(server, secret);
        return new Environment(server, project, secret, created["key"]!["id"]!.GetValue<string>());
    }

    /// <summary>Waits until the server's key directory (refreshed in the background after a change) knows a key.</summary>
    public static async Task KnownAsync(ServerHost server, string secret)
    {
        using var http = server.Anonymous();
        http.DefaultRequestHeaders.Add("X-Tggl-Api-Key", secret);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        HttpResponseMessage response;
        while ((response = await http.GetAsync("config")).StatusCode == HttpStatusCode.Unauthorized)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The server still refuses the new key: {await response.Content.ReadAsStringAsync()}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>A boolean flag on for the given user ids (or for everyone when none are given).</summary>
    public async Task BooleanFlagAsync(string flag, params string[] userIds)
    {
        using var admin = Server.Admin();
        await (await admin.PostJsonAsync($"api/projects/{Project}/flags", new JsonObject { ["key"] = flag, ["name"] = flag })).ReadJsonAsync(HttpStatusCode.Created);
        await TargetAsync(flag, userIds.Length == 0 ? """{"enabled":true,"rules":[],"defaultServe":{"variation":"on"}}""" : OnFor(userIds));
    }

    /// <summary>A string flag serving <paramref name="value"/> to everyone.</summary>
    public async Task StringFlagAsync(string flag, string value)
    {
        using var admin = Server.Admin();
        var body = JsonNode.Parse($$"""
            {"key":"{{flag}}","name":"{{flag}}","valueType":"string",
             "variations":[{"key":"value","value":"{{value}}"},{"key":"off","fallback":true}]}
            """)!;
        await (await admin.PostJsonAsync($"api/projects/{Project}/flags", body)).ReadJsonAsync(HttpStatusCode.Created);
        await TargetAsync(flag, """{"enabled":true,"rules":[],"defaultServe":{"variation":"value"}}""");
    }

    public static string OnFor(params string[] userIds) =>
        $$$"""{"enabled":true,"rules":[{"clauses":[{"property":"userId","operator":"STR_EQUAL","values":[{{{string.Join(",", userIds.Select(u => "\"" + u + "\""))}}}]}],"serve":{"variation":"on"}}],"defaultServe":{"variation":"off"}}""";

    /// <summary>Replaces a flag's targeting (reading its version first).</summary>
    public Task TargetAsync(string flag, string targeting) => SettledAsync(async () =>
    {
        using var admin = Server.Admin();
        var path = $"api/projects/{Project}/flags/{flag}/environments/{Name}";
        var version = (await admin.GetAsync(path)).ETag();
        await (await admin.PutJsonAsync(path, JsonNode.Parse(targeting), version)).ReadJsonAsync();
    });

    public Task SwitchAsync(string flag, bool on) => SettledAsync(async () =>
    {
        using var admin = Server.Admin();
        await (await admin.PostJsonAsync($"api/projects/{Project}/flags/{flag}/environments/{Name}/{(on ? "on" : "off")}", null)).ReadJsonAsync();
    });

    /// <summary>
    /// Makes a change and waits until the server serves it: its in-memory snapshots catch up with the
    /// database in the background, so a client connecting at once could still get the configuration
    /// before the change (and then the change as a patch).
    /// </summary>
    public async Task SettledAsync(Func<Task> change)
    {
        using var http = Server.Anonymous();
        http.DefaultRequestHeaders.Add("X-Tggl-Api-Key", ServerKey);
        var before = await (await http.GetAsync("config")).Content.ReadAsStringAsync();
        await change();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (await (await http.GetAsync("config")).Content.ReadAsStringAsync() == before)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The server never served the change.");
            }

            await Task.Delay(10);
        }
    }

    public async Task RevokeKeyAsync()
    {
        using var admin = Server.Admin();
        await (await admin.DeleteAsync($"api/projects/{Project}/environments/{Name}/keys/{KeyId}", null)).ReadJsonAsync();
    }

    public FlagstaffClientOptions Options(string? cachePath = null) => new()
    {
        BaseUrl = Server.Address,
        ServerKey = ServerKey,
        InitialReconnectDelay = TimeSpan.FromMilliseconds(50),
        MaxReconnectDelay = TimeSpan.FromMilliseconds(400),
        RequestTimeout = TimeSpan.FromSeconds(5),
        CachePath = cachePath ?? TempFile(),
        ReportInterval = TimeSpan.FromMilliseconds(200),
    };

    public static string TempFile() => Path.Combine(Path.GetTempPath(), "flagstaff-client-tests", Guid.NewGuid().ToString("N"), "config.json");
}

public static class Wait
{
    /// <summary>Waits for a condition, failing loudly (with what was last seen) if it is not met in time. Not a timing assertion: the bound only stops a broken test.</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Still waiting after {seconds} s for: {what}");
            }

            await Task.Delay(20);
        }
    }
}

public static class Contexts
{
    public static EvaluationContext User(string id) => EvaluationContext.CreateBuilder().Set("userId", id).Build();
}

/// <summary>Counts the requests a client sends, by path.</summary>
public sealed class CountingHandler() : DelegatingHandler(new SocketsHttpHandler())
{
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);

    public int Count(string path) => _counts.GetValueOrDefault(path);

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        _counts.AddOrUpdate(request.RequestUri!.AbsolutePath, 1, (_, n) => n + 1);
        return base.SendAsync(request, cancellationToken);
    }
}

/// <summary>
/// A tiny HTTP server on loopback whose answers a test writes, for fault injection only (malformed
/// events, silence, unsupported streaming). Real behaviour is always tested against the real server.
/// </summary>
public sealed class FakeServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public ConcurrentQueue<(string Path, string? LastEventId)> Requests { get; } = new();

    public static async Task<FakeServer> StartAsync(Func<HttpContext, int, Task> handle)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        FakeServer? server = null;
        int count = 0;
        app.Run(context =>
        {
            server!.Requests.Enqueue((context.Request.Path, context.Request.Headers["Last-Event-ID"].FirstOrDefault()));
            return handle(context, Interlocked.Increment(ref count));
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server = new FakeServer(app, new Uri(address.TrimEnd('/') + "/"));
        return server;
    }

    public static async Task WriteEventsAsync(HttpContext context, string text)
    {
        context.Response.ContentType = "text/event-stream";
        await context.Response.WriteAsync(text);
        await context.Response.Body.FlushAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

public static class Usage
{
    /// <summary>What the server stored for a flag (after making it write what it aggregated).</summary>
    public static async Task<IReadOnlyList<UsageCount>> ReadAsync(ServerHost server, string project, string flag)
    {
        await server.Services.GetRequiredService<Flagstaff.Server.Reports.UsageAggregator>().FlushAsync(CancellationToken.None);
        var store = server.Services.GetRequiredService<Store>();
        return await store.ReadAsync(async s =>
        {
            var p = await s.GetProjectAsync(project);
            var environment = (await s.ListEnvironmentsAsync(p!.Id)).Single(e => e.Key == Environment.Name);
            return await s.ListUsageAsync(environment.Id, flag, 0, long.MaxValue);
        });
    }
}
