using System.Net;
using System.Text.Json.Nodes;
using Flagstaff.Storage;
using Flagstaff.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Flagstaff.Server.Tests;

/// <summary>A server whose webhooks may reach 127.0.0.1 (where the test's receivers listen), retrying quickly.</summary>
public abstract class WebhookServerFixture(DatabaseKind kind) : ServerFixture(kind)
{
    public static readonly Dictionary<string, string?> WebhookSettings = new()
    {
        ["Flagstaff:Webhooks:AllowedNetworks:0"] = "127.0.0.1/32",
        ["Flagstaff:Webhooks:FirstRetrySeconds"] = "0.2",
        ["Flagstaff:Webhooks:MaxRetryDelaySeconds"] = "1",
        ["Flagstaff:Webhooks:RetryForSeconds"] = "6",
        ["Flagstaff:Webhooks:PollSeconds"] = "0.1",
        ["Flagstaff:Webhooks:TimeoutSeconds"] = "3",
    };

    protected override IDictionary<string, string?> Settings => WebhookSettings;
}

public sealed class SqliteWebhookServer() : WebhookServerFixture(DatabaseKind.Sqlite);

public sealed class PostgresWebhookServer() : WebhookServerFixture(DatabaseKind.Postgres);

/// <summary>Webhooks delivered to a real HTTP server on loopback.</summary>
public abstract class WebhookTests(ServerFixture fixture) : ServerTest(fixture)
{
    internal static async Task<(string Id, string Secret)> CreateWebhookAsync(HttpClient admin, string project, Uri url, string[]? events = null, string? environment = null, string format = "json")
    {
        var request = new JsonObject
        {
            ["name"] = "receiver",
            ["url"] = url.ToString(),
            ["events"] = new JsonArray([.. (events ?? AllEvents).Select(e => (JsonNode)e)]),
            ["format"] = format,
        };
        if (environment is not null)
        {
            request["environment"] = environment;
        }

        var created = await (await admin.PostJsonAsync($"api/projects/{project}/webhooks", request)).ReadJsonAsync(HttpStatusCode.Created);
        var secret = created["secret"]!.GetValue<string>();
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);
        return (created["webhook"]!["id"]!.GetValue<string>(), secret);
    }

    internal static readonly string[] AllEvents =
        ["flag.created", "flag.changed", "flag.turned-on", "flag.turned-off", "flag.archived", "flag.deleted", "targeting.changed", "guard.rollback", "key.created", "key.revoked"];

    private async Task<string> ProjectAsync()
    {
        var project = UniqueKey("hooks");
        await (await Admin.PostJsonAsync("api/projects", new JsonObject { ["key"] = project, ["name"] = "Hooks " + project })).ReadJsonAsync(HttpStatusCode.Created);
        return project;
    }

    private Task CreateFlagAsync(string project, string key = "search") =>
        Admin.PostJsonAsync($"api/projects/{project}/flags", new JsonObject { ["key"] = key, ["name"] = key }).ContinueWith(t => t.Result.ReadJsonAsync(HttpStatusCode.Created)).Unwrap();

    private async Task SwitchAsync(string project, string environment, bool on, string flag = "search") =>
        await (await Admin.PostJsonAsync($"api/projects/{project}/flags/{flag}/environments/{environment}/{(on ? "on" : "off")}", null)).ReadJsonAsync();

    /// <summary>Waits for what the receiver should get; on a timeout, the failure shows the server's log.</summary>
    private async Task<IReadOnlyList<ReceivedWebhook>> WaitAsync(WebhookReceiver receiver, Func<IReadOnlyList<ReceivedWebhook>, bool> condition, string what, double seconds = 30)
    {
        try
        {
            return await receiver.WaitForAsync(condition, what, seconds);
        }
        catch (TimeoutException e)
        {
            var store = Server.Services.GetRequiredService<Store>();
            var outbox = await store.ReadAsync(async s =>
            {
                var lines = new List<string>();
                foreach (var project in await s.ListProjectsAsync())
                {
                    lines.AddRange((await s.ListAuditAsync(new AuditQuery { ProjectId = project.Id, Limit = 10 })).Select(a => $"{project.Key} audit {a.ResourceType} {a.Action}"));
                    foreach (var webhook in await s.ListWebhooksAsync(project.Id))
                    {
                        lines.Add($"{project.Key} webhook {webhook.Url} {webhook.Enabled} [{string.Join(",", webhook.Events)}]");
                        lines.AddRange((await s.ListWebhookDeliveriesAsync(webhook.Id, null, 20)).Select(d =>
                            $"{project.Key} {webhook.Url} #{d.Id} {d.Event} {d.State} attempts={d.Attempts} status={d.LastStatus} error={d.LastError}"));
                    }
                }

                return lines;
            });
            throw new TimeoutException(
                e.Message + Environment.NewLine + "Outbox:" + Environment.NewLine + string.Join(Environment.NewLine, outbox)
                + Environment.NewLine + "Log:" + Environment.NewLine + string.Join(Environment.NewLine, Server.Logs.Lines.TakeLast(10)), e);
        }
    }

    /// <summary>
    /// The delivery log once it has recorded every attempt <paramref name="receiver"/> saw: the server
    /// writes an attempt's outcome after the receiver has answered, so the log can lag its last request.
    /// </summary>
    private async Task<JsonArray> DeliveriesAsync(string project, string webhook, WebhookReceiver receiver)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var log = (await Admin.GetJsonAsync($"api/projects/{project}/webhooks/{webhook}/deliveries"))["items"]!.AsArray();
            if (log.Sum(d => d!["attempts"]!.GetValue<int>()) >= receiver.Received.Count || clock.Elapsed > TimeSpan.FromSeconds(10))
            {
                return log;
            }

            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Every_kind_of_change_is_delivered_signed_in_order_with_its_event_id()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var project = await ProjectAsync();
        var (webhook, secret) = await CreateWebhookAsync(Admin, project, new Uri(receiver.Address, "hook"));

        await CreateFlagAsync(project);
        await (await Admin.PutJsonAsync($"api/projects/{project}/flags/search/environments/production",
            JsonNode.Parse("""{"enabled":false,"rules":[{"clauses":[{"property":"plan","operator":"STR_EQUAL","values":["pro"]}],"serve":{"variation":"on"}}],"defaultServe":{"variation":"off"}}"""), "\"1\"")).ReadJsonAsync();
        await SwitchAsync(project, "production", on: true);
        await SwitchAsync(project, "production", on: false);
        var key = await (await Admin.PostJsonAsync($"api/projects/{project}/environments/production/keys", JsonNode.Parse("""{"name":"backend","kind":"server"}"""))).ReadJsonAsync(HttpStatusCode.Created);
        await (await Admin.DeleteAsync($"api/projects/{project}/environments/production/keys/{key["key"]!["id"]}")).ReadJsonAsync();
        await (await Admin.PatchJsonAsync($"api/projects/{project}/flags/search", JsonNode.Parse("""{"description":"the search box"}"""), "\"1\"")).ReadJsonAsync();
        var archived = await Admin.PostJsonAsync($"api/projects/{project}/flags/search/archive", null);
        await archived.ReadJsonAsync();
        (await Admin.DeleteAsync($"api/projects/{project}/flags/search", archived.ETag())).EnsureSuccessStatusCode();

        string[] expected = ["flag.created", "targeting.changed", "flag.turned-on", "flag.turned-off", "key.created", "key.revoked", "flag.changed", "flag.archived", "flag.deleted"];
        var received = await WaitAsync(receiver, r => r.Count(x => x.Accepted) >= expected.Length, "every event");
        Assert.Equal(expected, received.Select(r => r.Event));
        Assert.All(received, r => Assert.Equal("/hook", r.Path));
        Assert.Equal(expected.Length, received.Select(r => r.EventId).Distinct().Count());
        foreach (var request in received)
        {
            Assert.True(WebhookReceiver.Verify(secret, request.Signature, request.Body), $"the signature of {request.Event} checks out");
            Assert.False(WebhookReceiver.Verify(secret + "x", request.Signature, request.Body), "another secret does not");
            Assert.False(WebhookReceiver.Verify(secret, request.Signature, request.Body + " "), "a changed body does not");
            var body = JsonNode.Parse(request.Body)!;
            Assert.Equal(request.EventId, body["id"]!.GetValue<string>());
            Assert.Equal(request.Event, body["type"]!.GetValue<string>());
            Assert.Equal(project, body["project"]!["key"]!.GetValue<string>());
            Assert.False(string.IsNullOrEmpty(body["actor"]!["name"]!.GetValue<string>()));
        }

        Assert.Equal("search", JsonNode.Parse(received[2].Body)!["flag"]!["key"]!.GetValue<string>());
        Assert.Equal("production", JsonNode.Parse(received[2].Body)!["environment"]!["key"]!.GetValue<string>());
        Assert.Null(JsonNode.Parse(received[0].Body)!["environment"]);
        var apiKey = JsonNode.Parse(received[4].Body)!["apiKey"]!;
        Assert.Equal("backend", apiKey["name"]!.GetValue<string>());
        Assert.StartsWith("fs_server_", apiKey["prefix"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain(key["secret"]!.GetValue<string>(), received[4].Body, StringComparison.Ordinal);

        // The delivery log holds each, delivered at the first attempt, with the body exactly as sent.
        var log = await DeliveriesAsync(project, webhook, receiver);
        Assert.Equal(expected.Reverse(), log.Select(d => d!["event"]!.GetValue<string>()));
        Assert.All(log, d => Assert.Equal("delivered", d!["state"]!.GetValue<string>()));
        Assert.All(log, d => Assert.Equal(1, d!["attempts"]!.GetValue<int>()));
        Assert.Equal(received.Select(r => r.Body).Reverse(), log.Select(d => d!["body"]!.GetValue<string>()));
    }

    [Fact]
    public async Task An_environment_webhook_hears_its_environment_and_a_Slack_one_gets_a_Slack_message()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var project = await ProjectAsync();
        await CreateWebhookAsync(Admin, project, new Uri(receiver.Address, "slack"), ["flag.created", "flag.turned-on"], environment: "production", format: "slack");

        await CreateFlagAsync(project);
        await SwitchAsync(project, "staging", on: true);
        await SwitchAsync(project, "production", on: true);

        // Deliveries go out in order: had staging's been recorded, it would have come before production's.
        var received = await WaitAsync(receiver, r => r.Count >= 2, "two messages");
        Assert.Equal(["flag.created", "flag.turned-on"], received.Select(r => r.Event));
        var text = JsonNode.Parse(received[1].Body)!.AsObject();
        Assert.Equal(["text"], text.Select(p => p.Key));
        Assert.Contains("turned on `search` in Production (Hooks " + project + ")", text["text"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failing_receiver_is_retried_with_growing_waits_and_later_events_wait_their_turn()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        int failures = 0;
        receiver.Answer = r => r.Event == "flag.created" && Interlocked.Increment(ref failures) <= 3 ? (503, null) : (200, null);
        var project = await ProjectAsync();
        var (webhook, _) = await CreateWebhookAsync(Admin, project, new Uri(receiver.Address, "hook"));

        await CreateFlagAsync(project);
        await SwitchAsync(project, "production", on: true);

        var received = await WaitAsync(receiver, r => r.Count(x => x.Accepted) >= 2, "both events");
        Assert.Equal(["flag.created", "flag.created", "flag.created", "flag.created", "flag.turned-on"], received.Select(r => r.Event));
        Assert.Equal([503, 503, 503, 200, 200], received.Select(r => r.Answered));
        Assert.Single(received.Take(4).Select(r => r.EventId).Distinct());

        // Waits of about 0.2, 0.4 and 0.8 s (each ±20 %): the third is longer than the first by far.
        var first = received[1].At - received[0].At;
        var third = received[3].At - received[2].At;
        Assert.True(first >= TimeSpan.FromSeconds(0.15), $"first retry after {first}");
        Assert.True(third > first + TimeSpan.FromSeconds(0.2), $"third retry after {third}, first after {first}");

        var log = await DeliveriesAsync(project, webhook, receiver);
        Assert.Equal(4, log[1]!["attempts"]!.GetValue<int>());
        Assert.Equal(200, log[1]!["lastStatus"]!.GetValue<int>());
        Assert.Equal(1, log[0]!["attempts"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_delivery_is_given_up_after_the_retry_time_then_the_next_follows_and_send_again_resends_it()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        bool accept = false;
        receiver.Answer = r => r.Event == "flag.created" && !Volatile.Read(ref accept) ? (500, null) : (200, null);
        var project = await ProjectAsync();
        var (webhook, _) = await CreateWebhookAsync(Admin, project, new Uri(receiver.Address, "hook"));
        await CreateFlagAsync(project);
        await SwitchAsync(project, "production", on: true);

        // While it is retried, the log says how it failed, and never what the receiver answered.
        await WaitAsync(receiver, r => r.Count >= 2, "two failed attempts");
        var pending = await Admin.GetStringAsync($"api/projects/{project}/webhooks/{webhook}/deliveries");
        Assert.DoesNotContain(WebhookReceiver.ErrorBody, pending, StringComparison.Ordinal);
        var created = JsonNode.Parse(pending)!["items"]!.AsArray().Single(d => d!["event"]!.GetValue<string>() == "flag.created")!;
        Assert.Equal("pending", created["state"]!.GetValue<string>());
        Assert.Equal(500, created["lastStatus"]!.GetValue<int>());
        Assert.Equal("The receiver answered 500.", created["lastError"]!.GetValue<string>());

        // After the retry time (6 s here) it is given up, and the event behind it goes out.
        var received = await WaitAsync(receiver, r => r.Any(x => x.Event == "flag.turned-on"), "the next event", 30);
        Assert.All(received.TakeWhile(r => r.Event == "flag.created"), r => Assert.Equal(500, r.Answered));
        var log = await DeliveriesAsync(project, webhook, receiver);
        var failed = log.Single(d => d!["event"]!.GetValue<string>() == "flag.created")!;
        Assert.Equal("failed", failed["state"]!.GetValue<string>());
        Assert.True(failed["attempts"]!.GetValue<int>() >= 3);

        // Send again: the same event, with the same id and body, accepted this time.
        Volatile.Write(ref accept, true);
        var again = await (await Admin.PostJsonAsync($"api/projects/{project}/webhooks/{webhook}/deliveries/{failed["id"]}/redeliver", null)).ReadJsonAsync(HttpStatusCode.Accepted);
        Assert.Equal(failed["eventId"]!.GetValue<string>(), again["eventId"]!.GetValue<string>());
        var resent = await WaitAsync(receiver, r => r.Any(x => x.Event == "flag.created" && x.Accepted), "the event sent again");
        var accepted = resent.Single(x => x.Event == "flag.created" && x.Accepted);
        Assert.Equal(failed["eventId"]!.GetValue<string>(), accepted.EventId);
        Assert.Equal(failed["body"]!.GetValue<string>(), accepted.Body);
        await (await Admin.PostJsonAsync($"api/projects/{project}/webhooks/{webhook}/deliveries/999999999/redeliver", null)).ReadJsonAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_redirect_is_not_followed()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var internalUrl = new Uri(receiver.Address, "internal").ToString();
        receiver.Answer = r => r.Path == "/hook" ? (307, internalUrl) : (200, null);
        var project = await ProjectAsync();
        var (webhook, _) = await CreateWebhookAsync(Admin, project, new Uri(receiver.Address, "hook"));
        await CreateFlagAsync(project);

        await WaitAsync(receiver, r => r.Count >= 2, "two attempts");
        Assert.All(receiver.Received, r => Assert.Equal("/hook", r.Path));
        var delivery = (await DeliveriesAsync(project, webhook, receiver)).Single()!;
        Assert.Equal(307, delivery["lastStatus"]!.GetValue<int>());
        Assert.Contains("redirects are not followed", delivery["lastError"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Webhooks_are_managed_with_versions_and_only_by_admins()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var project = await ProjectAsync();
        var (webhook, secret) = await CreateWebhookAsync(Admin, project, new Uri(receiver.Address, "one"), ["flag.created"]);

        var read = await Admin.GetAsync($"api/projects/{project}/webhooks/{webhook}");
        var view = await read.ReadJsonAsync();
        Assert.Null(view["secret"]);
        Assert.Equal("\"1\"", read.ETag());
        await (await Admin.PatchJsonAsync($"api/projects/{project}/webhooks/{webhook}", JsonNode.Parse("""{"name":"renamed"}"""))).ReadJsonAsync(HttpStatusCode.PreconditionRequired);
        await (await Admin.PatchJsonAsync($"api/projects/{project}/webhooks/{webhook}", JsonNode.Parse("""{"events":["flag.exploded"]}"""), "\"1\"")).ReadJsonAsync(HttpStatusCode.BadRequest);
        var updated = await (await Admin.PatchJsonAsync($"api/projects/{project}/webhooks/{webhook}",
            new JsonObject { ["url"] = new Uri(receiver.Address, "two").ToString(), ["events"] = new JsonArray("flag.turned-on"), ["environment"] = "staging" }, "\"1\"")).ReadJsonAsync();
        Assert.Equal("staging", updated["environment"]!.GetValue<string>());
        await (await Admin.PatchJsonAsync($"api/projects/{project}/webhooks/{webhook}", JsonNode.Parse("""{"name":"stale"}"""), "\"1\"")).ReadJsonAsync(HttpStatusCode.Conflict);

        // A new secret: deliveries from now on are signed with it, not with the old one.
        var renewed = await (await Admin.PostJsonAsync($"api/projects/{project}/webhooks/{webhook}/secret", null, "\"2\"")).ReadJsonAsync();
        var newSecret = renewed["secret"]!.GetValue<string>();
        Assert.NotEqual(secret, newSecret);
        await CreateFlagAsync(project);
        await SwitchAsync(project, "staging", on: true);
        var received = (await WaitAsync(receiver, r => r.Count >= 1, "the staging event")).Single();
        Assert.Equal("/two", received.Path);
        Assert.True(WebhookReceiver.Verify(newSecret, received.Signature, received.Body));
        Assert.False(WebhookReceiver.Verify(secret, received.Signature, received.Body));

        // Editors change flags, not where their news goes.
        var editorToken = await TokenOfNewMemberAsync("editor");
        using var editor = Server.WithToken(editorToken);
        Assert.Equal(HttpStatusCode.Forbidden, (await editor.GetAsync($"api/projects/{project}/webhooks")).StatusCode);

        await (await Admin.DeleteAsync($"api/projects/{project}/webhooks/{webhook}", "\"3\"")).ReadJsonAsync(HttpStatusCode.NoContent);
        Assert.Empty((await Admin.GetJsonAsync($"api/projects/{project}/webhooks")).AsArray());
    }

    private async Task<string> TokenOfNewMemberAsync(string role)
    {
        var email = UniqueKey(role) + "@example.com";
        await (await Admin.PostJsonAsync("api/members", new JsonObject { ["email"] = email, ["name"] = role, ["role"] = role, ["password"] = "a long password 1" })).ReadJsonAsync(HttpStatusCode.Created);
        using var member = Server.Anonymous();
        await (await member.PostJsonAsync("api/auth/login", new JsonObject { ["email"] = email, ["password"] = "a long password 1" })).ReadJsonAsync();
        var token = await (await member.PostJsonAsync("api/me/tokens", new JsonObject { ["name"] = "t" })).ReadJsonAsync(HttpStatusCode.Created);
        return token["secret"]!.GetValue<string>();
    }
}

public sealed class SqliteWebhookTests(SqliteWebhookServer server) : WebhookTests(server), IClassFixture<SqliteWebhookServer>;

public sealed class PostgresWebhookTests(PostgresWebhookServer server) : WebhookTests(server), IClassFixture<PostgresWebhookServer>;
