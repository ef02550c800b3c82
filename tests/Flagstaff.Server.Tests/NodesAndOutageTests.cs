using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Flagstaff.Testing;
using Npgsql;

namespace Flagstaff.Server.Tests;

/// <summary>Several server processes on one PostgreSQL database, and a database that goes away.</summary>
public sealed class NodesAndOutageTests
{
    private static JsonNode Json(string json) => JsonNode.Parse(json)!;

    private static async Task<string> SetUpAsync(HttpClient admin, string project)
    {
        await (await admin.PostJsonAsync("api/projects", new JsonObject { ["key"] = project, ["name"] = project })).ReadJsonAsync(HttpStatusCode.Created);
        await (await admin.PostJsonAsync($"api/projects/{project}/flags", Json("""{"key":"search","name":"Search"}"""))).ReadJsonAsync(HttpStatusCode.Created);
        await (await admin.PutJsonAsync($"api/projects/{project}/flags/search/environments/production", Json("""
            {"enabled":true,"rules":[{"clauses":[{"property":"accountId","operator":"STR_EQUAL","values":["a1"]}],"serve":{"variation":"on"}}],"defaultServe":{"variation":"off"}}
            """), "\"1\"")).ReadJsonAsync();
        var key = await (await admin.PostJsonAsync($"api/projects/{project}/environments/production/keys", Json("""{"name":"backend","kind":"server"}"""))).ReadJsonAsync(HttpStatusCode.Created);
        return key["secret"]!.GetValue<string>();
    }

    private static HttpClient WithKey(HttpClient client, string key)
    {
        client.DefaultRequestHeaders.Add("X-Tggl-Api-Key", key);
        return client;
    }

    private static async Task<T> EventuallyAsync<T>(Func<Task<T?>> probe, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(15))
        {
            if (await probe() is { } value)
            {
                return value;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"Timed out waiting for {what}.");
    }

    [Fact]
    public async Task A_change_made_through_one_node_reaches_a_stream_subscriber_of_another()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseKind.Postgres);
        await using var first = await ServerProcess.StartAsync(database);
        await using var second = await ServerProcess.StartAsync(database);
        using var admin = first.Admin();
        var key = await SetUpAsync(admin, "shop");

        // The key was created on the first node; the second learns of it through the database.
        var stream = await EventuallyAsync(async () =>
        {
            var reader = await SseReader.ConnectAsync(WithKey(second.Anonymous(), key), "stream");
            if (reader.Status == HttpStatusCode.OK)
            {
                return reader;
            }

            await reader.DisposeAsync();
            return null;
        }, "the second node to accept the key");
        await using (stream)
        {
            // The second node may know the key a moment before its snapshot has the flag: then the
            // flag follows in a patch.
            var config = await stream.NextAsync();
            Assert.Equal("config", config.Event);
            var flags = JsonNode.Parse(config.Data)!["flags"]!.AsArray();
            while (flags.Count == 0)
            {
                var catchUp = await stream.NextAsync();
                Assert.Equal("patch", catchUp.Event);
                flags = JsonNode.Parse(catchUp.Data)!["flags"]!.AsArray();
            }

            Assert.Equal("search", flags[0]!["slug"]!.GetValue<string>());

            var changed = Stopwatch.StartNew();
            await (await admin.PostJsonAsync("api/projects/shop/flags/search/environments/production/off", null)).ReadJsonAsync();
            var patch = await stream.NextAsync();
            changed.Stop();
            Assert.Equal("patch", patch.Event);
            Assert.Equal("search", JsonNode.Parse(patch.Data)!["deleted"]![0]!.GetValue<string>());
            Assert.True(changed.Elapsed < TimeSpan.FromSeconds(10), second.Output);
        }

        // Evaluation on the second node follows too.
        using var evaluate = WithKey(second.Anonymous(), key);
        var answer = await (await evaluate.PostJsonAsync("flags", Json("""{"accountId":"a1"}"""))).ReadJsonAsync();
        Assert.False(answer.AsObject().ContainsKey("search"));

        // A key revoked through the first node stops working on the second.
        var keys = await admin.GetJsonAsync("api/projects/shop/environments/production/keys");
        await (await admin.DeleteAsync($"api/projects/shop/environments/production/keys/{keys[0]!["id"]}", null)).ReadJsonAsync();
        await EventuallyAsync(async () => (await evaluate.PostJsonAsync("flags", Json("{}"))).StatusCode == HttpStatusCode.Unauthorized ? "revoked" : null, "the second node to refuse the revoked key");
    }

    [Fact]
    public async Task When_the_database_goes_away_evaluation_keeps_answering_from_the_last_snapshot()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseKind.Postgres);
        await using var server = await ServerHost.StartAsync(DatabaseKind.Postgres, database, new Dictionary<string, string?> { ["Flagstaff:Evaluation:ResyncSeconds"] = "0.5" });
        using var admin = server.Admin();
        var key = await SetUpAsync(admin, "shop");
        using var evaluate = WithKey(server.Anonymous(), key);
        Assert.True((await (await evaluate.PostJsonAsync("flags", Json("""{"accountId":"a1"}"""))).ReadJsonAsync()).AsObject().ContainsKey("search"));

        await SetConnectionsAsync(database, allowed: false);
        try
        {
            var degraded = await EventuallyAsync(async () =>
            {
                var ready = await server.Anonymous().GetJsonAsync("health/ready");
                return ready["status"]!.GetValue<string>() == "degraded" ? ready : null;
            }, "readiness to say degraded");
            Assert.NotNull(degraded["storage"]);

            for (int i = 0; i < 20; i++)
            {
                var answer = await (await evaluate.PostJsonAsync("flags", Json("""{"accountId":"a1"}"""))).ReadJsonAsync();
                Assert.True(answer.AsObject().ContainsKey("search"));
                Assert.Equal(HttpStatusCode.OK, (await evaluate.GetAsync("config")).StatusCode);
            }

            // Changes are refused with a clear answer, not half-applied.
            var refused = await (await admin.PostJsonAsync("api/projects/shop/flags/search/environments/production/off", null)).ReadJsonAsync(HttpStatusCode.ServiceUnavailable);
            Assert.Contains("database", refused["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        finally
        {
            await SetConnectionsAsync(database, allowed: true);
        }

        await EventuallyAsync(async () => (await server.Anonymous().GetJsonAsync("health/ready"))["status"]!.GetValue<string>() == "ready" ? "ready" : null, "readiness to recover");
        await (await admin.PostJsonAsync("api/projects/shop/flags/search/environments/production/off", null)).ReadJsonAsync();
        Assert.False((await (await evaluate.PostJsonAsync("flags", Json("""{"accountId":"a1"}"""))).ReadJsonAsync()).AsObject().ContainsKey("search"));
    }

    private static async Task SetConnectionsAsync(TestDatabase database, bool allowed)
    {
        await using var connection = new NpgsqlConnection(Environment.GetEnvironmentVariable("FLAGSTAFF_TEST_POSTGRES"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"ALTER DATABASE {database.DatabaseName} ALLOW_CONNECTIONS {(allowed ? "true" : "false")};" +
            (allowed ? "" : $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database.DatabaseName}' AND pid <> pg_backend_pid();"),
            connection);
        await command.ExecuteNonQueryAsync();
        NpgsqlConnection.ClearAllPools();
    }
}
