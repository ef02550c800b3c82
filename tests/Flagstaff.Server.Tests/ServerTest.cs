using System.Text.Json.Nodes;
using Flagstaff.DataPlane.Changes;
using Flagstaff.DataPlane.Snapshots;
using Flagstaff.Evaluation;
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
        // Every environment compiles to a valid configuration, and what this node serves (its snapshots,
        // brought up to date by the patches its changes committed) is what compiling it afresh gives.
        var store = Server.Services.GetRequiredService<Store>();
        var source = new StoreChangeSource(store);
        var served = Server.Services.GetRequiredService<SnapshotCache>();
        foreach (var environment in await store.ReadAsync(s => s.ListAllEnvironmentsAsync()))
        {
            var compiled = (await source.LoadAsync(environment.Id, CancellationToken.None))!;
            var result = FlagConfiguration.Load(compiled.ConfigJson, LoadMode.Strict);
            Assert.True(result.IsValid, $"environment {environment.Key} compiles to an invalid configuration: {string.Join("; ", result.Errors)}");
            if (served.TryGet(environment.Id, out var snapshot) && snapshot.Version == compiled.Version)
            {
                Assert.Equal(Describe(compiled), Describe(snapshot));
                Assert.Equal(compiled.Active.Select(f => f.Slug).Order(StringComparer.Ordinal), snapshot.Active.Select(f => f.Slug).Order(StringComparer.Ordinal));
            }
        }

        Admin.Dispose();
        GC.SuppressFinalize(this);
    }

    private static IEnumerable<string> Describe(EnvironmentSnapshot snapshot) =>
        snapshot.Flags.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => $"{f.Key} enabled={f.Value.Enabled} {System.Text.Encoding.UTF8.GetString(f.Value.Json)}");

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
