using System.Net;
using System.Text.Json.Nodes;
using Flagstaff.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Flagstaff.Client.Tests;

/// <summary>
/// The migration helper against the real server: migration flags made through the management API,
/// stages per context from targeting, the compare rate from the configuration, and measurements that
/// reach the server with exact counts.
/// </summary>
public sealed class MigrationServerTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerHost Server => fixture.Server;

    [Fact]
    public async Task The_stage_follows_targeting_a_few_ids_then_a_sticky_percentage_then_the_kill_switch()
    {
        var environment = await Environment.CreateAsync(Server);
        await CreateMigrationFlagAsync(environment, "orders", """{"path":"full","compareRate":0.5}""");
        await environment.TargetAsync("orders", Targeting(live: ["u-1", "u-2"], livePercent: 20, rest: "dualwrite"));
        await using var client = new FlagstaffClient(environment.Options());
        Assert.True(await client.WaitUntilReadyAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken));
        var rig = new MigrationRig(client, "orders");
        var ct = TestContext.Current.CancellationToken;

        // The hand-picked ids read new (compared with old); the others by their bucket.
        foreach (var id in new[] { "u-1", "u-2" })
        {
            var result = await rig.Migration.ReadAsync(Contexts.User(id), "r", ct);
            Assert.Equal(MigrationStage.Live, result.Stage);
            Assert.Equal(["new.read", "old.read"], rig.TakeCalls());
        }

        var users = Enumerable.Range(0, 2000).Select(i => "user-" + i).ToArray();
        var live = users.Where(u => rig.Migration.GetStage(Contexts.User(u)) == MigrationStage.Live).ToHashSet();
        Assert.All(users, u => Assert.Contains(rig.Migration.GetStage(Contexts.User(u)), new[] { MigrationStage.Live, MigrationStage.DualWrite }));

        // Binomial(2000, 0.2): standard deviation 18 around 400; the bounds are 5 deviations away.
        Assert.InRange(live.Count, 310, 490);
        Assert.Equal(0.5, client.GetSnapshot().CompareRate("orders"));

        // Sticky: the same users, the same stage; and growing the share keeps everyone who was in.
        Assert.All(users, u => Assert.Equal(live.Contains(u), rig.Migration.GetStage(Contexts.User(u)) == MigrationStage.Live));
        await environment.TargetAsync("orders", Targeting(live: ["u-1", "u-2"], livePercent: 50, rest: "dualwrite"));
        await Wait.UntilAsync(() => users.Count(u => rig.Migration.GetStage(Contexts.User(u)) == MigrationStage.Live) > 600, "the 50 % split to arrive");
        Assert.All(live, u => Assert.Equal(MigrationStage.Live, rig.Migration.GetStage(Contexts.User(u))));

        // A migration flag switched off sends everyone to the old side.
        await environment.SwitchAsync("orders", on: false);
        await Wait.UntilAsync(() => rig.Migration.GetStage(Contexts.User("u-1")) == MigrationStage.Off, "the switch to arrive");
        Assert.All(users, u => Assert.Equal(MigrationStage.Off, rig.Migration.GetStage(Contexts.User(u))));
        rig.TakeCalls();
        await rig.Migration.WriteAsync(Contexts.User("u-1"), new Record("r", "v"), ct);
        Assert.Equal(["old.write"], rig.TakeCalls());
    }

    [Fact]
    public async Task A_changed_compare_rate_reaches_the_client_with_the_flag()
    {
        var environment = await Environment.CreateAsync(Server);
        await CreateMigrationFlagAsync(environment, "orders", """{"path":"full","compareRate":1}""");
        await environment.TargetAsync("orders", """{"enabled":true,"rules":[],"defaultServe":{"variation":"shadow"}}""");
        await using var client = new FlagstaffClient(environment.Options());
        Assert.True(await client.WaitUntilReadyAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken));
        var rig = new MigrationRig(client, "orders");
        var ct = TestContext.Current.CancellationToken;
        Assert.True((await rig.Migration.ReadAsync(Contexts.User("u"), "r", ct)).Consistent);

        using (var admin = Server.Admin())
        {
            var url = $"api/projects/{environment.Project}/flags/orders";
            var version = (await admin.GetAsync(url)).ETag();
            await (await admin.PatchJsonAsync(url, JsonNode.Parse("""{"migration":{"compareRate":0}}"""), version)).ReadJsonAsync();
        }

        await Wait.UntilAsync(() => client.GetSnapshot().CompareRate("orders") == 0, "the new compare rate to arrive");
        for (int i = 0; i < 50; i++)
        {
            Assert.Null((await rig.Migration.ReadAsync(Contexts.User("u"), "r", ct)).Consistent);
        }

        // An ordinary flag carries no migration settings.
        await environment.StringFlagAsync("plain", "shadow");
        await Wait.UntilAsync(() => client.GetSnapshot().FlagSlugs.Contains("plain"), "the plain flag to arrive");
        Assert.Null(client.GetSnapshot().CompareRate("plain"));
    }

    [Fact]
    public async Task Measurements_reach_the_server_with_exact_counts()
    {
        var environment = await Environment.CreateAsync(Server);
        await CreateMigrationFlagAsync(environment, "orders", """{"path":"full","compareRate":1}""");
        await environment.TargetAsync("orders", Targeting(live: ["u-live"], livePercent: 0, rest: "shadow"));
        var options = environment.Options();
        options.MigrationReportInterval = TimeSpan.FromHours(1);
        await using var client = new FlagstaffClient(options);
        Assert.True(await client.WaitUntilReadyAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken));
        var rig = new MigrationRig(client, "orders");
        var ct = TestContext.Current.CancellationToken;
        rig.Old.Seed("differs", "a");
        rig.New.Seed("differs", "b");

        // Shadow: 30 writes (the last 10 fail on new), 40 reads (5 of a record that differs).
        for (int i = 0; i < 30; i++)
        {
            rig.New.FailWrites = i >= 20;
            await rig.Migration.WriteAsync(Contexts.User("u-shadow"), new Record("r" + i, "v"), ct);
        }

        rig.New.FailWrites = false;
        for (int i = 0; i < 40; i++)
        {
            await rig.Migration.ReadAsync(Contexts.User("u-shadow"), i < 5 ? "differs" : "r" + i, ct);
        }

        // Live: 7 reads, 3 of which fail on new and fall back to old.
        for (int i = 0; i < 7; i++)
        {
            rig.New.FailReads = i < 3;
            await rig.Migration.ReadAsync(Contexts.User("u-live"), "r1", ct);
        }

        await client.FlushMigrationsAsync(ct);
        await Server.Services.GetRequiredService<Flagstaff.Server.Reports.MigrationAggregator>().FlushAsync(ct);
        using var admin = Server.Admin();
        var status = await admin.GetJsonAsync($"api/projects/{environment.Project}/flags/orders/migration?environment={Environment.Name}");

        Assert.Equal(30 + 40 + 7, status["old"]!["invoked"]!.GetValue<long>());
        Assert.Equal(0, status["old"]!["errors"]!.GetValue<long>());
        Assert.Equal(30 + 40 + 7, status["new"]!["invoked"]!.GetValue<long>());
        Assert.Equal(10 + 3, status["new"]!["errors"]!.GetValue<long>());
        Assert.Equal(40 + 4, status["compared"]!.GetValue<long>());
        // The 5 reads of the record that differs, and the 10 of r20 to r29, whose writes to new failed.
        Assert.Equal(15, status["inconsistent"]!.GetValue<long>());
        Assert.Equal(10, status["failedWrites"]!.GetValue<long>());
        var traffic = status["traffic"]!.AsArray().ToDictionary(t => t!["stage"]!.GetValue<string>(), t => t!["operations"]!.GetValue<long>());
        Assert.Equal(70, traffic["shadow"]);
        Assert.Equal(7, traffic["live"]);
        Assert.Equal(10, rig.FailedWrites.Count);
    }

    [Fact]
    public async Task Measurements_of_a_refused_key_are_dropped_and_reporting_stops_without_throwing()
    {
        var environment = await Environment.CreateAsync(Server);
        await CreateMigrationFlagAsync(environment, "orders", """{"path":"full"}""");
        await environment.TargetAsync("orders", """{"enabled":true,"rules":[],"defaultServe":{"variation":"dualwrite"}}""");
        var handler = new CountingHandler();
        using var http = new HttpClient(handler);
        var options = environment.Options();
        options.MigrationReportInterval = TimeSpan.FromHours(1);
        await using var client = new FlagstaffClient(options, httpClient: http);
        Assert.True(await client.WaitUntilReadyAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken));
        var rig = new MigrationRig(client, "orders");
        var ct = TestContext.Current.CancellationToken;
        await environment.RevokeKeyAsync();
        using (var probe = Server.Anonymous())
        {
            probe.DefaultRequestHeaders.Add("X-Tggl-Api-Key", environment.ServerKey);
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while ((await probe.GetAsync("config", ct)).StatusCode != HttpStatusCode.Unauthorized && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20, ct);
            }
        }

        await rig.Migration.WriteAsync(Contexts.User("u"), new Record("r", "v"), ct);
        await client.FlushMigrationsAsync(ct);
        await rig.Migration.WriteAsync(Contexts.User("u"), new Record("r", "v"), ct);
        await client.FlushMigrationsAsync(ct);

        Assert.Equal(1, handler.Count("/migrations/report"));
    }

    private static string Targeting(string[] live, double livePercent, string rest)
    {
        var ids = string.Join(",", live.Select(u => "\"" + u + "\""));
        var defaultServe = livePercent == 0
            ? "{\"variation\":\"" + rest + "\"}"
            : "{\"split\":{\"property\":\"userId\",\"buckets\":[{\"variation\":\"live\",\"weight\":" + livePercent
                + "},{\"variation\":\"" + rest + "\",\"weight\":" + (100 - livePercent) + "}]}}";
        return "{\"enabled\":true,\"rules\":[{\"clauses\":[{\"property\":\"userId\",\"operator\":\"STR_EQUAL\",\"values\":[" + ids
            + "]}],\"serve\":{\"variation\":\"live\"}}],\"defaultServe\":" + defaultServe + "}";
    }

    private static async Task CreateMigrationFlagAsync(Environment environment, string key, string migration)
    {
        using var admin = environment.Server.Admin();
        var body = new JsonObject { ["key"] = key, ["name"] = key, ["kind"] = "migration", ["migration"] = JsonNode.Parse(migration) };
        await (await admin.PostJsonAsync($"api/projects/{environment.Project}/flags", body)).ReadJsonAsync(HttpStatusCode.Created);
    }
}
