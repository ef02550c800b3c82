using System.Net;
using System.Security.Claims;
using System.Text.Json.Nodes;
using Flagstaff.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Flagstaff.Client.AspNetCore.Tests;

/// <summary>One real Flagstaff server on loopback (SQLite) per test class.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public ServerHost Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await ServerHost.StartAsync(DatabaseKind.Sqlite);

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>A project with a server key on the real server, and the management calls tests make.</summary>
public sealed class FlagEnvironment(ServerHost server, string project, string key)
{
    public ServerHost Server { get; } = server;

    public string Project { get; } = project;

    public string ServerKey { get; } = key;

    public static async Task<FlagEnvironment> CreateAsync(ServerHost server)
    {
        using var admin = server.Admin();
        var project = "p-" + Guid.NewGuid().ToString("N")[..10];
        await (await admin.PostJsonAsync("api/projects", new JsonObject { ["key"] = project, ["name"] = project })).ReadJsonAsync(HttpStatusCode.Created);
        var created = await (await admin.PostJsonAsync($"api/projects/{project}/environments/production/keys", JsonNode.Parse("""{"name":"app","kind":"server"}"""))).ReadJsonAsync(HttpStatusCode.Created);
        var secret = created["secret"]!.GetValue<string>();
        using var http = server.Anonymous();
        http.DefaultRequestHeaders.Add("X-Tggl-Api-Key", secret);
        for (int i = 0; (await http.GetAsync("config")).StatusCode == HttpStatusCode.Unauthorized; i++)
        {
            Assert.True(i < 1000, "the server never learnt the new key");
            await Task.Delay(20);
        }

        return new FlagEnvironment(server, project, secret);
    }

    /// <summary>A boolean flag on for some user ids (everyone when none).</summary>
    public async Task FlagAsync(string flag, params string[] userIds)
    {
        using var admin = Server.Admin();
        await (await admin.PostJsonAsync($"api/projects/{Project}/flags", new JsonObject { ["key"] = flag, ["name"] = flag })).ReadJsonAsync(HttpStatusCode.Created);
        await TargetAsync(flag, userIds);
    }

    public async Task TargetAsync(string flag, params string[] userIds)
    {
        using var admin = Server.Admin();
        var path = $"api/projects/{Project}/flags/{flag}/environments/production";
        var targeting = userIds.Length == 0
            ? """{"enabled":true,"rules":[],"defaultServe":{"variation":"on"}}"""
            : $$$"""{"enabled":true,"rules":[{"clauses":[{"property":"userId","operator":"STR_EQUAL","values":[{{{string.Join(",", userIds.Select(u => "\"" + u + "\""))}}}]}],"serve":{"variation":"on"}}],"defaultServe":{"variation":"off"}}""";
        using var http = Server.Anonymous();
        http.DefaultRequestHeaders.Add("X-Tggl-Api-Key", ServerKey);
        var before = await (await http.GetAsync("config")).Content.ReadAsStringAsync();
        var version = (await admin.GetAsync(path)).ETag();
        await (await admin.PutJsonAsync(path, JsonNode.Parse(targeting), version)).ReadJsonAsync();

        // The server's snapshots catch up in the background: wait until it serves the change, so
        // that an application starting now gets it in its first configuration.
        for (int i = 0; await (await http.GetAsync("config")).Content.ReadAsStringAsync() == before; i++)
        {
            Assert.True(i < 2000, "the server never served the change");
            await Task.Delay(10);
        }
    }

    public Dictionary<string, string?> Settings() => new()
    {
        ["Flagstaff:BaseUrl"] = Server.Address.ToString(),
        ["Flagstaff:ServerKey"] = ServerKey,
        ["Flagstaff:PersistConfiguration"] = "false",
        ["Flagstaff:InitialReconnectDelay"] = "00:00:00.05",
        ["Flagstaff:MaxReconnectDelay"] = "00:00:00.4",
    };
}

/// <summary>An application under test, on TestServer, with a test sign-in: the <c>X-User</c> header names the user.</summary>
public static class TestApp
{
    public static async Task<WebApplication> StartAsync(
        IDictionary<string, string?> settings,
        Action<WebApplicationBuilder>? configure,
        Action<WebApplication> map)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing", ApplicationName = typeof(TestApp).Assembly.GetName().Name });
        builder.WebHost.UseTestServer();
        builder.Configuration.AddInMemoryCollection(settings);
        configure?.Invoke(builder);
        var app = builder.Build();
        app.Use((context, next) =>
        {
            if (context.Request.Headers["X-User"].FirstOrDefault() is { } user)
            {
                context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, user)], "Test"));
            }

            return next(context);
        });
        map(app);
        await app.StartAsync();
        return app;
    }

    public static HttpRequestMessage Get(string path, string? user = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (user is not null)
        {
            request.Headers.Add("X-User", user);
        }

        return request;
    }

    public static async Task UntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Still waiting for: " + what);
            }

            await Task.Delay(20);
        }
    }

    public static FlagstaffClient Client(this WebApplication app) => app.Services.GetRequiredService<FlagstaffClient>();

    public static HttpClient Http(this WebApplication app) => app.GetTestClient();

    internal static RequestFlags Flags(this HttpContext context) => context.RequestServices.GetRequiredService<RequestFlags>();
}
