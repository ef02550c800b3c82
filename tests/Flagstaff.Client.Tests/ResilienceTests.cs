using Flagstaff.Testing;
using Microsoft.AspNetCore.Http;

namespace Flagstaff.Client.Tests;

/// <summary>Servers that are down, die, restart, go silent or send garbage.</summary>
public sealed class ResilienceTests
{
    [Fact]
    public async Task With_the_server_down_at_start_the_client_serves_its_persisted_configuration_then_converges()
    {
        var database = await TestDatabase.CreateAsync(DatabaseKind.Sqlite);
        int port = ServerHost.FreePort();
        var cache = Environment.TempFile();
        Environment environment;
        await using (var first = await ServerHost.StartAsync(DatabaseKind.Sqlite, database, port: port))
        {
            environment = await Environment.CreateAsync(first);
            await environment.BooleanFlagAsync("migration", "u-1");
            await using var client = new FlagstaffClient(environment.Options(cache));
            Assert.True(await client.WaitUntilReadyAsync(TimeSpan.FromSeconds(20)));
            await Wait.UntilAsync(() => File.Exists(cache), "the configuration to be persisted");
        }

        // The server is gone: a new client starts from the file and says it is stale.
        await using (var offline = new FlagstaffClient(environment.Options(cache)))
        {
            await Wait.UntilAsync(() => offline.State == ClientState.Stale, "the persisted configuration to load");
            Assert.True(offline.GetBoolean("migration", Contexts.User("u-1"), false));
            Assert.False(await offline.WaitUntilReadyAsync(TimeSpan.FromMilliseconds(300)));

            // The server comes back (with a change made meanwhile): the client converges.
            await using var second = await ServerHost.StartAsync(DatabaseKind.Sqlite, database, port: port);
            var again = new Environment(second, environment.Project, environment.ServerKey, environment.KeyId);
            await again.TargetAsync("migration", Environment.OnFor("u-1", "u-2"));
            Assert.True(await offline.WaitUntilReadyAsync(TimeSpan.FromSeconds(30)));
            await Wait.UntilAsync(() => offline.GetBoolean("migration", Contexts.User("u-2"), false), "the change made while the client was away");
        }

        await database.DisposeAsync();
    }

    [Fact]
    public async Task With_the_server_down_and_nothing_persisted_the_client_serves_defaults_then_converges()
    {
        var database = await TestDatabase.CreateAsync(DatabaseKind.Sqlite);
        int port = ServerHost.FreePort();
        Environment environment;
        await using (var setup = await ServerHost.StartAsync(DatabaseKind.Sqlite, database, port: port))
        {
            environment = await Environment.CreateAsync(setup);
            await environment.StringFlagAsync("tier", "gold");
        }

        await using var client = new FlagstaffClient(environment.Options());
        var detail = client.GetStringDetail("tier", Contexts.User("u"), "bronze");
        Assert.Equal("bronze", detail.Value);
        Assert.Equal(FlagReason.NotReady, detail.Reason);
        Assert.False(await client.WaitUntilReadyAsync(TimeSpan.FromMilliseconds(300)));
        Assert.Equal(ClientState.Initializing, client.State);

        await using var server = await ServerHost.StartAsync(DatabaseKind.Sqlite, database, port: port);
        Assert.True(await client.WaitUntilReadyAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("gold", client.GetString("tier", Contexts.User("u"), "bronze"));
        await server.DisposeAsync();
        await database.DisposeAsync();
    }

    [Fact]
    public async Task The_server_killed_mid_stream_and_restarted_is_reconnected_to_and_changes_flow_again()
    {
        var database = await TestDatabase.CreateAsync(DatabaseKind.Sqlite);
        int port = ServerHost.FreePort();
        var first = await ServerHost.StartAsync(DatabaseKind.Sqlite, database, port: port);
        var environment = await Environment.CreateAsync(first);
        await environment.BooleanFlagAsync("kill-switch", "u-1");
        var states = new List<ClientState>();
        await using var client = new FlagstaffClient(environment.Options());
        client.StateChanged += (_, e) => { lock (states) { states.Add(e.Current); } };
        Assert.True(await client.WaitUntilReadyAsync(TimeSpan.FromSeconds(20)));

        await first.DisposeAsync();
        await Wait.UntilAsync(() => client.State == ClientState.Stale, "the client to notice the server is gone");
        Assert.True(client.GetBoolean("kill-switch", Contexts.User("u-1"), false), "the last good configuration keeps serving");

        await using var second = await ServerHost.StartAsync(DatabaseKind.Sqlite, database, port: port);
        await Wait.UntilAsync(() => client.State == ClientState.Ready, "the client to reconnect", 30);
        var again = new Environment(second, environment.Project, environment.ServerKey, environment.KeyId);
        await again.SwitchAsync("kill-switch", on: false);
        await Wait.UntilAsync(() => !client.GetBoolean("kill-switch", Contexts.User("u-1"), false), "the change after the restart");
        lock (states)
        {
            Assert.Equal([ClientState.Ready, ClientState.Stale, ClientState.Ready], states);
        }

        await second.DisposeAsync();
        await database.DisposeAsync();
    }

    private const string Config = """
        id: 7
        event: config
        data: {"version":7,"flags":[{"slug":"beta","conditions":[],"defaultVariation":{"active":true,"value":true}}]}


        """;

    [Fact]
    public async Task A_malformed_event_makes_the_client_reconnect_and_keep_its_last_good_configuration()
    {
        await using var fake = await FakeServer.StartAsync(async (context, n) =>
        {
            if (context.Request.Path != "/stream")
            {
                context.Response.StatusCode = 503;
                return;
            }

            // First connection: a good configuration, then a broken patch. Later ones: a good patch.
            await FakeServer.WriteEventsAsync(context, n == 1
                ? Config + "id: 8\nevent: patch\ndata: {\"version\":8,\"flags\":[{\"slug\":\n\n"
                : "retry: 1000\n\nid: 9\nevent: patch\ndata: {\"version\":9,\"flags\":[{\"slug\":\"gamma\",\"conditions\":[],\"defaultVariation\":{\"active\":true,\"value\":\"g\"}}],\"deleted\":[]}\n\n");
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { });
        });
        var errors = new List<ClientErrorEventArgs>();
        await using var client = new FlagstaffClient(Options(fake));
        client.Error += (_, e) => { lock (errors) { errors.Add(e); } };

        await Wait.UntilAsync(() => client.GetString("gamma", Contexts.User("u"), "none") == "g", "the patch after reconnecting");
        Assert.True(client.GetBoolean("beta", Contexts.User("u"), false), "the configuration before the bad event is kept");
        Assert.Equal(9, client.ConfigurationVersion);
        var requests = fake.Requests.Where(r => r.Path == "/stream").ToList();
        Assert.Null(requests[0].LastEventId);
        Assert.Equal("7", requests[1].LastEventId);
        lock (errors)
        {
            Assert.Contains(errors, e => e.Kind == ClientErrorKind.MalformedData);
        }
    }

