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

    [Fact]
    public async Task A_database_that_freezes_or_stops_is_noticed_within_seconds_and_writes_fail_fast_with_503()
    {
        await using var postgres = await PrivatePostgres.StartAsync();
        var database = await postgres.CreateDatabaseAsync();

        // 2 s instead of the default 5 s, so that the bound below is far from both it and the driver's
        // own defaults (15 s to open a connection, 30 s for a command) on a loaded machine.
        await using var server = await ServerHost.StartAsync(DatabaseKind.Postgres, database, new Dictionary<string, string?> { ["Flagstaff:Storage:CommandTimeoutSeconds"] = "2" });
        using var admin = server.Admin();
        var key = await SetUpAsync(admin, "shop");
        using var evaluate = WithKey(server.Anonymous(), key);
        using var anonymous = server.Anonymous();
        Assert.Equal("ready", (await anonymous.GetJsonAsync("health/ready"))["status"]!.GetValue<string>());

        // Frozen: the sockets stay open and nothing answers, so only a probe with a deadline notices.
        await postgres.FreezeAsync();
        try
        {
            await EventuallyAsync(() => ReadinessAsync(anonymous, "degraded"), "readiness to notice the frozen database");
            await AssertNoConnectionDetailsAsync(anonymous, postgres);
            Assert.True((await (await evaluate.PostJsonAsync("flags", Json("""{"accountId":"a1"}"""))).ReadJsonAsync()).AsObject().ContainsKey("search"));
            await AssertWriteRefusedAsync(server, postgres);
        }
        finally
        {
            await postgres.ThawAsync();
        }

        await EventuallyAsync(() => ReadinessAsync(anonymous, "ready"), "readiness to recover after the freeze");
        await (await admin.PostJsonAsync("api/projects/shop/flags/search/environments/production/off", null)).ReadJsonAsync();

        // Stopped: connections are refused.
        await postgres.StopAsync();
        try
        {
            await EventuallyAsync(() => ReadinessAsync(anonymous, "degraded"), "readiness to notice the stopped database");
            await AssertNoConnectionDetailsAsync(anonymous, postgres);
            await AssertWriteRefusedAsync(server, postgres);
        }
        finally
        {
            await postgres.StartServerAsync();
        }

        await EventuallyAsync(() => ReadinessAsync(anonymous, "ready"), "readiness to recover after the restart");
        await (await admin.PostJsonAsync("api/projects/shop/flags/search/environments/production/on", null)).ReadJsonAsync();
    }

    private static async Task<JsonNode?> ReadinessAsync(HttpClient client, string status)
    {
        var ready = await client.GetJsonAsync("health/ready");
        return ready["status"]!.GetValue<string>() == status ? ready : null;
    }

    // The readiness check is anonymous: it says what is wrong, never where the database is. It is read
    // for a few probe intervals, since the first failure (a broken pooled connection) and the later ones
    // (connection refused, naming the host) are worded differently by the driver.
    private static async Task AssertNoConnectionDetailsAsync(HttpClient client, PrivatePostgres postgres)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(6))
        {
            var readiness = await client.GetJsonAsync("health/ready");
            var body = readiness.ToJsonString();
            Assert.Equal("degraded", readiness["status"]!.GetValue<string>());
            Assert.NotNull(readiness["storage"]);
            Assert.DoesNotContain(postgres.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), body, StringComparison.Ordinal);
            Assert.DoesNotContain("127.0.0.1", body, StringComparison.Ordinal);
            await Task.Delay(250);
        }
    }

    // The write is bounded by the command timeout (2 s here, and 2 s more for Npgsql's cancellation),
    // not by how long the outage lasts: the client's own timeout fails the test otherwise.
    private static async Task AssertWriteRefusedAsync(ServerHost server, PrivatePostgres postgres)
    {
        using var bounded = server.Admin();
        bounded.Timeout = TimeSpan.FromSeconds(12);
        var response = await bounded.PostJsonAsync("api/projects/shop/flags/search/environments/production/on", null);
        var refused = await response.ReadJsonAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("database", refused["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain(postgres.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), refused.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_full_database_refuses_changes_with_507_saying_it_is_full()
    {
        // The size limit gives SQLite's SQLITE_FULL exactly as a full disk does, without filling one.
        await using var server = await ServerHost.StartAsync(DatabaseKind.Sqlite, settings: new Dictionary<string, string?> { ["Flagstaff:Storage:SqliteMaxSizeMegabytes"] = "1" });
        using var admin = server.Admin();
        var key = await SetUpAsync(admin, "shop");
        using var evaluate = WithKey(server.Anonymous(), key);

        var description = new string('d', 5_000);
        var response = new HttpResponseMessage();
        for (int i = 0; i < 1_000; i++)
        {
            response.Dispose();
            response = await admin.PostJsonAsync("api/projects/shop/flags", new JsonObject { ["key"] = $"filler-{i}", ["name"] = "Filler", ["description"] = description });
            if (response.StatusCode != HttpStatusCode.Created)
            {
                break;
            }
        }

        var full = await response.ReadJsonAsync(HttpStatusCode.InsufficientStorage);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("full", full["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain("cannot be reached", full["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain(server.Logs.Lines, line => line.StartsWith("Error", StringComparison.Ordinal));

        // Reading and evaluating go on.
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("api/projects/shop/flags")).StatusCode);
        Assert.True((await (await evaluate.PostJsonAsync("flags", Json("""{"accountId":"a1"}"""))).ReadJsonAsync()).AsObject().ContainsKey("search"));
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
