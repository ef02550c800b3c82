using System.Net;
using System.Text.Json.Nodes;
using Flagstaff.Evaluation;
using Flagstaff.Server.Reports;
using Flagstaff.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Flagstaff.Server.Tests;

/// <summary>Projects, flags and keys for tests of the evaluation endpoints.</summary>
public abstract class EvaluationApiTestsBase(ServerFixture fixture) : ServerTest(fixture)
{
    private const string Targeting = """
        {"enabled":true,
         "rules":[
           {"clauses":[{"property":"accountId","operator":"STR_EQUAL","values":["a1","a2"]}],"serve":{"variation":"on"}},
           {"clauses":[{"property":"plan","operator":"STR_EQUAL","values":["free"]}],"serve":{"variation":"off"}}],
         "defaultServe":{"split":{"property":"accountId","buckets":[{"variation":"on","weight":30},{"variation":"off","weight":70}]}}}
        """;

    protected async Task<(string Project, string Server, string Client)> SetUpAsync()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "search");
        await (await Admin.PutJsonAsync($"api/projects/{project}/flags/search/environments/production", Json(Targeting), "\"1\"")).ReadJsonAsync();
        await CreateFlagAsync(project, "banner", Json("""{"valueType":"json","variations":[{"key":"big","value":{"size":3,"text":"Hi"}},{"key":"none","fallback":true}]}""").AsObject());
        await (await Admin.PostJsonAsync($"api/projects/{project}/flags/banner/environments/production/on", null)).ReadJsonAsync();
        await CreateFlagAsync(project, "dark");
        return (project, await CreateKeyAsync(project, "production", "server"), await CreateKeyAsync(project, "production", "client"));
    }

    protected async Task<string> CreateKeyAsync(string project, string environment, string kind) =>
        (await (await Admin.PostJsonAsync($"api/projects/{project}/environments/{environment}/keys", new JsonObject { ["name"] = kind, ["kind"] = kind }))
            .ReadJsonAsync(HttpStatusCode.Created))["secret"]!.GetValue<string>();

    protected HttpClient WithKey(string key, string header = "X-Tggl-Api-Key")
    {
        var client = Server.Anonymous();
        client.DefaultRequestHeaders.Add(header, key);
        return client;
    }
}

/// <summary>The Tggl-compatible evaluation API and its key rules, on each database.</summary>
public abstract class EvaluationApiTests(ServerFixture fixture) : EvaluationApiTestsBase(fixture)
{
    [Fact]
    public async Task Post_flags_answers_the_active_flags_for_one_context_and_for_a_batch()
    {
        var (_, _, client) = await SetUpAsync();
        using var http = WithKey(client);

        var one = await (await http.PostJsonAsync("flags", Json("""{"accountId":"a1"}"""))).ReadJsonAsync();
        Assert.True(JsonNode.DeepEquals(Json("""{"search":true}"""), one), one.ToJsonString());

        var batch = await (await http.PostJsonAsync("flags", Json("""[{"accountId":"a2"},{"plan":"free","accountId":"zz"},{}]"""))).ReadJsonAsync();
        Assert.Equal(3, batch.AsArray().Count);
        Assert.True(JsonNode.DeepEquals(Json("""{"search":true}"""), batch[0]));
        Assert.True(JsonNode.DeepEquals(Json("{}"), batch[1]), batch[1]!.ToJsonString());

        // The fallback serves nothing: the banner (on, default = the fallback) is inactive.
        Assert.False(batch[2]!.AsObject().ContainsKey("banner"));
    }

