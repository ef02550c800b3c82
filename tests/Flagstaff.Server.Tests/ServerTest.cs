using System.Text.Json.Nodes;
using Flagstaff.Evaluation;
using Flagstaff.Server.Services;
using Flagstaff.Storage;
using Flagstaff.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Flagstaff.Server.Tests;

/// <summary>One real server per test class and database.</summary>
public abstract class ServerFixture(DatabaseKind kind) : IAsyncLifetime
{
    public DatabaseKind Kind { get; } = kind;

    public ServerHost Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await ServerHost.StartAsync(Kind, settings: Settings);

    /// <summary>Configuration the fixture's server starts with, beyond the defaults.</summary>
    protected virtual IDictionary<string, string?>? Settings => null;

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}

public sealed class SqliteServer() : ServerFixture(DatabaseKind.Sqlite);

public sealed class PostgresServer() : ServerFixture(DatabaseKind.Postgres);

/// <summary>
/// The base of the server's integration tests: each test works in projects of its own, and after
/// each test the compiled configuration of every environment must pass the strict loader.
/// </summary>
public abstract class ServerTest(ServerFixture fixture) : IAsyncLifetime
{
    protected ServerHost Server => fixture.Server;

    protected HttpClient Admin { get; } = fixture.Server.Admin();

    protected static string UniqueKey(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..10];

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        var store = Server.Services.GetRequiredService<Store>();
        var compiler = Server.Services.GetRequiredService<EnvironmentCompiler>();
        foreach (var environment in await store.ReadAsync(s => s.ListAllEnvironmentsAsync()))
        {
            var compiled = await compiler.CompileAsync(environment.Id);
            var result = FlagConfiguration.Load(compiled!.ConfigJson(), LoadMode.Strict);
            Assert.True(result.IsValid, $"environment {environment.Key} compiles to an invalid configuration: {string.Join("; ", result.Errors)}");
        }

        Admin.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Creates a project (default environments) and returns its key.</summary>
    protected async Task<string> NewProjectAsync(JsonNode? environments = null)
    {
        var key = UniqueKey("p");
        await Admin.CreateProjectAsync(key, environments);
        return key;
    }

    protected Task<JsonNode> CreateFlagAsync(string project, string key, JsonObject? extra = null) => Admin.CreateFlagAsync(project, key, extra);

    protected static JsonNode Json(string json) => JsonNode.Parse(json)!;

    /// <summary>A client signed in (with the session cookie) as the owner.</summary>
    protected async Task<HttpClient> OwnerAsync()
    {
        var client = Server.Anonymous();
        await (await client.PostJsonAsync("api/auth/login", new JsonObject { ["email"] = ServerHost.OwnerEmail, ["password"] = ServerHost.OwnerPassword })).ReadJsonAsync();
        return client;
    }
}
