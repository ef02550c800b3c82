using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Flagstaff.Evaluation;
using Flagstaff.Server.Reports;
using Flagstaff.Storage;
using Flagstaff.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Flagstaff.Interop.Tests;

/// <summary>
/// Clients nobody on this team wrote, from the npm registry (tggl-client 3.x with tggl-core, the
/// OpenFeature server and web SDKs with their OFREP providers), run unchanged against the real server:
/// for a set of flags covering every operator and many contexts, they must give exactly the answers of
/// Flagstaff's own evaluator.
/// </summary>
public sealed class ClientsTests
{
    private const string Project = "interop";

    // One flag per operator (some with negation), plus splits, segments and non-boolean values.
    private static readonly (string Key, string Flag, string Targeting)[] Flags =
    [
        ("op-empty", "{}", Rule("""{"property":"nickname","operator":"EMPTY"}""")),
        ("op-not-empty", "{}", Rule("""{"property":"nickname","operator":"EMPTY","negate":true}""")),
        ("op-true", "{}", Rule("""{"property":"beta","operator":"TRUE"}""")),
        ("op-false", "{}", Rule("""{"property":"beta","operator":"TRUE","negate":true}""")),
        ("op-str-equal", "{}", Rule("""{"property":"country","operator":"STR_EQUAL","values":["FR","DE","ES","IT","NL","BE","PT","AT","IE","FI"]}""")),
        ("op-str-not-equal", "{}", Rule("""{"property":"country","operator":"STR_EQUAL","values":["FR"],"negate":true}""")),
        ("op-str-equal-soft", "{}", Rule("""{"property":"plan","operator":"STR_EQUAL_SOFT","values":["pro","42"]}""")),
        ("op-contains", "{}", Rule("""{"property":"email","operator":"STR_CONTAINS","values":["@acme","+test"]}""")),
        ("op-starts", "{}", Rule("""{"property":"userId","operator":"STR_STARTS_WITH","values":["admin-"]}""")),
        ("op-ends", "{}", Rule("""{"property":"email","operator":"STR_ENDS_WITH","values":[".org"]}""")),
        ("op-after", "{}", Rule("""{"property":"name","operator":"STR_AFTER","value":"m"}""")),
        ("op-before", "{}", Rule("""{"property":"name","operator":"STR_BEFORE","value":"m"}""")),
        ("op-regexp", "{}", Rule("""{"property":"email","operator":"REGEXP","value":"^[a-z]+\\d*@(acme|example)\\.(com|org)$"}""")),
        ("op-eq", "{}", Rule("""{"property":"age","operator":"EQ","value":42}""")),
        ("op-lt", "{}", Rule("""{"property":"age","operator":"LT","value":18}""")),
        ("op-gt", "{}", Rule("""{"property":"age","operator":"GT","value":65.5}""")),
        ("op-arr", "{}", Rule("""{"property":"roles","operator":"ARR_OVERLAP","values":["admin","editor"]}""")),
        ("op-date-after", "{}", Rule("""{"property":"createdAt","operator":"DATE_AFTER","date":"2024-06-01T12:00:00Z"}""")),
        ("op-date-before", "{}", Rule("""{"property":"createdAt","operator":"DATE_BEFORE","date":"2024-06-01T12:00:00Z"}""")),
        ("op-semver-eq", "{}", Rule("""{"property":"appVersion","operator":"SEMVER_EQ","version":"2.4"}""")),
        ("op-semver-gte", "{}", Rule("""{"property":"appVersion","operator":"SEMVER_GTE","version":"2.4.0"}""")),
        ("op-semver-lte", "{}", Rule("""{"property":"appVersion","operator":"SEMVER_LTE","version":"2.4.0"}""")),
        ("op-percentage", "{}", Rule("""{"property":"userId","operator":"PERCENTAGE","from":0,"to":30}""")),
        ("segment-members", "{}", Rule("""{"segment":"staff"}""")),
        ("split-checkout", """{"valueType":"string","variations":[{"key":"classic","value":"classic"},{"key":"fast","value":"fast"},{"key":"off","fallback":true}]}""",
            """{"enabled":true,"rules":[{"clauses":[{"property":"country","operator":"STR_EQUAL","values":["FR"]}],"serve":{"split":{"buckets":[{"variation":"fast","weight":50},{"variation":"classic","weight":50}]}}}],"defaultServe":{"split":{"property":"userId","buckets":[{"variation":"classic","weight":25},{"variation":"fast","weight":70},{"variation":"off","weight":5}]}}}"""),
        ("json-limits", """{"valueType":"json","variations":[{"key":"small","value":{"limit":10,"tags":["a"]}},{"key":"large","value":{"limit":1000,"nested":{"x":null}}}]}""",
            """{"enabled":true,"rules":[{"clauses":[{"property":"plan","operator":"STR_EQUAL","values":["enterprise"]}],"serve":{"variation":"large"}}],"defaultServe":{"variation":"small"}}"""),
        ("number-rate", """{"valueType":"number","variations":[{"key":"low","value":0.5},{"key":"high","value":1e21},{"key":"none","value":0}]}""",
            """{"enabled":true,"rules":[{"clauses":[{"property":"age","operator":"GT","value":30}],"serve":{"variation":"high"}}],"defaultServe":{"variation":"none"}}"""),
        ("off-everywhere", "{}", """{"enabled":false,"rules":[],"defaultServe":{"variation":"on"}}"""),

        // A migration flag: a string flag whose configuration carries a "migration" property the clients must skip.
        ("migration-orders", """{"kind":"migration","migration":{"path":"full","compareRate":0.5}}""",
            """{"enabled":true,"rules":[{"clauses":[{"property":"plan","operator":"STR_EQUAL","values":["enterprise"]}],"serve":{"variation":"live"}}],"defaultServe":{"split":{"property":"userId","buckets":[{"variation":"dualwrite","weight":60},{"variation":"shadow","weight":40}]}}}"""),
    ];

