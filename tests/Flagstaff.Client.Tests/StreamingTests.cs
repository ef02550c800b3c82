using System.Text.Json.Nodes;
using Flagstaff.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Flagstaff.Client.Tests;

/// <summary>The client against the real server on loopback: the stream, patches, keys, usage.</summary>
public sealed class StreamingTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerHost Server => fixture.Server;

    [Fact]
    public async Task A_flag_change_reaches_the_client_through_the_stream()
    {
        var environment = await Environment.CreateAsync(Server);
        await environment.BooleanFlagAsync("checkout", "u-1");
        await using var client = new FlagstaffClient(environment.Options());
        Assert.True(await client.WaitUntilReadyAsync(TimeSpan.FromSeconds(20)));
        Assert.True(client.GetBoolean("checkout", Contexts.User("u-1"), false));
        Assert.False(client.GetBoolean("checkout", Contexts.User("u-2"), false));

        var changes = new List<ConfigurationChangedEventArgs>();
        client.ConfigurationChanged += (_, e) => { lock (changes) { changes.Add(e); } };
        await environment.TargetAsync("checkout", Environment.OnFor("u-1", "u-2"));

        await Wait.UntilAsync(() => client.GetBoolean("checkout", Contexts.User("u-2"), false), "u-2 to see the flag on");
        await Wait.UntilAsync(() => { lock (changes) { return changes.Count > 0; } }, "the change event");
        lock (changes)
        {
            var change = Assert.Single(changes);
            Assert.Equal(["checkout"], change.ChangedSlugs);
            Assert.Equal("stream", change.Source);
        }

        // The kill switch: switched off, the flag is no longer served at all.
        await environment.SwitchAsync("checkout", on: false);
        await Wait.UntilAsync(() => client.GetBooleanDetail("checkout", Contexts.User("u-1"), false).Reason == FlagReason.FlagNotFound, "the flag to disappear");
        Assert.Equal(ClientState.Ready, client.State);
        Assert.NotNull(client.LastSyncedAt);
    }

    [Fact]
    public async Task Polling_mode_reads_the_configuration_with_its_etag()
    {
        var environment = await Environment.CreateAsync(Server);
        await environment.StringFlagAsync("banner", "hello");
        var options = environment.Options();
        options.Mode = SyncMode.Polling;
        options.PollInterval = TimeSpan.FromMilliseconds(100);
        await using var client = new FlagstaffClient(options);
        Assert.True(await client.WaitUntilReadyAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal("hello", client.GetString("banner", Contexts.User("u"), "none"));
        var version = client.ConfigurationVersion;
        Assert.NotNull(version);

        await environment.SwitchAsync("banner", on: false);
        await Wait.UntilAsync(() => client.GetString("banner", Contexts.User("u"), "none") == "none", "the poll to see the flag off");
        Assert.True(client.ConfigurationVersion > version);
    }

    [Fact]
    public async Task A_revoked_key_closes_the_stream_gives_one_clear_error_and_no_hammering()
    {
        var environment = await Environment.CreateAsync(Server);
        await environment.BooleanFlagAsync("beta");
        using var handler = new CountingHandler();
        using var http = new HttpClient(handler);
        var errors = new List<ClientErrorEventArgs>();
        await using var client = new FlagstaffClient(environment.Options(), httpClient: http);
        client.Error += (_, e) => { lock (errors) { errors.Add(e); } };
        Assert.True(await client.WaitUntilReadyAsync(TimeSpan.FromSeconds(20)));

        await environment.RevokeKeyAsync();
        await Wait.UntilAsync(() => client.State == ClientState.Unauthorized, "the client to see the key refused");

        // It keeps serving the last configuration, and stops contacting the server.
        Assert.True(client.IsActive("beta", Contexts.User("u")));
        int streams = handler.Count("/stream"), polls = handler.Count("/config");
        await Task.Delay(1000);
        Assert.Equal(streams, handler.Count("/stream"));
        Assert.Equal(polls, handler.Count("/config"));
        lock (errors)
        {
            var refused = Assert.Single(errors, e => e.Kind == ClientErrorKind.Unauthorized);
            Assert.Equal(401, refused.StatusCode);
            Assert.Contains("revoked", refused.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(environment.ServerKey, refused.Message, StringComparison.Ordinal);
        }

        Assert.False(await client.WaitUntilReadyAsync(TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task A_client_key_is_refused_at_once()
    {
        var environment = await Environment.CreateAsync(Server);
        using var admin = Server.Admin();
        var created = await (await admin.PostJsonAsync($"api/projects/{environment.Project}/environments/{Environment.Name}/keys", JsonNode.Parse("""{"name":"web","kind":"client"}"""))).ReadJsonAsync(System.Net.HttpStatusCode.Created);
        var options = environment.Options();
        options.ServerKey = created["secret"]!.GetValue<string>();
        await Environment.KnownAsync(Server, options.ServerKey);
        await using var client = new FlagstaffClient(options);

        Assert.False(await client.WaitUntilReadyAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal(ClientState.Unauthorized, client.State);
        Assert.Equal(FlagReason.NotReady, client.GetBooleanDetail("anything", Contexts.User("u"), true).Reason);
    }

    [Fact]
    public async Task Two_flags_changed_in_one_change_are_always_seen_together_by_concurrent_readers()
    {
        var environment = await Environment.CreateAsync(Server);
        using var admin = Server.Admin();
        await (await admin.PostJsonAsync($"api/projects/{environment.Project}/segments", JsonNode.Parse("""{"key":"pilots","name":"Pilots","clauses":[],"idProperty":"userId","ids":["nobody"]}"""))).ReadJsonAsync(System.Net.HttpStatusCode.Created);
        foreach (var flag in new[] { "left", "right" })
        {
            await (await admin.PostJsonAsync($"api/projects/{environment.Project}/flags", new JsonObject { ["key"] = flag, ["name"] = flag })).ReadJsonAsync(System.Net.HttpStatusCode.Created);
            await environment.TargetAsync(flag, """{"enabled":true,"rules":[{"clauses":[{"segment":"pilots"}],"serve":{"variation":"on"}}],"defaultServe":{"variation":"off"}}""");
        }

        await using var client = new FlagstaffClient(environment.Options());
        Assert.True(await client.WaitUntilReadyAsync(TimeSpan.FromSeconds(20)));
        var pilot = Contexts.User("u-7");

        using var stop = new CancellationTokenSource();
        long torn = 0, seenOn = 0, seenOff = 0, evaluations = 0;
        var readers = Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var snapshot = client.GetSnapshot();
                bool left = snapshot.IsActive("left", pilot);
                bool right = snapshot.IsActive("right", pilot);
                if (left != right)
                {
                    Interlocked.Increment(ref torn);
                }

                Interlocked.Increment(ref left ? ref seenOn : ref seenOff);
                Interlocked.Increment(ref evaluations);
            }
        })).ToArray();

        // One segment change recompiles both flags in one configuration version: one patch.
        for (int i = 0; i < 6; i++)
        {
            var path = $"api/projects/{environment.Project}/segments/pilots";
            var version = (await admin.GetAsync(path)).ETag();
            var ids = i % 2 == 0 ? """["u-7"]""" : """["nobody"]""";
            await (await admin.PatchJsonAsync(path, JsonNode.Parse($$"""{"ids":{{ids}}}"""), version)).ReadJsonAsync();
            bool expected = i % 2 == 0;
            await Wait.UntilAsync(() => client.IsActive("left", pilot) == expected, $"change {i} to arrive");
        }

        await stop.CancelAsync();
        await Task.WhenAll(readers);
        Assert.Equal(0, torn);
        Assert.True(seenOn > 0 && seenOff > 0, $"readers saw both states ({seenOn} on, {seenOff} off of {evaluations})");
    }

    [Fact]
    public async Task Usage_reports_reach_the_server_in_the_wire_format()
    {
        var environment = await Environment.CreateAsync(Server);
        await environment.BooleanFlagAsync("search", "u-1");
        var options = environment.Options();
        options.AppName = "checkout";
        await using (var client = new FlagstaffClient(options))
        {
            Assert.True(await client.WaitUntilReadyAsync(TimeSpan.FromSeconds(20)));
            var threads = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
            {
                for (int i = 0; i < 250; i++)
                {
                    client.GetBoolean("search", Contexts.User(i % 10 == 0 ? "u-1" : "v-" + (t * 1000 + i)), false);
                }
            })).ToArray();
            await Task.WhenAll(threads);
            client.GetBoolean("unknown-flag", Contexts.User("u-1"), true);
        }

        // Disposing flushed the last report: every evaluation is counted exactly once.
        var counts = await Usage.ReadAsync(Server, environment.Project, "search");
        Assert.Equal(1000, counts.Sum(c => c.Count));
        Assert.Equal(100, counts.Where(c => c.Value == "true").Sum(c => c.Count));
        Assert.Equal(900, counts.Where(c => c.Value == "false").Sum(c => c.Count));
        // A flag the project does not have is not counted: reports come with public keys, and
        // invented slugs must not grow storage (they are counted as dropped instead).
        Assert.Equal(0, (await Usage.ReadAsync(Server, environment.Project, "unknown-flag")).Sum(c => c.Count));

        var store = Server.Services.GetRequiredService<Flagstaff.Storage.Store>();
        var properties = await store.ReadAsync(async s => await s.ListContextPropertiesAsync((await s.GetProjectAsync(environment.Project))!.Id));
        Assert.Contains(properties, p => p.Key == "userId");
    }

    [Fact]
    public async Task A_slow_server_never_blocks_an_evaluation()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var slow = await ServerHost.StartAsync(DatabaseKind.Sqlite, services: s => s.AddSingleton<Microsoft.AspNetCore.Hosting.IStartupFilter>(new HoldFilter(gate.Task)));
        var environment = await Environment.CreateAsync(slow);
        await environment.BooleanFlagAsync("gated");
        await using var client = new FlagstaffClient(environment.Options());

        // The server holds every SDK request: evaluations answer at once, with the caller's default.
        for (int i = 0; i < 100; i++)
        {
            var detail = client.GetBooleanDetail("gated", Contexts.User("u"), false);
            Assert.False(detail.Value);
            Assert.Equal(FlagReason.NotReady, detail.Reason);
        }

        Assert.False(await client.WaitUntilReadyAsync(TimeSpan.FromMilliseconds(300)));
        gate.SetResult();
        Assert.True(await client.WaitUntilReadyAsync(TimeSpan.FromSeconds(20)));
        Assert.True(client.GetBoolean("gated", Contexts.User("u"), false));
    }

    private sealed class HoldFilter(Task release) : Microsoft.AspNetCore.Hosting.IStartupFilter
    {
        public Action<Microsoft.AspNetCore.Builder.IApplicationBuilder> Configure(Action<Microsoft.AspNetCore.Builder.IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, following) =>
            {
                if (context.Request.Headers.UserAgent.ToString().StartsWith("Flagstaff.Client/", StringComparison.Ordinal))
                {
                    await release.WaitAsync(context.RequestAborted);
                }

                await following(context);
            });
            next(app);
        };
    }
}
