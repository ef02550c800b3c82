using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Flagstaff.Server.Reports;
using Flagstaff.Storage;
using Flagstaff.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Flagstaff.Server.Tests;

/// <summary>
/// What usage reports (sent with a public client key) can add is bounded: the context-property
/// catalogue, the values remembered for each property and the usage counts, across reports, restarts
/// and server nodes; what goes past a limit is dropped and counted, and the SDK is always answered
/// with success. The catalogue is paged and searchable, and an admin removes what reports taught it
/// in bulk. On each database.
/// </summary>
public abstract class ReportFloodTests(ServerFixture fixture) : ServerTest(fixture)
{
    // The defaults of Flagstaff:Evaluation.
    private const int MaxLearnedProperties = 1_000;
    private const int MaxLearnedValues = 100;
    private const int MaxReportProperties = 500;
    private const int MaxUsageSeriesPerFlag = 50;

    [Fact]
    public async Task A_flood_of_invented_property_names_leaves_at_most_the_limit_across_reports_and_nodes()
    {
        var project = await NewProjectAsync();
        await (await Admin.PostJsonAsync($"api/projects/{project}/context-properties", Json("""{"key":"plan","name":"Plan"}"""))).ReadJsonAsync(HttpStatusCode.Created);
        var key = await ClientKeyAsync(project);

        // A second node on the same database, as behind a load balancer: reports alternate between them.
        await using var other = await ServerHost.StartAsync(Server.Database.Kind, database: Server.Database);
        var nodes = new[] { Server, other };

        // The flood: ten reports of 14,000 invented names each, with invalid ones among them.
        for (int report = 0; report < 10; report++)
        {
            var properties = new StringBuilder("{");
            for (int i = 0; i < 14_000; i++)
            {
                properties.Append(i == 0 ? "" : ",").Append("\"r").Append(report).Append("-prop-").Append(i).Append("\":[1732450000,1732450060]");
            }

            properties.Append(",\"<script>alert(").Append(report).Append(")</script>\":[1732450000,1732450060]");
            properties.Append(",\"line\\nbreak").Append(report).Append("\":[1732450000,1732450060]");
            properties.Append(",\"").Append(new string('x', 101)).Append("\":[1732450000,1732450060]");
            properties.Append('}');
            var body = $$$"""{"receivedProperties":{{{properties}}},"receivedValues":{"plan":[{{{string.Join(",", Enumerable.Range(0, 300).Select(i => $"[\"v{report}-{i}\"]"))}}}]}}""";
            await AssertSuccessAsync(nodes[report % 2], key, body);
            await nodes[report % 2].Services.GetRequiredService<UsageAggregator>().FlushAsync(CancellationToken.None);
        }

        // One name of 900,000 characters, alone in its report.
        await AssertSuccessAsync(Server, key, $$$"""{"receivedProperties":{"{{{new string('n', 900_000)}}}":[1732450000,1732450060]}}""");

        // A node that never wrote reports (its memory knows nothing of the catalogue) cannot add past the limit either.
        await using (var fresh = await ServerHost.StartAsync(Server.Database.Kind, database: Server.Database))
        {
            await AssertSuccessAsync(fresh, key, """{"receivedProperties":{"late-1":[1732450000,1732450060],"late-2":[1732450000,1732450060]}}""");
            await fresh.Services.GetRequiredService<UsageAggregator>().FlushAsync(CancellationToken.None);
        }

        // Flushed at once by both nodes: the lock between them keeps the count.
        await Task.WhenAll(nodes.Select(n => n.Services.GetRequiredService<UsageAggregator>().FlushAsync(CancellationToken.None)));

        var (learned, learnedTotal) = await PageAsync($"api/projects/{project}/context-properties?learned=true");
        Assert.Equal(MaxLearnedProperties, learnedTotal);
        Assert.All(learned, p => Assert.Matches("^r[0-9]-prop-[0-9]+$", p["key"]!.GetValue<string>()));
        var (_, total) = await PageAsync($"api/projects/{project}/context-properties?limit=1");
        Assert.Equal(MaxLearnedProperties + 1, total);
        var (byHand, _) = await PageAsync($"api/projects/{project}/context-properties?learned=false");
        Assert.Equal(["plan"], byHand.Select(p => p["key"]!.GetValue<string>()));

        // Values: only so many are remembered per property, whatever the reports and nodes.
        var store = Server.Services.GetRequiredService<Store>();
        var projectId = await store.ReadAsync(async s => (await s.GetProjectAsync(project))!.Id);
        Assert.Equal(MaxLearnedValues, await store.ReadAsync(s => s.CountContextValuesAsync(projectId, "plan")));

        // What was dropped is counted, per reason.
        var dropped = await DroppedAsync(project);
        Assert.Equal(31, dropped["invalidProperty"]);
        Assert.Equal(10 * (14_000 - MaxReportProperties), dropped["reportPropertyLimit"]);
        Assert.Equal((10 * MaxReportProperties) + 2 - MaxLearnedProperties, dropped["catalogueFull"]);
        Assert.Equal((10 * 300) - MaxLearnedValues, dropped["propertyValuesFull"]);
        Assert.Contains(Server.Logs.Lines.Concat(other.Logs.Lines), l => l.Contains("went past their limits", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Values_of_properties_outside_the_catalogue_and_long_values_are_not_remembered()
    {
        var project = await NewProjectAsync();
        var key = await ClientKeyAsync(project);
        var invented = string.Join(",", Enumerable.Range(0, 2_000).Select(i => $"\"ghost-{i}\":[[\"a\"],[\"b\"]]"));
        await AssertSuccessAsync(Server, key, $$$"""
            {"receivedProperties":{"accountId":[1732450000,1732450060]},
             "receivedValues":{{{{invented}}},"accountId":[["a1","Acme"],["{{{new string('v', 201)}}}"],["a2","{{{new string('l', 201)}}}"],[7]]}}
            """);
        await Server.Services.GetRequiredService<UsageAggregator>().FlushAsync(CancellationToken.None);

        var store = Server.Services.GetRequiredService<Store>();
        var projectId = await store.ReadAsync(async s => (await s.GetProjectAsync(project))!.Id);
        var values = await store.ReadAsync(s => s.ListContextValuesAsync(projectId, 1_000));
        Assert.Equal([("accountId", "a1", (string?)"Acme"), ("accountId", "a2", null)], values.OrderBy(v => v.Value, StringComparer.Ordinal));
        var (properties, _) = await PageAsync($"api/projects/{project}/context-properties");
        Assert.Equal(["accountId"], properties.Select(p => p["key"]!.GetValue<string>()));
        Assert.Equal(4_000 + 2, (await DroppedAsync(project))["invalidValue"]);
    }

    [Fact]
    public async Task Usage_of_unknown_flags_and_invented_values_is_bounded()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "search");
        var key = await ClientKeyAsync(project);

        // Thousands of invented flags, and hundreds of invented values of a real one, twice (two writes in the same minutes).
        for (int round = 0; round < 2; round++)
        {
            var flags = new JsonObject();
            for (int i = 0; i < 3_000; i++)
            {
                flags[$"ghost-{round}-{i}"] = Json("""[{"value":true,"default":false,"count":1}]""");
            }

            flags["search"] = new JsonArray([.. Enumerable.Range(0, 300).Select(i => (JsonNode)new JsonObject { ["value"] = $"{round}-{i}", ["default"] = false, ["count"] = 2 })]);
            var body = new JsonObject { ["clients"] = new JsonArray(new JsonObject { ["id"] = "checkout", ["flags"] = flags }) };
            await AssertSuccessAsync(Server, key, body.ToJsonString());
            await Server.Services.GetRequiredService<UsageAggregator>().FlushAsync(CancellationToken.None);
        }

        var store = Server.Services.GetRequiredService<Store>();
        var environment = await store.ReadAsync(async s => (await s.GetEnvironmentAsync((await s.GetProjectAsync(project))!.Id, "production"))!);
        long minute = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60;
        var usage = await store.ReadAsync(s => s.ListUsageAsync(environment.Id, "search", minute - 5, minute + 5));
        Assert.All(usage.GroupBy(u => u.Minute), m => Assert.InRange(m.Count(), 1, MaxUsageSeriesPerFlag));
        var ghosts = await store.ReadAsync(s => s.ListUsageAsync(environment.Id, "ghost-0-1", minute - 5, minute + 5));
        Assert.Empty(ghosts);

        var dropped = await DroppedAsync(project);
        Assert.Equal(6_000, dropped["unknownFlag"]);
        Assert.Equal(600 - usage.Count, dropped["flagSeriesFull"]);
    }

    [Fact]
    public async Task The_catalogue_is_paged_and_searched_and_bad_paging_is_refused()
    {
        var project = await NewProjectAsync();
        for (int i = 0; i < 25; i++)
        {
            await (await Admin.PostJsonAsync($"api/projects/{project}/context-properties", Json($$"""{"key":"byhand-{{i:D2}}","name":"By hand {{i}}"}"""))).ReadJsonAsync(HttpStatusCode.Created);
        }

        var key = await ClientKeyAsync(project);
        await AssertSuccessAsync(Server, key, """{"receivedProperties":{"reported-email":[1732450000,1732450060],"reported-country":[1732450000,1732450060]}}""");
        await Server.Services.GetRequiredService<UsageAggregator>().FlushAsync(CancellationToken.None);

        // Pages of 10, following the Link header, cover the catalogue once, in key order.
        var keys = new List<string>();
        string? next = $"api/projects/{project}/context-properties?limit=10";
        int pages = 0;
        while (next is not null)
        {
            var response = await Admin.GetAsync(next);
            var page = (await response.ReadJsonAsync()).AsArray();
            Assert.Equal("27", response.Headers.GetValues("X-Total-Count").Single());
            keys.AddRange(page.Select(p => p!["key"]!.GetValue<string>()));
            next = response.Headers.TryGetValues("Link", out var link) ? link.Single().Split('<', '>')[1].TrimStart('/') : null;
            pages++;
        }

        Assert.Equal(3, pages);
        Assert.Equal(keys.Order(StringComparer.Ordinal), keys);
        Assert.Equal(27, keys.Distinct().Count());

        // Search by key, name or description; learned or by hand.
        var (found, count) = await PageAsync($"api/projects/{project}/context-properties?q=HAND%201");
        Assert.Equal(11, count);
        Assert.Equal("byhand-01", found[0]["key"]!.GetValue<string>());
        var (learned, _) = await PageAsync($"api/projects/{project}/context-properties?learned=true&q=reported");
        Assert.Equal(["reported-country", "reported-email"], learned.Select(p => p["key"]!.GetValue<string>()));
        Assert.All(learned, p => Assert.True(p["learned"]!.GetValue<bool>()));
        var (underscore, _) = await PageAsync($"api/projects/{project}/context-properties?q=_");
        Assert.Empty(underscore);

        var tooMany = await Admin.GetJsonAsync($"api/projects/{project}/context-properties?limit=1001", HttpStatusCode.BadRequest);
        Assert.Contains("between 1 and 1000", tooMany["errors"]!["limit"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        var negative = await Admin.GetJsonAsync($"api/projects/{project}/context-properties?offset=-1", HttpStatusCode.BadRequest);
        Assert.NotNull(negative["errors"]!["offset"]);

        // The management API takes the same rule for names as reports do.
        var script = await (await Admin.PostJsonAsync($"api/projects/{project}/context-properties", Json("""{"key":"<script>x</script>"}"""))).ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains("'<'", script["errors"]!["key"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        var imported = UniqueKey("imp");
        var import = await (await Admin.PostJsonAsync("api/import", Json($$"""
            {"key":"{{imported}}","name":"Imported","environments":[{"key":"production","name":"Production"}],"contextProperties":[{"key":"fine","name":"Fine"},{"key":"{{new string('k', 101)}}","name":"Long"}]}
            """))).ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.True(import["errors"]?["contextProperties[1].key"] is not null, import.ToJsonString());
        await Admin.GetJsonAsync($"api/projects/{imported}", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task An_admin_removes_the_learned_properties_in_bulk_with_their_values_and_each_removal_is_in_the_history()
    {
        var project = await NewProjectAsync();
        await (await Admin.PostJsonAsync($"api/projects/{project}/context-properties", Json("""{"key":"plan","name":"Plan"}"""))).ReadJsonAsync(HttpStatusCode.Created);
        var key = await ClientKeyAsync(project);
        var names = string.Join(",", Enumerable.Range(0, 40).Select(i => $"\"junk-{i:D2}\":[1732450000,1732450060]"));
        await AssertSuccessAsync(Server, key, $$$"""
            {"receivedProperties":{{{{names}}},"plan":[1732450000,1732450060],"keep-me":[1732450000,1732450060]},
             "receivedValues":{"junk-00":[["x"],["y"]],"plan":[["pro"]]}}
            """);
        await Server.Services.GetRequiredService<UsageAggregator>().FlushAsync(CancellationToken.None);

        // A learned property a person changes is theirs from then on.
        var keep = await Admin.GetAsync($"api/projects/{project}/context-properties/keep-me");
        await (await Admin.PatchJsonAsync($"api/projects/{project}/context-properties/keep-me", Json("""{"type":"NUMBER"}"""), keep.ETag())).ReadJsonAsync();

        // Without learned=true nothing is removed.
        var refused = await (await Admin.DeleteAsync($"api/projects/{project}/context-properties", null)).ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.NotNull(refused["errors"]!["learned"]);
        Assert.Equal(42, (await PageAsync($"api/projects/{project}/context-properties")).Total);

        // Named ones first, then every other learned one.
        var named = await (await Admin.DeleteAsync($"api/projects/{project}/context-properties?learned=true&key=junk-01&key=plan", null)).ReadJsonAsync();
        Assert.Equal(["junk-01"], named["keys"]!.AsArray().Select(k => k!.GetValue<string>()));
        var all = await (await Admin.DeleteAsync($"api/projects/{project}/context-properties?learned=true", null)).ReadJsonAsync();
        Assert.Equal(39, all["removed"]!.GetValue<int>());

        var (left, _) = await PageAsync($"api/projects/{project}/context-properties");
        Assert.Equal(["keep-me", "plan"], left.Select(p => p["key"]!.GetValue<string>()));
        var store = Server.Services.GetRequiredService<Store>();
        var projectId = await store.ReadAsync(async s => (await s.GetProjectAsync(project))!.Id);
        Assert.Equal(0, await store.ReadAsync(s => s.CountContextValuesAsync(projectId, "junk-00")));
        Assert.Equal(1, await store.ReadAsync(s => s.CountContextValuesAsync(projectId, "plan")));

        var history = await Admin.GetJsonAsync($"api/audit?project={project}&limit=200");
        var removals = history["items"]!.AsArray().Select(i => i!["entry"]!).Where(e => e["action"]!.GetValue<string>() == "deleted").ToList();
        Assert.Equal(40, removals.Count);
        Assert.All(removals, e => Assert.Equal("context-property", e["resourceType"]!.GetValue<string>()));
        Assert.Contains(removals, e => e["resourceKey"]!.GetValue<string>() == "junk-39" && e["before"]!["learned"]!.GetValue<bool>());

        // The catalogue has room again: reports teach it anew.
        await AssertSuccessAsync(Server, key, """{"receivedProperties":{"new-one":[1732450000,1732450060]}}""");
        await Server.Services.GetRequiredService<UsageAggregator>().FlushAsync(CancellationToken.None);
        Assert.Equal(["new-one"], (await PageAsync($"api/projects/{project}/context-properties?learned=true")).Items.Select(p => p["key"]!.GetValue<string>()));
    }

    private async Task<string> ClientKeyAsync(string project) =>
        (await (await Admin.PostJsonAsync($"api/projects/{project}/environments/production/keys", new JsonObject { ["name"] = "web", ["kind"] = "client" }))
            .ReadJsonAsync(HttpStatusCode.Created))["secret"]!.GetValue<string>();

    private static async Task AssertSuccessAsync(ServerHost node, string key, string body)
    {
        using var sdk = node.Anonymous();
        sdk.DefaultRequestHeaders.Add("X-Tggl-Api-Key", key);
        var answer = await (await sdk.SendRawAsync(HttpMethod.Post, "report", body)).ReadJsonAsync();
        Assert.True(JsonNode.DeepEquals(Json("""{"success":true}"""), answer), answer.ToJsonString());
    }

    private async Task<(IReadOnlyList<JsonNode> Items, long Total)> PageAsync(string path)
    {
        var response = await Admin.GetAsync(path);
        var items = (await response.ReadJsonAsync()).AsArray();
        return ([.. items.Select(i => i!)], long.Parse(response.Headers.GetValues("X-Total-Count").Single(), System.Globalization.CultureInfo.InvariantCulture));
    }

    private async Task<Dictionary<string, long>> DroppedAsync(string project) =>
        (await Admin.GetJsonAsync($"api/projects/{project}/usage/dropped")).AsArray()
            .ToDictionary(d => d!["reason"]!.GetValue<string>(), d => d!["count"]!.GetValue<long>());
}

public sealed class SqliteReportFloodTests(SqliteServer server) : ReportFloodTests(server), IClassFixture<SqliteServer>;

public sealed class PostgresReportFloodTests(PostgresServer server) : ReportFloodTests(server), IClassFixture<PostgresServer>;