    private static string Rule(string clause) =>
        """{"enabled":true,"rules":[{"clauses":[CLAUSE],"serve":{"variation":"on"}}],"defaultServe":{"variation":"off"}}""".Replace("CLAUSE", clause, StringComparison.Ordinal);

    [Fact]
    public async Task Tggl_and_OpenFeature_clients_agree_with_our_evaluator_and_reach_every_endpoint()
    {
        await using var server = await ServerHost.StartAsync(DatabaseKind.Sqlite);
        using var admin = server.Admin();
        await SetUpAsync(admin);
        var serverKey = await KeyAsync(admin, "server");
        var clientKey = await KeyAsync(admin, "client");

        var contexts = Contexts(300);
        using var evaluate = server.Anonymous();
        evaluate.DefaultRequestHeaders.Add("X-Tggl-Api-Key", serverKey);
        var configuration = FlagConfiguration.Load(await (await evaluate.GetAsync("config")).Content.ReadAsByteArrayAsync(), LoadMode.Strict).GetConfigurationOrThrow();
        var expected = contexts.Select(c => configuration.EvaluateActive(EvaluationContext.FromJson(c!.AsObject()))).ToList();
        var ofrepCases = new JsonArray([.. contexts.Take(40).SelectMany((c, i) => Flags.Select(f => (JsonNode)new JsonObject
        {
            ["flag"] = f.Key,
            ["type"] = f.Key switch { "split-checkout" or "migration-orders" => "string", "json-limits" => "object", "number-rate" => "number", _ => "boolean" },
            ["context"] = Ofrep(c!, i),
        }))]);
        ofrepCases.Add(new JsonObject { ["flag"] = "does-not-exist", ["type"] = "boolean", ["context"] = new JsonObject { ["targetingKey"] = "u" } });

        var input = new JsonObject
        {
            ["contexts"] = contexts,
            ["flags"] = new JsonArray([.. Flags.Select(f => (JsonNode)f.Key)]),
            ["ofrep"] = ofrepCases,
            ["web"] = new JsonObject
            {
                ["context"] = new JsonObject { ["targetingKey"] = "web-user", ["email"] = "ann@acme.com", ["beta"] = true },
                ["flags"] = new JsonArray("op-contains", "op-true", "op-false"),
                ["toggle"] = "op-contains",
                ["unrelated"] = "op-eq",
            },
        };
        var output = await NodeClients.RunAsync(new Dictionary<string, string>
        {
            ["FLAGSTAFF_URL"] = server.Address.ToString(),
            ["FLAGSTAFF_SERVER_KEY"] = serverKey,
            ["FLAGSTAFF_CLIENT_KEY"] = clientKey,
            ["FLAGSTAFF_ADMIN_TOKEN"] = ServerHost.AdminToken,
            ["FLAGSTAFF_PROJECT"] = Project,
        }, input);

        // tggl-client: local (GET /config evaluated by tggl-core) and remote (POST /flags) agree with us.
        for (int i = 0; i < contexts.Count; i++)
        {
            var ours = ToJson(expected[i]);
            Assert.True(JsonNode.DeepEquals(ours, output["tgglLocal"]![i]), $"context {i} {contexts[i]!.ToJsonString()}: tggl-core {output["tgglLocal"]![i]!.ToJsonString()}, ours {ours.ToJsonString()}");
            Assert.True(JsonNode.DeepEquals(ours, output["tgglRemote"]![i]), $"context {i} {contexts[i]!.ToJsonString()}: POST /flags {output["tgglRemote"]![i]!.ToJsonString()}, ours {ours.ToJsonString()}");
        }

        // Every operator was exercised both ways by the contexts.
        foreach (var (key, _, _) in Flags.Where(f => f.Key.StartsWith("op-", StringComparison.Ordinal)))
        {
            Assert.Contains(expected, e => e.ContainsKey(key));
            Assert.Contains(expected, e => !e.ContainsKey(key));
        }

        // OpenFeature server SDK through OFREP: the same values, with reasons and variants.
        var results = output["ofrep"]!.AsArray();
        for (int n = 0; n < results.Count - 1; n++)
        {
            var result = results[n]!;
            var flag = ofrepCases[n]!["flag"]!.GetValue<string>();
            // The server lets the targeting key stand for the stickiness property (userId) when absent.
            var sent = ofrepCases[n]!["context"]!.AsObject().DeepClone().AsObject();
            if (!sent.ContainsKey("userId"))
            {
                sent["userId"] = sent["targetingKey"]!.DeepClone();
            }

            var ours = configuration.Evaluate(flag, EvaluationContext.FromJson(sent));
            if (ours.IsActive)
            {
                Assert.True(result["errorCode"] is null, result.ToJsonString());
                Assert.True(JsonNode.DeepEquals(JsonNode.Parse(ours.Value!.ToJson()), result["value"]), $"{flag}: {result.ToJsonString()}, ours {ours}");
                // A default split's last bucket is the wire default: still a split (spec/wire-api.md).
                bool defaultIsSplit = Flags.Single(f => f.Key == flag).Targeting.Contains("\"defaultServe\":{\"split\"", StringComparison.Ordinal);
                Assert.Equal(ours.Reason switch { EvaluationReason.Split => "SPLIT", EvaluationReason.TargetingMatch => "TARGETING_MATCH", _ => defaultIsSplit ? "SPLIT" : "STATIC" }, result["reason"]!.GetValue<string>());
            }
            else
            {
                // An inactive flag is answered without a value (spec/wire-api.md), so the application
                // gets the default in its code. @openfeature/ofrep-provider 0.1.3, the newest release,
                // predates that part of OFREP and reports it as a general error; either way the value
                // the application gets is its own default.
                var codeDefault = ofrepCases[n]!["type"]!.GetValue<string>() switch
                {
                    "string" => JsonValue.Create("code-default"),
                    "number" => JsonValue.Create(-1),
                    "object" => JsonNode.Parse("""{"codeDefault":true}"""),
                    _ => JsonValue.Create(false),
                };
                Assert.True(JsonNode.DeepEquals(codeDefault, result["value"]), result.ToJsonString());
                Assert.True(result["reason"]!.GetValue<string>() == "DISABLED" || result["errorCode"]?.GetValue<string>() == "GENERAL", result.ToJsonString());
            }
        }

        var missing = results[^1]!;
        Assert.Equal("FLAG_NOT_FOUND", missing["errorCode"]!.GetValue<string>());
        Assert.False(missing["value"]!.GetValue<bool>());

        // OpenFeature web SDK: bulk evaluation, a change pushed through the event stream, and a 304.
        // tggl-client configured as the README says sends a refused key nowhere but to Flagstaff.
        var fallback = output["fallback"]!;
        var requested = fallback["requested"]!.AsArray().Select(u => u!.GetValue<string>()).ToList();
        Assert.NotEmpty(requested);
        Assert.All(requested, url => Assert.StartsWith(server.Address.ToString().TrimEnd('/'), url, StringComparison.Ordinal));
        Assert.Contains("Unknown or revoked API key", fallback["remoteError"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("Unknown or revoked API key", fallback["localError"]!.GetValue<string>(), StringComparison.Ordinal);

        var web = output["web"]!;
        Assert.True(web["initial"]!["op-contains"]!["value"]!.GetValue<bool>());
        Assert.Equal("TARGETING_MATCH", web["initial"]!["op-contains"]!["reason"]!.GetValue<string>());
        Assert.False(web["afterChange"]!["op-contains"]!["value"]!.GetValue<bool>());

        // With a client key a flag that is off is not listed at all (its name is not public), so the
        // web SDK reports it as not found and serves the default written in the code.
        Assert.Equal("ERROR", web["afterChange"]!["op-contains"]!["reason"]!.GetValue<string>());
        var statuses = web["statuses"]!.AsArray().Select(s => s!.GetValue<int>()).ToList();
        Assert.Equal(304, statuses[^1]);
        Assert.Equal(200, statuses[0]);

        // The local client's usage reports reached POST /report.
        await server.Services.GetRequiredService<UsageAggregator>().FlushAsync(CancellationToken.None);
        var store = server.Services.GetRequiredService<Store>();
        var environment = await store.ReadAsync(async s => (await s.GetEnvironmentAsync((await s.GetProjectAsync(Project))!.Id, "production"))!);
        long minute = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60;
        var usage = await store.ReadAsync(s => s.ListUsageAsync(environment.Id, "op-contains", minute - 5, minute + 5));
        Assert.Equal(20, usage.Sum(u => u.Count));
        var properties = await admin.GetJsonAsync($"api/projects/{Project}/context-properties");
        Assert.Contains(properties.AsArray(), p => p!["key"]!.GetValue<string>() == "email");
    }

    private static async Task SetUpAsync(HttpClient admin)
    {
        await (await admin.PostJsonAsync("api/projects", JsonNode.Parse($$"""{"key":"{{Project}}","name":"Interop"}"""))).ReadJsonAsync(HttpStatusCode.Created);
        await (await admin.PostJsonAsync($"api/projects/{Project}/segments", JsonNode.Parse("""
            {"key":"staff","name":"Staff","clauses":[{"property":"email","operator":"STR_ENDS_WITH","values":["@example.com"]}],"idProperty":"userId","ids":["u-7","u-13"]}
            """))).ReadJsonAsync(HttpStatusCode.Created);
        foreach (var (key, flag, targeting) in Flags)
        {
            var body = JsonNode.Parse(flag)!.AsObject();
            body["key"] = key;
            body["name"] = key;
            await (await admin.PostJsonAsync($"api/projects/{Project}/flags", body)).ReadJsonAsync(HttpStatusCode.Created);
            await (await admin.PutJsonAsync($"api/projects/{Project}/flags/{key}/environments/production", JsonNode.Parse(targeting), "\"1\"")).ReadJsonAsync();
        }
    }

    private static async Task<string> KeyAsync(HttpClient admin, string kind) =>
        (await (await admin.PostJsonAsync($"api/projects/{Project}/environments/production/keys", new JsonObject { ["name"] = kind, ["kind"] = kind }))
            .ReadJsonAsync(HttpStatusCode.Created))["secret"]!.GetValue<string>();

    private static JsonObject ToJson(Dictionary<string, FlagValue> active) =>
        new([.. active.Select(p => new KeyValuePair<string, JsonNode?>(p.Key, JsonNode.Parse(p.Value.ToJson())))]);

    // OFREP contexts need a targetingKey; it stands for userId when that is absent.
    private static JsonObject Ofrep(JsonNode context, int i)
    {
        var copy = context.DeepClone().AsObject();
        copy["targetingKey"] = copy["userId"]?.DeepClone() is { } id && id.GetValueKind() == System.Text.Json.JsonValueKind.String ? id : "ofrep-" + i.ToString(CultureInfo.InvariantCulture);
        return copy;
    }

    /// <summary>Varied contexts: every property sometimes missing, null, of the wrong type, at boundaries.</summary>
    private static JsonArray Contexts(int count)
    {
        var random = new Random(1234);
        JsonNode? Pick(params JsonNode?[] options) => options[random.Next(options.Length)]?.DeepClone();
        var contexts = new JsonArray();
        for (int i = 0; i < count; i++)
        {
            var context = new JsonObject();
            void Maybe(string key, JsonNode? value)
            {
                if (random.Next(5) != 0)
                {
                    context[key] = value;
                }
            }

            Maybe("userId", Pick("u-" + i, "admin-" + i, "u-7", "u-13", i, "", null));
            Maybe("nickname", Pick("", null, "Zed", 0, false));
            Maybe("beta", Pick(true, false, "true", 1, null));
            Maybe("country", Pick("FR", "DE", "US", "fr", "NL", "JP", 33, null));
            Maybe("plan", Pick("PRO", "pro", "Free", "enterprise", 42, 42.0, "42", null));
            Maybe("email", Pick("ann@acme.com", "bob" + i + "@example.org", "x+test@gmail.com", "Ann@Acme.com", "eve@example.com", "", 5, null));
            Maybe("name", Pick("alice", "mallory", "m", "Zoe", "élodie", "", 7, null));
            Maybe("age", Pick(17, 18, 42, 42.0, 65.5, 66, -1, "42", null, true));
            Maybe("roles", Pick(new JsonArray("admin"), new JsonArray("viewer", "editor"), new JsonArray(), new JsonArray(1, "x"), "admin", null));
            Maybe("createdAt", Pick("2024-06-01T12:00:00", "2024-06-01", "2024-06-02", "2024", 1717243200000, 1717243200, 1717243199999, "2023-12-31T23:59:59", null, true));
            Maybe("appVersion", Pick("2.4.0", "2.4", "2.4.1", "2.3.9", "2.10", "10.0.0", "2.4.0-beta", "", "v2", 2.4, null));
            contexts.Add(context);
        }

        return contexts;
    }
}
