using System.Net;
using System.Text.Json.Nodes;
using Flagstaff.Testing;

namespace Flagstaff.Server.Tests;

/// <summary>OFREP and the configuration stream, on each database.</summary>
public abstract class OfrepAndStreamTests(ServerFixture fixture) : EvaluationApiTestsBase(fixture)
{
    private HttpClient Ofrep(string key)
    {
        var client = Server.Anonymous();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private async Task<(string Project, string Client)> OfrepProjectAsync()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "checkout", Json("""{"valueType":"string","variations":[{"key":"classic","value":"classic"},{"key":"fast","value":"fast"},{"key":"off","fallback":true}]}""").AsObject());
        await (await Admin.PutJsonAsync($"api/projects/{project}/flags/checkout/environments/production", Json("""
            {"enabled":true,
             "rules":[
               {"clauses":[{"property":"email","operator":"STR_ENDS_WITH","values":["@acme.com"]}],"serve":{"variation":"fast"}},
               {"clauses":[{"property":"beta","operator":"TRUE"}],"serve":{"split":{"buckets":[{"variation":"fast","weight":50},{"variation":"classic","weight":50}]}}},
               {"clauses":[{"property":"banned","operator":"TRUE"}],"serve":{"variation":"off"}}],
             "defaultServe":{"variation":"classic"}}
            """), "\"1\"")).ReadJsonAsync();
        await CreateFlagAsync(project, "dormant");
        return (project, await CreateKeyAsync(project, "production", "client"));
    }

    [Fact]
    public async Task Ofrep_reasons_say_what_decided()
    {
        var (_, key) = await OfrepProjectAsync();
        using var http = Ofrep(key);

        var match = await (await http.PostJsonAsync("ofrep/v1/evaluate/flags/checkout", Json("""{"context":{"targetingKey":"u1","email":"ann@acme.com"}}"""))).ReadJsonAsync();
        Assert.Equal(("fast", "TARGETING_MATCH", "fast"), (match["value"]!.GetValue<string>(), match["reason"]!.GetValue<string>(), match["variant"]!.GetValue<string>()));

        var split = await (await http.PostJsonAsync("ofrep/v1/evaluate/flags/checkout", Json("""{"context":{"targetingKey":"u1","beta":true}}"""))).ReadJsonAsync();
        Assert.Equal("SPLIT", split["reason"]!.GetValue<string>());
        Assert.Contains(split["variant"]!.GetValue<string>(), new[] { "fast", "classic" });

        var byDefault = await (await http.PostJsonAsync("ofrep/v1/evaluate/flags/checkout", Json("""{"context":{"targetingKey":"u1"}}"""))).ReadJsonAsync();
        Assert.Equal(("classic", "STATIC"), (byDefault["value"]!.GetValue<string>(), byDefault["reason"]!.GetValue<string>()));

        var fallback = await (await http.PostJsonAsync("ofrep/v1/evaluate/flags/checkout", Json("""{"context":{"targetingKey":"u1","banned":true}}"""))).ReadJsonAsync();
        Assert.Equal(("DISABLED", "off"), (fallback["reason"]!.GetValue<string>(), fallback["variant"]!.GetValue<string>()));
        Assert.False(fallback.AsObject().ContainsKey("value"));

        var off = await (await http.PostJsonAsync("ofrep/v1/evaluate/flags/dormant", Json("""{"context":{"targetingKey":"u1"}}"""))).ReadJsonAsync();
        Assert.Equal("DISABLED", off["reason"]!.GetValue<string>());
        Assert.False(off.AsObject().ContainsKey("value"));
    }

    [Fact]
    public async Task Every_bucket_of_a_default_split_reports_split_and_arrays_are_evaluation_failures()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "rollout", Json("""{"valueType":"string","variations":[{"key":"a","value":"a"},{"key":"b","value":"b"}]}""").AsObject());
        await (await Admin.PutJsonAsync($"api/projects/{project}/flags/rollout/environments/production", Json("""
            {"enabled":true,"rules":[],"defaultServe":{"split":{"buckets":[{"variation":"a","weight":50},{"variation":"b","weight":50}]}}}
            """), "\"1\"")).ReadJsonAsync();
        await CreateFlagAsync(project, "list", Json("""{"valueType":"json","variations":[{"key":"many","value":[1,2]},{"key":"one","value":{"n":1}}]}""").AsObject());
        await (await Admin.PutJsonAsync($"api/projects/{project}/flags/list/environments/production", Json("""
            {"enabled":true,"rules":[{"clauses":[{"property":"plan","operator":"STR_EQUAL","values":["pro"]}],"serve":{"variation":"one"}}],"defaultServe":{"variation":"many"}}
            """), "\"1\"")).ReadJsonAsync();
        using var http = Ofrep(await CreateKeyAsync(project, "production", "client"));

        // The last bucket is compiled as the wire default; it is still a split that decided.
        var variants = new Dictionary<string, string>();
        for (int i = 0; i < 30; i++)
        {
            var result = await (await http.PostJsonAsync("ofrep/v1/evaluate/flags/rollout", Json($$$"""{"context":{"targetingKey":"user-{{{i}}}"}}"""))).ReadJsonAsync();
            variants[result["variant"]!.GetValue<string>()] = result["reason"]!.GetValue<string>();
        }

        Assert.Equal(new Dictionary<string, string> { ["a"] = "SPLIT", ["b"] = "SPLIT" }, variants);

        // OFREP has no array type: a failure saying why, never an off-schema success.
        var array = await (await http.PostJsonAsync("ofrep/v1/evaluate/flags/list", Json("""{"context":{"targetingKey":"u1"}}"""))).ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal(("list", "GENERAL"), (array["key"]!.GetValue<string>(), array["errorCode"]!.GetValue<string>()));
        Assert.Contains("JSON array", array["errorDetails"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.False(array.AsObject().ContainsKey("value"));
        var obj = await (await http.PostJsonAsync("ofrep/v1/evaluate/flags/list", Json("""{"context":{"targetingKey":"u1","plan":"pro"}}"""))).ReadJsonAsync();
        Assert.Equal(1, obj["value"]!["n"]!.GetValue<int>());

        var bulk = await (await http.PostJsonAsync("ofrep/v1/evaluate/flags", Json("""{"context":{"targetingKey":"u1"}}"""))).ReadJsonAsync();
        var listed = bulk["flags"]!.AsArray().Single(f => f!["key"]!.GetValue<string>() == "list")!;
        Assert.Equal("GENERAL", listed["errorCode"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_json_flag_can_serve_null_which_ofrep_answers_as_a_failure()
    {
        var project = await NewProjectAsync();
        var created = await CreateFlagAsync(project, "nullable", Json("""{"valueType":"json","variations":[{"key":"nothing","value":null},{"key":"some","value":{"n":1}},{"key":"off","fallback":true}]}""").AsObject());
        var nothing = created["flag"]!["variations"]![0]!.AsObject();
        Assert.True(nothing.ContainsKey("value") && nothing["value"] is null, nothing.ToJsonString());
        await (await Admin.PutJsonAsync($"api/projects/{project}/flags/nullable/environments/production", Json("""
            {"enabled":true,"rules":[],"defaultServe":{"variation":"nothing"}}
            """), "\"1\"")).ReadJsonAsync();

        // A boolean flag's value still cannot be null.
        var refused = await (await Admin.PostJsonAsync($"api/projects/{project}/flags", Json("""{"key":"b","name":"B","variations":[{"key":"on","value":null}]}"""))).ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains("variations[0].value", refused.ToJsonString(), StringComparison.Ordinal);

        var key = await CreateKeyAsync(project, "production", "client");
        using var tggl = WithKey(key);
        var served = await (await tggl.PostJsonAsync("flags", Json("{}"))).ReadJsonAsync();
        Assert.True(served.AsObject().ContainsKey("nullable"));
        Assert.Null(served["nullable"]);

        using var http = Ofrep(key);
        var failure = await (await http.PostJsonAsync("ofrep/v1/evaluate/flags/nullable", Json("""{"context":{"targetingKey":"u1"}}"""))).ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("GENERAL", failure["errorCode"]!.GetValue<string>());
        Assert.Contains("serves null", failure["errorDetails"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ofrep_accepts_a_key_in_authorization_without_the_bearer_word()
    {
        var (_, key) = await OfrepProjectAsync();
        using var http = Server.Anonymous();
        http.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", key);

        var result = await (await http.PostJsonAsync("ofrep/v1/evaluate/flags/checkout", Json("""{"context":{"targetingKey":"u1"}}"""))).ReadJsonAsync();
        Assert.Equal("classic", result["value"]!.GetValue<string>());
        await (await http.PostJsonAsync("ofrep/v1/evaluate/flags", Json("""{"context":{"targetingKey":"u1"}}"""))).ReadJsonAsync();

        // The Tggl routes keep their own headers.
        await (await http.PostJsonAsync("flags", Json("{}"))).ReadJsonAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task The_targeting_key_stands_for_the_stickiness_property_so_splits_are_sticky()
    {
        var (_, key) = await OfrepProjectAsync();
        using var http = Ofrep(key);

        var variants = new HashSet<string>();
        for (int i = 0; i < 40; i++)
        {
            var byTargetingKey = await (await http.PostJsonAsync("ofrep/v1/evaluate/flags/checkout", Json($$$"""{"context":{"targetingKey":"user-{{{i}}}","beta":true}}"""))).ReadJsonAsync();
            var byUserId = await (await http.PostJsonAsync("ofrep/v1/evaluate/flags/checkout", Json($$$"""{"context":{"userId":"user-{{{i}}}","beta":true}}"""))).ReadJsonAsync();
            Assert.Equal(byUserId["variant"]!.GetValue<string>(), byTargetingKey["variant"]!.GetValue<string>());
            variants.Add(byTargetingKey["variant"]!.GetValue<string>());
        }

        Assert.Equal(2, variants.Count);
    }

    [Fact]
    public async Task Ofrep_errors_use_the_protocol_codes_and_statuses()
    {
        var (_, key) = await OfrepProjectAsync();
        using var http = Ofrep(key);

        var missing = await (await http.PostJsonAsync("ofrep/v1/evaluate/flags/nope", Json("""{"context":{"targetingKey":"u1"}}"""))).ReadJsonAsync(HttpStatusCode.NotFound);
        Assert.Equal(("nope", "FLAG_NOT_FOUND"), (missing["key"]!.GetValue<string>(), missing["errorCode"]!.GetValue<string>()));

        var parse = await (await http.SendRawAsync(HttpMethod.Post, "ofrep/v1/evaluate/flags/checkout", "{\"context\":")).ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("PARSE_ERROR", parse["errorCode"]!.GetValue<string>());

        var invalid = await (await http.PostJsonAsync("ofrep/v1/evaluate/flags/checkout", Json("""{"context":["x"]}"""))).ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("INVALID_CONTEXT", invalid["errorCode"]!.GetValue<string>());
        var badKey = await (await http.PostJsonAsync("ofrep/v1/evaluate/flags/checkout", Json("""{"context":{"targetingKey":5}}"""))).ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("INVALID_CONTEXT", badKey["errorCode"]!.GetValue<string>());

        await (await Ofrep("fs_client_nope").PostJsonAsync("ofrep/v1/evaluate/flags/checkout", Json("{}"))).ReadJsonAsync(HttpStatusCode.Unauthorized);
        using var apiKeyHeader = WithKey(key, "X-API-Key");
        await (await apiKeyHeader.PostJsonAsync("ofrep/v1/evaluate/flags/checkout", Json("{}"))).ReadJsonAsync();
    }

    [Fact]
    public async Task Bulk_evaluation_lists_flags_that_are_off_to_server_keys_only()
    {
        var (project, client) = await OfrepProjectAsync();
        var server = await CreateKeyAsync(project, "production", "server");
        var context = Json("""{"context":{"targetingKey":"u1"}}""");
        using var withClient = Ofrep(client);
        using var withServer = Ofrep(server);

        // A client key ships in web pages: "dormant" is off, and its name is not for the public.
        var response = await withClient.PostJsonAsync("ofrep/v1/evaluate/flags", context);
        var bulk = await response.ReadJsonAsync();
        Assert.Equal(["checkout"], bulk["flags"]!.AsArray().Select(f => f!["key"]!.GetValue<string>()));
        Assert.DoesNotContain("dormant", bulk.ToJsonString(), StringComparison.Ordinal);
        var clientEtag = response.ETag();

        var full = await (await withServer.PostJsonAsync("ofrep/v1/evaluate/flags", context)).ReadJsonAsync();
        Assert.Equal(["checkout", "dormant"], full["flags"]!.AsArray().Select(f => f!["key"]!.GetValue<string>()));
        Assert.Equal("DISABLED", full["flags"]![1]!["reason"]!.GetValue<string>());

        // Switched on, it is listed to the client key too, and the ETag (of what is listed) changes.
        await (await Admin.PostJsonAsync($"api/projects/{project}/flags/dormant/environments/production/on", null)).ReadJsonAsync();
        var after = await withClient.PostJsonAsync("ofrep/v1/evaluate/flags", context);
        Assert.Equal(["checkout", "dormant"], (await after.ReadJsonAsync())["flags"]!.AsArray().Select(f => f!["key"]!.GetValue<string>()));
        Assert.NotEqual(clientEtag, after.ETag());
    }

    [Fact]
    public async Task Bulk_evaluation_has_an_etag_that_changes_only_when_the_answers_do()
    {
        var (project, key) = await OfrepProjectAsync();
        using var http = Ofrep(key);
        var context = Json("""{"context":{"targetingKey":"u1","email":"ann@acme.com"}}""");

        var response = await http.PostJsonAsync("ofrep/v1/evaluate/flags", context);
        var bulk = await response.ReadJsonAsync();
        Assert.Equal(["checkout"], bulk["flags"]!.AsArray().Select(f => f!["key"]!.GetValue<string>()));
        var etag = response.ETag();
        var streamUrl = bulk["eventStreams"]![0]!["url"]!.GetValue<string>();
        Assert.DoesNotContain(key, streamUrl, StringComparison.Ordinal);

        async Task<HttpStatusCode> Again(string query = "")
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "ofrep/v1/evaluate/flags" + query) { Content = new StringContent(context.ToJsonString(), System.Text.Encoding.UTF8, "application/json") };
            request.Headers.TryAddWithoutValidation("If-None-Match", etag);
            return (await http.SendAsync(request)).StatusCode;
        }

        Assert.Equal(HttpStatusCode.NotModified, await Again());

        // A re-fetch naming a configuration other than the current one gets a full answer.
        Assert.Equal(HttpStatusCode.OK, await Again("?flagConfigEtag=999999"));
        Assert.Equal(HttpStatusCode.NotModified, await Again("?flagConfigEtag=" + bulk["metadata"]!["configVersion"]!.GetValue<long>()));

        // A change that does not change this context's answers keeps the ETag...
        await (await Admin.PostJsonAsync($"api/projects/{project}/flags/dormant/environments/staging/on", null)).ReadJsonAsync();
        Assert.Equal(HttpStatusCode.NotModified, await Again());

        // The event stream opens with a refetch at the current version (a change made between the
        // client's fetch and its connection is not missed; here its re-fetch is answered 304)...
        await using var events = await SseReader.ConnectAsync(Server.Anonymous(), streamUrl);
        Assert.Equal(HttpStatusCode.OK, events.Status);
        var opening = JsonNode.Parse((await events.NextAsync()).Data)!;
        Assert.Equal("refetchEvaluation", opening["type"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotModified, await Again());

        // ...and a change that alters this context's answers changes the ETag, and the stream says so.
        await (await Admin.PutJsonAsync($"api/projects/{project}/flags/dormant/environments/production", Json("""{"enabled":true,"defaultServe":{"variation":"on"}}"""), "\"1\"")).ReadJsonAsync();
        var notification = JsonNode.Parse((await events.NextAsync()).Data)!;
        Assert.Equal("refetchEvaluation", notification["type"]!.GetValue<string>());
        Assert.True(long.Parse(notification["etag"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) > long.Parse(opening["etag"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(HttpStatusCode.OK, await Again());
    }

    [Fact]
    public async Task The_stream_sends_the_configuration_then_each_change_as_a_patch()
    {
        var (project, server, _) = await SetUpAsync();
        await using var stream = await SseReader.ConnectAsync(WithKey(server), "stream");

        var first = await stream.NextAsync();
        Assert.Equal("config", first.Event);
        var config = JsonNode.Parse(first.Data)!;
        Assert.Equal(first.Id, config["version"]!.ToJsonString());
        Assert.Equal(["banner", "search"], config["flags"]!.AsArray().Select(f => f!["slug"]!.GetValue<string>()).Order());

        await (await Admin.PostJsonAsync($"api/projects/{project}/flags/dark/environments/production/on", null)).ReadJsonAsync();
        var on = await stream.NextAsync();
        Assert.Equal("patch", on.Event);
        var patch = JsonNode.Parse(on.Data)!;
        Assert.Equal("dark", Assert.Single(patch["flags"]!.AsArray())!["slug"]!.GetValue<string>());
        Assert.Empty(patch["deleted"]!.AsArray());
        Assert.Equal(long.Parse(first.Id!, System.Globalization.CultureInfo.InvariantCulture) + 1, long.Parse(on.Id!, System.Globalization.CultureInfo.InvariantCulture));

        await (await Admin.PostJsonAsync($"api/projects/{project}/flags/search/environments/production/off", null)).ReadJsonAsync();
        var off = JsonNode.Parse((await stream.NextAsync()).Data)!;
        Assert.Empty(off["flags"]!.AsArray());
        Assert.Equal("search", Assert.Single(off["deleted"]!.AsArray())!.GetValue<string>());

        // Changes to another environment are not sent.
        await (await Admin.PostJsonAsync($"api/projects/{project}/flags/dark/environments/staging/on", null)).ReadJsonAsync();
        await (await Admin.PostJsonAsync($"api/projects/{project}/flags/search/environments/production/on", null)).ReadJsonAsync();
        var next = JsonNode.Parse((await stream.NextAsync()).Data)!;
        Assert.Equal("search", Assert.Single(next["flags"]!.AsArray())!["slug"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_client_that_reconnects_with_last_event_id_gets_only_what_it_missed()
    {
        var (project, server, _) = await SetUpAsync();
        string lastId;
        await using (var stream = await SseReader.ConnectAsync(WithKey(server), "stream"))
        {
            lastId = (await stream.NextAsync()).Id!;
        }

        await (await Admin.PostJsonAsync($"api/projects/{project}/flags/dark/environments/production/on", null)).ReadJsonAsync();
        await (await Admin.PatchJsonAsync($"api/projects/{project}/flags/banner", Json("""{"name":"Banner!"}"""), "\"1\"")).ReadJsonAsync();

        await using var resumed = await SseReader.ConnectAsync(WithKey(server), "stream", new Dictionary<string, string> { ["Last-Event-ID"] = lastId });
        var missed = await resumed.NextAsync();
        Assert.Equal("patch", missed.Event);
        Assert.Equal(["banner", "dark"], JsonNode.Parse(missed.Data)!["flags"]!.AsArray().Select(f => f!["slug"]!.GetValue<string>()).Order());

        // Up to date: nothing until the next change.
        await using var current = await SseReader.ConnectAsync(WithKey(server), "stream", new Dictionary<string, string> { ["Last-Event-ID"] = missed.Id! });
        await Assert.ThrowsAsync<TimeoutException>(() => current.NextAsync(TimeSpan.FromMilliseconds(500)));

        // A version the server has no history for gets the whole configuration.
        await using var lost = await SseReader.ConnectAsync(WithKey(server), "stream", new Dictionary<string, string> { ["Last-Event-ID"] = "0" });
        Assert.Equal("config", (await lost.NextAsync()).Event);
    }

    [Fact]
    public async Task Revoking_a_key_closes_its_open_streams()
    {
        var (project, server, _) = await SetUpAsync();
        await using var stream = await SseReader.ConnectAsync(WithKey(server), "stream");
        await stream.NextAsync();

        var keys = await Admin.GetJsonAsync($"api/projects/{project}/environments/production/keys");
        var id = keys.AsArray().Single(k => k!["kind"]!.GetValue<string>() == "server")!["id"]!.GetValue<string>();
        await (await Admin.DeleteAsync($"api/projects/{project}/environments/production/keys/{id}", null)).ReadJsonAsync();

        await stream.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        await (await WithKey(server).GetAsync("stream")).ReadJsonAsync(HttpStatusCode.Unauthorized);
    }
}

public sealed class SqliteOfrepAndStreamTests(SqliteServer server) : OfrepAndStreamTests(server), IClassFixture<SqliteServer>;

public sealed class PostgresOfrepAndStreamTests(PostgresServer server) : OfrepAndStreamTests(server), IClassFixture<PostgresServer>;