    [Fact]
    public async Task Str_equal_soft_values_are_lower_cased_as_JavaScript_does()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "soft");
        await (await Admin.PutJsonAsync($"api/projects/{project}/flags/soft/environments/production", Json("""
            {"enabled":true,"rules":[{"clauses":[{"property":"city","operator":"STR_EQUAL_SOFT","values":["İstanbul","ΟΔΟΣ"]}],"serve":{"variation":"on"}}],"defaultServe":{"variation":"off"}}
            """), "\"1\"")).ReadJsonAsync();
        using var serverHttp = WithKey(await CreateKeyAsync(project, "production", "server"));
        using var http = WithKey(await CreateKeyAsync(project, "production", "client"));

        // JavaScript: "İ" lower-cases to "i" and U+0307, a final capital sigma to "ς"; .NET's invariant
        // mapping keeps "İ" and gives "σ", which no lower-cased property ever equals.
        var config = await (await serverHttp.GetAsync("config")).ReadJsonAsync();
        var values = config[0]!["conditions"]![0]!["rules"]![0]!["values"]!.AsArray().Select(v => v!.GetValue<string>());
        Assert.Equal(["i\u0307stanbul", "οδος"], values);

        var answers = (await (await http.PostJsonAsync("flags", Json("""[{"city":"İSTANBUL"},{"city":"Οδος"},{"city":"istanbul"},{"city":"οδοσ"}]"""))).ReadJsonAsync()).AsArray();
        Assert.Equal([true, true, false, false], answers.Select(a => a!.AsObject().ContainsKey("soft")));
    }

    [Fact]
    public async Task Post_flags_agrees_with_the_evaluation_core_on_the_served_configuration_for_many_contexts()
    {
        var (_, server, client) = await SetUpAsync();
        using var http = WithKey(client);
        using var serverHttp = WithKey(server);
        var config = FlagConfiguration.Load(await (await serverHttp.GetAsync("config")).Content.ReadAsByteArrayAsync(), LoadMode.Strict).GetConfigurationOrThrow();

        var contexts = new JsonArray([.. Enumerable.Range(0, 300).Select(i => (JsonNode)new JsonObject { ["accountId"] = "acct-" + i, ["plan"] = i % 7 == 0 ? "free" : "pro", ["timestamp"] = 1_800_000_000_000 })]);
        var answers = (await (await http.PostJsonAsync("flags", contexts)).ReadJsonAsync()).AsArray();

        int inSplit = 0;
        for (int i = 0; i < contexts.Count; i++)
        {
            var expected = config.EvaluateActive(EvaluationContext.FromJson(contexts[i]!.AsObject()));
            var actual = answers[i]!.AsObject();
            Assert.Equal(expected.Keys.Order(), actual.Select(p => p.Key).Order());
            foreach (var (slug, value) in expected)
            {
                Assert.True(JsonNode.DeepEquals(JsonNode.Parse(value.ToJson()), actual[slug]));
            }

            inSplit += actual.ContainsKey("search") ? 1 : 0;
        }

        // About 30 % of the "pro" accounts land in the split.
        Assert.InRange(inSplit, 40, 110);
    }

    [Fact]
    public async Task The_server_adds_timestamp_ip_and_referer_unless_the_caller_set_them()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "local-only");
        await (await Admin.PutJsonAsync($"api/projects/{project}/flags/local-only/environments/production", Json("""
            {"enabled":true,"rules":[{"clauses":[{"property":"ip","operator":"STR_EQUAL","values":["127.0.0.1"]},{"property":"referer","operator":"STR_STARTS_WITH","values":["https://shop.example"]},
             {"property":"timestamp","operator":"DATE_AFTER","date":"2020-01-01T00:00:00Z"}],"serve":{"variation":"on"}}],"defaultServe":{"variation":"off"}}
            """), "\"1\"")).ReadJsonAsync();
        using var http = WithKey(await CreateKeyAsync(project, "production", "client"));
        http.DefaultRequestHeaders.Referrer = new Uri("https://shop.example/cart");

        Assert.True((await (await http.PostJsonAsync("flags", Json("{}"))).ReadJsonAsync()).AsObject().ContainsKey("local-only"));
        Assert.False((await (await http.PostJsonAsync("flags", Json("""{"ip":"10.0.0.9"}"""))).ReadJsonAsync()).AsObject().ContainsKey("local-only"));
        Assert.False((await (await http.PostJsonAsync("flags", Json("""{"timestamp":1000000000000}"""))).ReadJsonAsync()).AsObject().ContainsKey("local-only"));
    }

    [Fact]
    public async Task Get_config_serves_the_flags_that_are_on_with_an_etag_and_304()
    {
        var (project, server, _) = await SetUpAsync();
        using var http = WithKey(server);

        var response = await http.GetAsync("config");
        var config = await response.ReadJsonAsync();
        Assert.Equal(["banner", "search"], config.AsArray().Select(f => f!["slug"]!.GetValue<string>()).Order());
        var etag = response.ETag();
        Assert.True(FlagConfiguration.Load(config.ToJsonString(), LoadMode.Strict).IsValid);

        var unchanged = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "config") { Headers = { { "If-None-Match", etag } } });
        Assert.Equal(HttpStatusCode.NotModified, unchanged.StatusCode);

        await (await Admin.PostJsonAsync($"api/projects/{project}/flags/dark/environments/production/on", null)).ReadJsonAsync();
        var changed = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "config") { Headers = { { "If-None-Match", etag } } });
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.NotEqual(etag, changed.ETag());
        Assert.Equal(3, (await changed.ReadJsonAsync()).AsArray().Count);
    }

    [Fact]
    public async Task A_kill_switch_takes_effect_as_soon_as_the_api_answers()
    {
        var (project, _, client) = await SetUpAsync();
        using var http = WithKey(client);
        Assert.True((await (await http.PostJsonAsync("flags", Json("""{"accountId":"a1"}"""))).ReadJsonAsync()).AsObject().ContainsKey("search"));

        await (await Admin.PostJsonAsync($"api/projects/{project}/flags/search/environments/production/off", null)).ReadJsonAsync();

        Assert.False((await (await http.PostJsonAsync("flags", Json("""{"accountId":"a1"}"""))).ReadJsonAsync()).AsObject().ContainsKey("search"));
    }

    [Fact]
    public async Task Keys_are_checked_missing_unknown_and_revoked_give_401_and_client_keys_cannot_read_the_configuration()
    {
        var (project, server, client) = await SetUpAsync();

        var missing = await (await Server.Anonymous().PostJsonAsync("flags", Json("{}"))).ReadJsonAsync(HttpStatusCode.Unauthorized);
        Assert.Contains("X-Tggl-Api-Key", missing["error"]!.GetValue<string>(), StringComparison.Ordinal);
        await (await WithKey("fs_client_nope").PostJsonAsync("flags", Json("{}"))).ReadJsonAsync(HttpStatusCode.Unauthorized);

        var forbidden = await (await WithKey(client).GetAsync("config")).ReadJsonAsync(HttpStatusCode.Forbidden);
        Assert.Contains("server API key", forbidden["error"]!.GetValue<string>(), StringComparison.Ordinal);
        await (await WithKey(client).GetAsync("stream")).ReadJsonAsync(HttpStatusCode.Forbidden);
        await (await WithKey(client).GetAsync("typing")).ReadJsonAsync(HttpStatusCode.Forbidden);

        // Both header forms work.
        await (await WithKey(server).GetAsync("config")).ReadJsonAsync();
        using var bearer = Server.Anonymous();
        bearer.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", server);
        await (await bearer.GetAsync("config")).ReadJsonAsync();

        // Keys in the query string are refused, not silently accepted.
        var query = await (await Server.Anonymous().GetAsync($"config?apiKey={server}")).ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains("headers only", query["error"]!.GetValue<string>(), StringComparison.Ordinal);

        var keys = await Admin.GetJsonAsync($"api/projects/{project}/environments/production/keys");
        var serverKeyId = keys.AsArray().Single(k => k!["kind"]!.GetValue<string>() == "server")!["id"]!.GetValue<string>();
        await (await Admin.DeleteAsync($"api/projects/{project}/environments/production/keys/{serverKeyId}", null)).ReadJsonAsync();
        await (await WithKey(server).GetAsync("config")).ReadJsonAsync(HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("[1]", "Element 0 of the batch is not a context object")]
    [InlineData("\"text\"", "must be a context object")]
    [InlineData("{\"a\":", "is not valid JSON")]
    [InlineData("", "The body is empty")]
    [InlineData("{} {}", "is not valid JSON")]
    public async Task Bad_bodies_get_400_with_the_tggl_error_shape(string body, string message)
    {
        var (_, _, client) = await SetUpAsync();

        var error = await (await WithKey(client).SendRawAsync(HttpMethod.Post, "flags", body)).ReadJsonAsync(HttpStatusCode.BadRequest);

        Assert.Contains(message, error["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Limits_are_explicit_body_size_nesting_batch_and_context_size()
    {
        var (_, _, client) = await SetUpAsync();
        using var http = WithKey(client);

        // A client that asks before sending (Expect: 100-continue) gets the 413 without uploading the body.
        using var large = new HttpRequestMessage(HttpMethod.Post, "flags") { Content = new StringContent("{\"a\":\"" + new string('x', 1_100_000) + "\"}", System.Text.Encoding.UTF8, "application/json") };
        large.Headers.ExpectContinue = true;
        var tooLarge = await (await http.SendAsync(large)).ReadJsonAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("limit of 1048576 bytes", tooLarge["error"]!.GetValue<string>(), StringComparison.Ordinal);

        var deep = new string('[', 40) + new string(']', 40);
        var nesting = await (await http.SendRawAsync(HttpMethod.Post, "flags", "{\"a\":" + deep + "}")).ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains("depth", nesting["error"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);

        var batch = await (await http.SendRawAsync(HttpMethod.Post, "flags", "[" + string.Join(",", Enumerable.Repeat("{}", 1_001)) + "]")).ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains("at most 1000", batch["error"]!.GetValue<string>(), StringComparison.Ordinal);

        var wide = "{" + string.Join(",", Enumerable.Range(0, 501).Select(i => $"\"p{i}\":1")) + "}";
        var properties = await (await http.SendRawAsync(HttpMethod.Post, "flags", wide)).ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains("at most 500", properties["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Browsers_may_call_post_flags_from_any_origin()
    {
        var (_, _, client) = await SetUpAsync();
        using var http = Server.Anonymous();

        var preflight = await http.SendAsync(new HttpRequestMessage(HttpMethod.Options, "flags")
        {
            Headers = { { "Origin", "https://app.example" }, { "Access-Control-Request-Method", "POST" }, { "Access-Control-Request-Headers", "x-tggl-api-key, content-type" } },
        });
        Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
        Assert.Equal("*", preflight.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("X-Tggl-Api-Key", preflight.Headers.GetValues("Access-Control-Allow-Headers").Single(), StringComparison.Ordinal);

        var answer = await WithKey(client).PostJsonAsync("flags", Json("{}"));
        Assert.Equal("*", answer.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Fact]
    public async Task Reports_become_usage_counts_and_the_context_catalogue()
    {
        var (project, server, client) = await SetUpAsync();
        var report = Json("""
            {"clients":[{"id":"js-client:3.1.0/TgglLocalClient/checkout","flags":{"search":[{"value":true,"default":false,"count":12},{"value":null,"default":false,"count":3}]}}],
             "receivedProperties":{"accountId":[1732450000,1732450060],"plan":[1732450000,1732450000]},
             "receivedValues":{"accountId":[["a1"],["a2","Acme Corp"]],"plan":[["pro"]]}}
            """);

        var answer = await (await WithKey(client).PostJsonAsync("report", report)).ReadJsonAsync();
        Assert.True(answer["success"]!.GetValue<bool>(), answer.ToJsonString());
        await Server.Services.GetRequiredService<UsageAggregator>().FlushAsync(CancellationToken.None);

        var store = Server.Services.GetRequiredService<Flagstaff.Storage.Store>();
        var environment = await store.ReadAsync(async s => (await s.GetEnvironmentAsync((await s.GetProjectAsync(project))!.Id, "production"))!);
        long minute = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60;
        var usage = await store.ReadAsync(s => s.ListUsageAsync(environment.Id, "search", minute - 5, minute + 5));
        Assert.Equal(12, usage.Single(u => u.Value == "true").Count);
        Assert.Equal(3, usage.Single(u => u.Value == "null").Count);

        var properties = await Admin.GetJsonAsync($"api/projects/{project}/context-properties");
        Assert.Equal(["accountId", "plan"], properties.AsArray().Select(p => p!["key"]!.GetValue<string>()));

        var typing = await WithKey(server).GetJsonAsync("typing");
        Assert.True(typing["flags"] is not null, typing.ToJsonString());
        Assert.Equal(["a1", "a2"], typing["context"]!["accountId"]!["options"]!.AsArray().Select(o => o!["value"]!.GetValue<string>()).Order());
        Assert.Equal("STRING", typing["context"]!["plan"]!["type"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(Json("""[{"size":3,"text":"Hi"}]"""), typing["flags"]!["banner"]), typing.ToJsonString());
        Assert.True(JsonNode.DeepEquals(Json("[true]"), typing["flags"]!["search"]), typing.ToJsonString());

        await (await WithKey(client).SendRawAsync(HttpMethod.Post, "report", "{\"clients\":5}")).ReadJsonAsync(HttpStatusCode.BadRequest);
    }
}

public sealed class SqliteEvaluationApiTests(SqliteServer server) : EvaluationApiTests(server), IClassFixture<SqliteServer>;

public sealed class PostgresEvaluationApiTests(PostgresServer server) : EvaluationApiTests(server), IClassFixture<PostgresServer>;