    [Fact]
    public async Task A_silent_connection_is_taken_for_dead_and_reopened()
    {
        await using var fake = await FakeServer.StartAsync(async (context, n) =>
        {
            if (context.Request.Path != "/stream")
            {
                context.Response.StatusCode = 503;
                return;
            }

            await FakeServer.WriteEventsAsync(context, Config);
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { });
        });
        var options = Options(fake);
        options.HeartbeatTimeout = TimeSpan.FromMilliseconds(500);
        var errors = new List<ClientErrorEventArgs>();
        await using var client = new FlagstaffClient(options);
        client.Error += (_, e) => { lock (errors) { errors.Add(e); } };

        await Wait.UntilAsync(() => fake.Requests.Count(r => r.Path == "/stream") >= 2, "a second connection");
        Assert.True(client.GetBoolean("beta", Contexts.User("u"), false));
        lock (errors)
        {
            Assert.Contains(errors, e => e.Kind == ClientErrorKind.DeadConnection);
        }
    }

    [Fact]
    public async Task Where_streaming_is_unsupported_the_client_polls_with_its_etag()
    {
        await using var fake = await FakeServer.StartAsync(async (context, n) =>
        {
            if (context.Request.Path == "/stream")
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            context.Response.Headers.ETag = "\"3\"";
            if (context.Request.Headers.IfNoneMatch == "\"3\"")
            {
                context.Response.StatusCode = StatusCodes.Status304NotModified;
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""[{"slug":"polled","conditions":[],"defaultVariation":{"active":true,"value":12}}]""");
        });
        var options = Options(fake);
        options.PollInterval = TimeSpan.FromMilliseconds(50);
        await using var client = new FlagstaffClient(options);

        Assert.True(await client.WaitUntilReadyAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal(12, client.GetInt64("polled", Contexts.User("u"), 0));
        await Wait.UntilAsync(() => fake.Requests.Count(r => r.Path == "/config") >= 3, "a few polls");
        Assert.Single(fake.Requests, r => r.Path == "/stream");
        Assert.Equal(3, client.ConfigurationVersion);
    }

    private static FlagstaffClientOptions Options(FakeServer fake) => new()
    {
        BaseUrl = fake.Address,
        ServerKey = "fs_server_fake",
        InitialReconnectDelay = TimeSpan.FromMilliseconds(50),
        MaxReconnectDelay = TimeSpan.FromMilliseconds(200),
        PersistConfiguration = false,
        ReportUsage = false,
    };
}
