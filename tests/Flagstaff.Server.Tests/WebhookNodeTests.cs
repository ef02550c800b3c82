using System.Net;
using System.Text.Json.Nodes;
using Flagstaff.Testing;

namespace Flagstaff.Server.Tests;

/// <summary>The outbox across a crash, and shared by two server processes on one PostgreSQL database.</summary>
public sealed class WebhookNodeTests
{
    private static Dictionary<string, string> Settings(double retryForSeconds = 600) => new()
    {
        ["Flagstaff__Webhooks__AllowedNetworks__0"] = "127.0.0.1/32",
        ["Flagstaff__Webhooks__FirstRetrySeconds"] = "0.2",
        ["Flagstaff__Webhooks__MaxRetryDelaySeconds"] = "0.5",
        ["Flagstaff__Webhooks__RetryForSeconds"] = retryForSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Flagstaff__Webhooks__PollSeconds"] = "0.1",
        ["Flagstaff__Webhooks__TimeoutSeconds"] = "2",
    };

    private static async Task<string> SetUpAsync(HttpClient admin, Uri receiver)
    {
        await (await admin.PostJsonAsync("api/projects", new JsonObject { ["key"] = "shop", ["name"] = "Shop" })).ReadJsonAsync(HttpStatusCode.Created);
        var (_, secret) = await WebhookTests.CreateWebhookAsync(admin, "shop", new Uri(receiver, "hook"));
        return secret;
    }

    private static async Task SwitchAsync(HttpClient admin, bool on) =>
        await (await admin.PostJsonAsync($"api/projects/shop/flags/search/environments/production/{(on ? "on" : "off")}", null)).ReadJsonAsync();

    [Fact]
    public async Task A_server_killed_while_retrying_delivers_after_a_restart_exactly_the_undelivered_events_in_order()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseKind.Sqlite);
        await using var receiver = await WebhookReceiver.StartAsync();
        var first = await ServerProcess.StartAsync(database, settings: Settings());
        string secret;
        await using (first)
        {
            using var admin = first.Admin();
            secret = await SetUpAsync(admin, receiver.Address);
            await (await admin.PostJsonAsync("api/projects/shop/flags", new JsonObject { ["key"] = "search", ["name"] = "Search" })).ReadJsonAsync(HttpStatusCode.Created);
            await receiver.WaitForAsync(r => r.Any(x => x.Accepted), "the first event");

            // The receiver goes down; two more changes wait behind the first of them, which is retried.
            receiver.Answer = _ => (503, null);
            await SwitchAsync(admin, on: true);
            await SwitchAsync(admin, on: false);
            await receiver.WaitForAsync(r => r.Count(x => !x.Accepted) >= 3, "retries of the second event");
            await first.KillAsync();
        }

        var beforeRestart = receiver.Received;
        Assert.Equal("flag.created", beforeRestart[0].Event);
        Assert.True(beforeRestart[0].Accepted);
        Assert.All(beforeRestart.Skip(1), r => Assert.Equal("flag.turned-on", r.Event));
        receiver.Answer = _ => (200, null);

        await using var second = await ServerProcess.StartAsync(database, settings: Settings());
        var received = await receiver.WaitForAsync(r => r.Count(x => x.Accepted) >= 3, "the undelivered events after the restart");

        // Give a wrong second delivery of anything the time to show up.
        await Task.Delay(1500);
        var accepted = receiver.Accepted;
        Assert.Equal(["flag.created", "flag.turned-on", "flag.turned-off"], accepted.Select(r => r.Event));
        Assert.Equal(3, accepted.Select(r => r.EventId).Distinct().Count());
        Assert.All(accepted, r => Assert.True(WebhookReceiver.Verify(secret, r.Signature, r.Body)));
        Assert.Equal(beforeRestart[1].EventId, accepted[1].EventId);
    }

    [Fact]
    public async Task Two_nodes_on_PostgreSQL_deliver_each_event_once_and_in_order()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseKind.Postgres);
        await using var receiver = await WebhookReceiver.StartAsync();

        // A slow receiver keeps both nodes looking for work while a delivery is in flight.
        receiver.Answer = _ =>
        {
            Thread.Sleep(20);
            return (200, null);
        };
        await using var first = await ServerProcess.StartAsync(database, settings: Settings());
        await using var second = await ServerProcess.StartAsync(database, settings: Settings());
        using var one = first.Admin();
        using var two = second.Admin();
        await SetUpAsync(one, receiver.Address);
        await (await one.PostJsonAsync("api/projects/shop/flags", new JsonObject { ["key"] = "search", ["name"] = "Search" })).ReadJsonAsync(HttpStatusCode.Created);

        // Changes made through both nodes, alternately.
        const int switches = 30;
        for (int i = 0; i < switches; i++)
        {
            await SwitchAsync(i % 2 == 0 ? one : two, on: i % 2 == 0);
        }

        await receiver.WaitForAsync(r => r.Count >= switches + 1, "every event", 60);
        await Task.Delay(2000);
        var received = receiver.Received;
        Assert.All(received, r => Assert.True(r.Accepted));
        Assert.Equal(switches + 1, received.Count);
        Assert.Equal(received.Count, received.Select(r => r.EventId).Distinct().Count());
        string[] expected = ["flag.created", .. Enumerable.Range(0, switches).Select(i => i % 2 == 0 ? "flag.turned-on" : "flag.turned-off")];
        Assert.Equal(expected, received.Select(r => r.Event));

        // In the order of the changes: the event times increase.
        var times = received.Select(r => JsonNode.Parse(r.Body)!["at"]!.GetValue<DateTimeOffset>()).ToList();
        Assert.Equal(times.Order(), times);
    }
}
