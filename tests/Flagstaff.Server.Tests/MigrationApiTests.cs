using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Flagstaff.Management.Services;
using Flagstaff.Server.Reports;
using Flagstaff.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Flagstaff.Server.Tests;

/// <summary>Migration flags (docs/adr/0004-migrations.md): creation, settings, the wire field, measurements, guards and emergency actions, on each database.</summary>
public abstract class MigrationApiTests(ServerFixture fixture) : ServerTest(fixture)
{
    private static readonly string[] FullStages = ["off", "dualwrite", "shadow", "live", "rampdown", "complete"];

    [Fact]
    public async Task A_migration_flag_has_the_stages_of_its_path_as_variations_and_default_settings()
    {
        var project = await NewProjectAsync();
        foreach (var (path, stages) in new[] { ("full", FullStages), ("short", new[] { "off", "dualwrite", "live", "complete" }), ("direct", new[] { "off", "complete" }) })
        {
            var created = await CreateMigrationAsync(project, "store-" + path, Json($$"""{"path":"{{path}}"}"""));
            var flag = created["flag"]!;
            Assert.Equal("migration", flag["kind"]!.GetValue<string>());
            Assert.Equal("string", flag["valueType"]!.GetValue<string>());
            Assert.Equal(stages, flag["variations"]!.AsArray().Select(v => v!["key"]!.GetValue<string>()));
            Assert.Equal(stages, flag["variations"]!.AsArray().Select(v => v!["value"]!.GetValue<string>()));
            Assert.All(flag["variations"]!.AsArray(), v => Assert.False(v!["fallback"]!.GetValue<bool>()));
            Assert.True(JsonNode.DeepEquals(
                Json($$"""{"path":"{{path}}","compareRate":1,"maxNewErrorRate":0.01,"minConsistency":0.999,"maxLatencyRatio":3,"windowSeconds":60,"minSamples":50}"""),
                flag["migration"]), flag["migration"]!.ToJsonString());

            // Off everywhere, serving off: an SDK's helper runs the old side only.
            Assert.All(created["environments"]!.AsArray(), e =>
            {
                Assert.False(e!["enabled"]!.GetValue<bool>());
                Assert.Equal("off", e["defaultServe"]!["variation"]!.GetValue<string>());
            });
        }

        await CreateMigrationAsync(project, "tuned", Json("""{"path":"short","compareRate":0.1,"maxLatencyRatio":null,"minSamples":500}"""));
        var tuned = await Admin.GetJsonAsync($"api/projects/{project}/flags/tuned");
        Assert.True(JsonNode.DeepEquals(
            Json("""{"path":"short","compareRate":0.1,"maxNewErrorRate":0.01,"minConsistency":0.999,"maxLatencyRatio":null,"windowSeconds":60,"minSamples":500}"""),
            tuned["flag"]!["migration"]), tuned["flag"]!["migration"]!.ToJsonString());
    }

    [Fact]
    public async Task Bad_migration_settings_are_refused_naming_the_field_and_change_nothing()
    {
        var project = await NewProjectAsync();
        async Task<string> RefusedAsync(JsonObject body, string field)
        {
            body["key"] = "refused";
            body["name"] = "Refused";
            var problem = await (await Admin.PostJsonAsync($"api/projects/{project}/flags", body)).ReadJsonAsync(HttpStatusCode.BadRequest);
            Assert.True(problem["errors"]![field] is not null, problem.ToJsonString());
            return problem["errors"]![field]![0]!.GetValue<string>();
        }

        Assert.Contains("required", await RefusedAsync(new JsonObject { ["kind"] = "migration" }, "migration"), StringComparison.Ordinal);
        Assert.Contains("required", await RefusedAsync(new JsonObject { ["kind"] = "migration", ["migration"] = Json("{}") }, "migration.path"), StringComparison.Ordinal);
        Assert.Contains("wrong type", await RefusedAsync(new JsonObject { ["kind"] = "migration", ["migration"] = Json("""{"path":"sideways"}""") }, "migration.path"), StringComparison.Ordinal);
        Assert.Contains("between 0 and 1", await RefusedAsync(new JsonObject { ["kind"] = "migration", ["migration"] = Json("""{"path":"full","compareRate":1.5}""") }, "migration.compareRate"), StringComparison.Ordinal);
        Assert.Contains("between 0 and 1", await RefusedAsync(new JsonObject { ["kind"] = "migration", ["migration"] = Json("""{"path":"full","maxNewErrorRate":-0.1}""") }, "migration.maxNewErrorRate"), StringComparison.Ordinal);
        Assert.Contains("between 0 and 1", await RefusedAsync(new JsonObject { ["kind"] = "migration", ["migration"] = Json("""{"path":"full","minConsistency":2}""") }, "migration.minConsistency"), StringComparison.Ordinal);
        Assert.Contains("between 1 and 1000", await RefusedAsync(new JsonObject { ["kind"] = "migration", ["migration"] = Json("""{"path":"full","maxLatencyRatio":0.5}""") }, "migration.maxLatencyRatio"), StringComparison.Ordinal);
        Assert.Contains("multiple of 10", await RefusedAsync(new JsonObject { ["kind"] = "migration", ["migration"] = Json("""{"path":"full","windowSeconds":15}""") }, "migration.windowSeconds"), StringComparison.Ordinal);
        Assert.Contains("between 1 and", await RefusedAsync(new JsonObject { ["kind"] = "migration", ["migration"] = Json("""{"path":"full","minSamples":0}""") }, "migration.minSamples"), StringComparison.Ordinal);
        Assert.Contains("unknown field", await RefusedAsync(new JsonObject { ["kind"] = "migration", ["migration"] = Json("""{"path":"full","compareRatio":0.5}""") }, "migration.compareRatio"), StringComparison.Ordinal);
        Assert.Contains("made from its path", await RefusedAsync(new JsonObject { ["kind"] = "migration", ["migration"] = Json("""{"path":"full"}"""), ["variations"] = Json("""[{"key":"a","value":"a"}]""") }, "variations"), StringComparison.Ordinal);
        Assert.Contains("string", await RefusedAsync(new JsonObject { ["kind"] = "migration", ["valueType"] = "boolean", ["migration"] = Json("""{"path":"full"}""") }, "valueType"), StringComparison.Ordinal);
        Assert.Contains("only migration flags", await RefusedAsync(new JsonObject { ["kind"] = "release", ["migration"] = Json("""{"path":"full"}""") }, "migration"), StringComparison.Ordinal);

        await Admin.GetJsonAsync($"api/projects/{project}/flags/refused", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Settings_change_with_the_version_and_history_but_the_path_kind_and_stages_do_not()
    {
        var project = await NewProjectAsync();
        await CreateMigrationAsync(project, "orders", Json("""{"path":"full"}"""));
        var url = $"api/projects/{project}/flags/orders";

        await (await Admin.PatchJsonAsync(url, Json("""{"migration":{"compareRate":0.25,"maxLatencyRatio":null,"windowSeconds":120}}"""), "\"1\"")).ReadJsonAsync();
        var updated = await Admin.GetJsonAsync(url);
        Assert.True(JsonNode.DeepEquals(
            Json("""{"path":"full","compareRate":0.25,"maxNewErrorRate":0.01,"minConsistency":0.999,"maxLatencyRatio":null,"windowSeconds":120,"minSamples":50}"""),
            updated["flag"]!["migration"]), updated["flag"]!["migration"]!.ToJsonString());
        Assert.Equal(2, updated["flag"]!["version"]!.GetValue<long>());

        // Someone else's stale version is refused with the current state.
        var conflict = await (await Admin.PatchJsonAsync(url, Json("""{"migration":{"compareRate":0.5}}"""), "\"1\"")).ReadJsonAsync(HttpStatusCode.Conflict);
        Assert.Equal(0.25, conflict["current"]!["flag"]!["migration"]!["compareRate"]!.GetValue<double>());

        async Task RefusedAsync(string body, string field)
        {
            var problem = await (await Admin.PatchJsonAsync(url, Json(body), "\"2\"")).ReadJsonAsync(HttpStatusCode.BadRequest);
            Assert.True(problem["errors"]![field] is not null, problem.ToJsonString());
        }

        await RefusedAsync("""{"migration":{"path":"short"}}""", "migration.path");
        await RefusedAsync("""{"migration":{"compareRate":-1}}""", "migration.compareRate");
        await RefusedAsync("""{"kind":"release"}""", "kind");
        await RefusedAsync("""{"variations":[{"key":"off","value":"off"},{"key":"on","value":"on"}]}""", "variations");

        var flag = await Admin.GetJsonAsync(url);
        Assert.Equal(2, flag["flag"]!["version"]!.GetValue<long>());
        Assert.Equal(FullStages, flag["flag"]!["variations"]!.AsArray().Select(v => v!["key"]!.GetValue<string>()));

        // A release flag cannot become a migration flag either.
        await CreateFlagAsync(project, "plain");
        var problem = await (await Admin.PatchJsonAsync($"api/projects/{project}/flags/plain", Json("""{"kind":"migration","migration":{"path":"direct"}}"""), "\"1\"")).ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.NotNull(problem["errors"]!["kind"]);

        var history = await Admin.GetJsonAsync($"{url}/history");
        Assert.Equal(0.25, history[0]!["flag"]!["migration"]!["compareRate"]!.GetValue<double>());
        Assert.Equal(1, history[1]!["flag"]!["migration"]!["compareRate"]!.GetValue<double>());

        // Reverting to the first revision brings the first settings back.
        var reverted = await (await Admin.PostJsonAsync($"{url}/history/1/revert", null)).ReadJsonAsync();
        Assert.Equal(1, reverted["flag"]!["migration"]!["compareRate"]!.GetValue<double>());
        Assert.Equal(3, reverted["flag"]!["migration"]!["maxLatencyRatio"]!.GetValue<double>());
    }

    [Fact]
    public async Task The_configuration_carries_the_compare_rate_on_migration_flags_only_and_export_round_trips()
    {
        var project = await NewProjectAsync();
        await CreateMigrationAsync(project, "orders", Json("""{"path":"short","compareRate":0.25}"""), environments: Json("""{"production":{"enabled":true,"defaultServe":{"variation":"dualwrite"}}}"""));
        await CreateFlagAsync(project, "banner", new JsonObject { ["environments"] = Json("""{"production":{"enabled":true,"defaultServe":{"variation":"on"}}}""") });
        using var sdk = WithKey(await ServerKeyAsync(project));

        var config = await sdk.GetJsonAsync("config");
        var orders = config.AsArray().Single(f => f!["slug"]!.GetValue<string>() == "orders")!;
        Assert.True(JsonNode.DeepEquals(Json("""{"compareRate":0.25}"""), orders["migration"]), orders.ToJsonString());
        Assert.Equal("dualwrite", orders["defaultVariation"]!["value"]!.GetValue<string>());
        Assert.Null(config.AsArray().Single(f => f!["slug"]!.GetValue<string>() == "banner")!["migration"]);

        // Evaluated like any string flag by the Tggl API.
        var flags = await (await sdk.PostJsonAsync("flags", Json("""{"userId":"u1"}"""))).ReadJsonAsync();
        Assert.Equal("dualwrite", flags["orders"]!.GetValue<string>());

        var export = await Admin.GetJsonAsync($"api/projects/{project}/export");
        var exported = export["flags"]!.AsArray().Single(f => f!["key"]!.GetValue<string>() == "orders")!;
        Assert.Equal(0.25, exported["migration"]!["compareRate"]!.GetValue<double>());
        var copy = UniqueKey("copy");
        export["key"] = copy;
        await (await Admin.PostJsonAsync("api/import", export)).ReadJsonAsync();
        var imported = await Admin.GetJsonAsync($"api/projects/{copy}/flags/orders");
        Assert.True(JsonNode.DeepEquals(exported["migration"], imported["flag"]!["migration"]), imported.ToJsonString());
        Assert.Equal("migration", imported["flag"]!["kind"]!.GetValue<string>());

        // Importing another path over an existing migration flag is refused.
        exported["migration"]!["path"] = "full";
        exported["variations"] = Json("""[{"key":"off","value":"off"},{"key":"dualwrite","value":"dualwrite"},{"key":"shadow","value":"shadow"},{"key":"live","value":"live"},{"key":"rampdown","value":"rampdown"},{"key":"complete","value":"complete"}]""");
        var problem = await (await Admin.PostJsonAsync("api/import", export)).ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains(problem["errors"]!.AsObject(), e => e.Key.EndsWith("migration.path", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Measurements_are_summed_per_window_and_read_with_exact_counts_and_percentiles()
    {
        var project = await NewProjectAsync();
        await CreateMigrationAsync(project, "orders", Json("""{"path":"full"}"""), environments: Json("""
            {"production":{"enabled":true,"rules":[{"id":"beta","name":"Beta accounts","clauses":[{"property":"plan","operator":"STR_EQUAL","values":["beta"]}],"serve":{"variation":"live"}}],
              "defaultServe":{"split":{"buckets":[{"variation":"shadow","weight":90},{"variation":"live","weight":10}]}}}}
            """));
        await CreateMigrationAsync(project, "users", Json("""{"path":"short"}"""));
        await CreateFlagAsync(project, "banner");
        using var sdk = WithKey(await ServerKeyAsync(project));

        var result = await ReportAsync(sdk, """
            {"measurements":[
              {"flag":"orders","stage":"live","operation":"read","from":1764115200000,"to":1764115205000,
               "old":{"invoked":120,"errors":1,"latency":[[14,100],[15,19]]},"new":{"invoked":120,"errors":0,"latency":[[13,118],[30,2]]},"compared":12,"inconsistent":1,"failedWrites":0},
              {"flag":"orders","stage":"shadow","operation":"write","from":1764115200000,"to":1764115205000,
               "old":{"invoked":280,"errors":0,"latency":[[20,280]]},"new":{"invoked":280,"errors":3,"latency":[[22,280]]},"failedWrites":3},
              {"flag":"orders","stage":"live","operation":"read","from":1764115205000,"to":1764115210000,
               "old":{"invoked":80,"errors":0,"latency":[[14,80]]},"new":{"invoked":80,"errors":0,"latency":[[13,80]]},"compared":8,"inconsistent":0},
              {"flag":"nowhere","stage":"live","operation":"read","from":1,"to":2,"new":{"invoked":1}},
              {"flag":"banner","stage":"live","operation":"read","from":1,"to":2,"new":{"invoked":1}},
              {"flag":"users","stage":"shadow","operation":"read","from":1,"to":2,"new":{"invoked":1}}
            ]}
            """);
        Assert.Equal(3, result["accepted"]!.GetValue<int>());
        Assert.Equal([3, 4, 5], result["ignored"]!.AsArray().Select(i => i!["index"]!.GetValue<int>()));
        Assert.Contains("no flag \"nowhere\"", result["ignored"]![0]!["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("not a migration flag", result["ignored"]![1]!["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("short path", result["ignored"]![2]!["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        await Server.Services.GetRequiredService<MigrationAggregator>().FlushAsync(CancellationToken.None);

        var status = await Admin.GetJsonAsync($"api/projects/{project}/flags/orders/migration?environment=production");
        Assert.Equal("full", status["path"]!.GetValue<string>());
        Assert.Equal("shadow", status["safeStage"]!.GetValue<string>());
        Assert.Equal(60, status["windowSeconds"]!.GetValue<int>());
        Assert.True(JsonNode.DeepEquals(Json("""
            [{"ruleId":"beta","name":"Beta accounts","stages":[{"stage":"live","weight":100}]},
             {"name":"Everyone else","stages":[{"stage":"shadow","weight":90},{"stage":"live","weight":10}]}]
            """), status["cohorts"]), status["cohorts"]!.ToJsonString());

        // Old: 480 calls, 1 error; new: 480 calls, 3 errors. Percentiles are bucket upper bounds of the merged histograms.
        var old = status["old"]!;
        Assert.Equal(480, old["invoked"]!.GetValue<long>());
        Assert.Equal(1, old["errors"]!.GetValue<long>());
        Assert.Equal(1.0 / 480, old["errorRate"]!.GetValue<double>(), 9);
        Assert.Equal(Bound(20), old["p50"]!.GetValue<double>(), 6); // 200 calls up to bucket 15, the 240th is in bucket 20
        Assert.Equal(Bound(20), old["p99"]!.GetValue<double>(), 6);
        var @new = status["new"]!;
        Assert.Equal(480, @new["invoked"]!.GetValue<long>());
        Assert.Equal(3, @new["errors"]!.GetValue<long>());
        Assert.Equal(Bound(22), @new["p50"]!.GetValue<double>(), 6); // 198 calls in bucket 13, 2 in 30, the 240th in 22
        Assert.Equal(Bound(22), @new["p99"]!.GetValue<double>(), 6); // the 476th of 480 calls: 198 + 280 reach bucket 22
        Assert.Equal(20, status["compared"]!.GetValue<long>());
        Assert.Equal(1, status["inconsistent"]!.GetValue<long>());
        Assert.Equal(0.95, status["consistency"]!.GetValue<double>(), 9);
        Assert.Equal(3, status["failedWrites"]!.GetValue<long>());
        Assert.True(JsonNode.DeepEquals(Json("""[{"stage":"shadow","operations":280,"share":0.5833333333333334},{"stage":"live","operations":200,"share":0.4166666666666667}]"""), status["traffic"]), status["traffic"]!.ToJsonString());

        // 10-second points over 15 minutes; everything is in the current ones.
        var series = status["series"]!.AsArray();
        Assert.Equal(90, series.Count);
        Assert.Equal(480, series.Sum(p => p!["oldInvoked"]!.GetValue<long>()));
        Assert.All(series, p => Assert.Equal(0, p!["start"]!.GetValue<DateTimeOffset>().Second % 10));

        // 20 comparisons, 1 differing: below minSamples (50), so the consistency guard waits.
        var guards = status["guards"]!.AsArray().ToDictionary(g => g!["guard"]!.GetValue<string>());
        Assert.Equal("waiting", guards["minConsistency"]!["status"]!.GetValue<string>());
        Assert.Equal("ok", guards["maxNewErrorRate"]!["status"]!.GetValue<string>());
        Assert.Equal(480, guards["maxNewErrorRate"]!["samples"]!.GetValue<long>());
        Assert.Null(status["lastTrip"]);

        // Other environments are measured apart.
        var staging = await Admin.GetJsonAsync($"api/projects/{project}/flags/orders/migration?environment=staging");
        Assert.Equal(0, staging["old"]!["invoked"]!.GetValue<long>());
        Assert.Null(staging["old"]!["p99"]);
    }

    private static double Bound(int bucket) => 10 * Math.Pow(1.25, bucket);

    [Fact]
    public async Task Bad_reports_are_refused_with_the_path_of_each_field_at_fault()
    {
        var project = await NewProjectAsync();
        await CreateMigrationAsync(project, "orders", Json("""{"path":"full"}"""));
        using var sdk = WithKey(await ServerKeyAsync(project));

        async Task<JsonNode> RefusedAsync(string body)
        {
            var response = await sdk.SendRawAsync(HttpMethod.Post, "migrations/report", body);
            var problem = await response.ReadJsonAsync(HttpStatusCode.BadRequest);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
            return problem["errors"]!;
        }

        var errors = await RefusedAsync("""
            {"measurements":[
              {"flag":"orders","stage":"live","operation":"read","from":1,"to":2,"old":{"invoked":1}},
              {"flag":"orders","stage":"sideways","operation":"delete","from":5,"to":2,"old":{"invoked":2,"errors":3,"latency":[[1,1],[2],[80,1],[3,-1]]},"compared":1,"inconsistent":2},
              {"flag":"","stage":"live","operation":"read","from":1,"to":2}
            ]}
            """);
        Assert.Equal(
            ["measurements[1].stage", "measurements[1].operation", "measurements[1].to", "measurements[1].old.errors", "measurements[1].old.latency[1]",
             "measurements[1].old.latency[2]", "measurements[1].old.latency[3]", "measurements[1].inconsistent", "measurements[2].flag", "measurements[2]"],
            errors.AsObject().Select(e => e.Key));
        Assert.Contains("between 0 and 79", errors["measurements[1].old.latency[2]"]![0]!.GetValue<string>(), StringComparison.Ordinal);

        Assert.NotNull((await RefusedAsync("""{"measurements":[{"flag":"orders","stage":"live","operation":"read","from":1,"to":2,"new":{"invoked":"many"}}]}"""))["measurements[0].new.invoked"]);
        Assert.NotNull((await RefusedAsync("""{"measurements":[{"flag":"orders","stage":"live","operation":"read","from":1,"to":2,"new":{"invoked":1,"latency":[[1,1.5]]}}]}"""))["measurements[0].new.latency[0][1]"]);
        Assert.NotNull((await RefusedAsync("""{}"""))["measurements"]);
        var deep = await RefusedAsync("""{"measurements":[{"flag":"orders","x":""" + new string('[', 40) + new string(']', 40) + "}]}");
        Assert.Contains(deep.AsObject(), e => e.Value![0]!.GetValue<string>().Contains("too deeply", StringComparison.Ordinal));

        // Too large: 413 before reading it (a client that asks first, with Expect: 100-continue, uploads nothing).
        using var large = new HttpRequestMessage(HttpMethod.Post, "migrations/report")
        {
            Content = new StringContent("""{"measurements":[],"padding":" """ + new string('x', (1 << 20) + 10) + "\"}", System.Text.Encoding.UTF8, "application/json"),
        };
        large.Headers.ExpectContinue = true;
        var tooLarge = await (await sdk.SendAsync(large)).ReadJsonAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("limit of 1048576 bytes", tooLarge["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        // Keys: as for /stream.
        using var anonymous = Server.Anonymous();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostJsonAsync("migrations/report", Json("""{"measurements":[]}"""))).StatusCode);
        var clientKey = (await (await Admin.PostJsonAsync($"api/projects/{project}/environments/production/keys", new JsonObject { ["name"] = "web", ["kind"] = "client" }))
            .ReadJsonAsync(HttpStatusCode.Created))["secret"]!.GetValue<string>();
        using var client = WithKey(clientKey);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PostJsonAsync("migrations/report", Json("""{"measurements":[]}"""))).StatusCode);
        Assert.Equal(0, (await ReportAsync(sdk, """{"measurements":[]}"""))["accepted"]!.GetValue<int>());

        var document = await Server.Anonymous().GetJsonAsync("openapi/v1.json");
        Assert.NotNull(document["paths"]!["/migrations/report"]!["post"]);
        Assert.NotNull(document["paths"]!["/api/projects/{project}/flags/{flag}/migration"]!["get"]);
        Assert.NotNull(document["paths"]!["/api/projects/{project}/flags/{flag}/migration/actions"]!["post"]);
    }

    private const string Cohorts = """
        {"enabled":true,"rules":[
          {"id":"beta","name":"Beta","clauses":[{"property":"plan","operator":"STR_EQUAL","values":["beta"]}],"serve":{"variation":"live"}},
          {"id":"done","name":"Internal","clauses":[{"property":"plan","operator":"STR_EQUAL","values":["internal"]}],"serve":{"variation":"complete"}},
          {"id":"late","name":"Late","clauses":[{"property":"plan","operator":"STR_EQUAL","values":["late"]}],"serve":{"variation":"rampdown"}}],
         "defaultServe":{"split":{"buckets":[{"variation":"shadow","weight":50},{"variation":"live","weight":30},{"variation":"rampdown","weight":20}]}}}
        """;

    private static string NewErrors(int errors, int calls) => $$$"""
        {"measurements":[{"flag":"orders","stage":"live","operation":"read","from":1764115200000,"to":1764115205000,
          "old":{"invoked":{{{calls}}},"errors":0,"latency":[[14,{{{calls}}}]]},"new":{"invoked":{{{calls}}},"errors":{{{errors}}},"latency":[[15,{{{calls}}}]]}}]}
        """;

    [Fact]
    public async Task A_tripped_guard_sends_live_and_rampdown_cohorts_to_the_safe_stage_in_one_audited_change_that_reaches_the_stream()
    {
        var project = await NewProjectAsync();
        await CreateMigrationAsync(project, "orders", Json("""{"path":"full"}"""), environments: Json($$"""{"production":{{Cohorts}}}"""));
        await using var receiver = await WebhookReceiver.StartAsync();
        var (_, secret) = await WebhookTests.CreateWebhookAsync(Admin, project, new Uri(receiver.Address, "hook"), ["guard.rollback"]);
        using var sdk = WithKey(await ServerKeyAsync(project));
        await using var stream = await SseReader.ConnectAsync(sdk, "stream");
        Assert.Equal("config", (await stream.NextAsync()).Event);

        // 210 of 5,000 calls to new failed: 4.2 % against 1 %. The guards run by themselves every 5 seconds.
        await ReportAsync(sdk, NewErrors(210, 5000));
        var url = $"api/projects/{project}/flags/orders/environments/production";
        var moved = await EventuallyAsync(async () =>
        {
            var targeting = await Admin.GetJsonAsync(url);
            return targeting["version"]!.GetValue<long>() > 1 ? targeting : null;
        }, "the guard to roll the cohorts back");

        Assert.True(JsonNode.DeepEquals(Json("""
            [{"variation":"shadow"},{"variation":"complete"},{"variation":"shadow"}]
            """), new JsonArray([.. moved["rules"]!.AsArray().Select(r => r!["serve"]!.DeepClone())])), moved["rules"]!.ToJsonString());
        Assert.True(JsonNode.DeepEquals(Json("""{"split":{"buckets":[{"variation":"shadow","weight":100}]}}"""), moved["defaultServe"]), moved["defaultServe"]!.ToJsonString());
        Assert.Equal(2, moved["version"]!.GetValue<long>());

        var entry = (await Admin.GetJsonAsync($"api/projects/{project}/flags/orders/history"))[0]!;
        Assert.Equal("guard", entry["actor"]!["name"]!.GetValue<string>());
        Assert.Null(entry["actor"]!["accountId"]);
        Assert.Equal("guard-rollback", entry["action"]!.GetValue<string>());
        Assert.Equal("production", entry["environment"]!.GetValue<string>());
        Assert.Equal("new error rate 4.2 % over 60 s (210 of 5,000 calls) above 1 %: cohorts at live and rampdown moved to shadow", entry["comment"]!.GetValue<string>());

        // A webhook that asked for rollbacks hears of it, signed, with the guard's words.
        var delivered = (await receiver.WaitForAsync(received => received.Any(r => r.Accepted), "the rollback's webhook")).Single(r => r.Accepted);
        Assert.Equal("guard.rollback", delivered.Event);
        Assert.True(WebhookReceiver.Verify(secret, delivered.Signature, delivered.Body), delivered.Signature);
        Assert.Contains("new error rate 4.2 %", delivered.Body, StringComparison.Ordinal);

        // SDKs hear of it like any change.
        SseEvent patch;
        do
        {
            patch = await stream.NextAsync(TimeSpan.FromSeconds(10));
        }
        while (patch.Event != "patch");
        var flag = JsonNode.Parse(patch.Data)!["flags"]!.AsArray().Single(f => f!["slug"]!.GetValue<string>() == "orders")!;
        Assert.DoesNotContain("\"live\"", flag.ToJsonString(), StringComparison.Ordinal);

        // The status says what happened, and guards wait one window before judging this flag again.
        var status = await Admin.GetJsonAsync($"api/projects/{project}/flags/orders/migration?environment=production");
        Assert.Equal("maxNewErrorRate", status["lastTrip"]!["guard"]!.GetValue<string>());
        Assert.Equal(entry["comment"]!.GetValue<string>(), status["lastTrip"]!["comment"]!.GetValue<string>());
        Assert.All(status["guards"]!.AsArray(), g => Assert.Equal("cooling-down", g!["status"]!.GetValue<string>()));
        Assert.DoesNotContain(await Server.Services.GetRequiredService<MigrationService>().GuardAsync(), r => r.Project == project);
    }

    [Fact]
    public async Task Guards_do_not_judge_with_fewer_samples_than_minSamples_and_never_move_complete()
    {
        var project = await NewProjectAsync();
        await CreateMigrationAsync(project, "orders", Json("""{"path":"full","minSamples":100}"""), environments: Json($$"""{"production":{{Cohorts}}}"""));
        await CreateMigrationAsync(project, "finished", Json("""{"path":"full"}"""), environments: Json("""{"production":{"enabled":true,"defaultServe":{"variation":"complete"}}}"""));
        using var sdk = WithKey(await ServerKeyAsync(project));
        var guards = Server.Services.GetRequiredService<MigrationService>();

        // Half of 99 calls failed: one call short of judging.
        await ReportAsync(sdk, NewErrors(50, 99));
        await ReportAsync(sdk, NewErrors(500, 1000).Replace("\"orders\"", "\"finished\"", StringComparison.Ordinal).Replace("\"live\"", "\"complete\"", StringComparison.Ordinal));
        await Server.Services.GetRequiredService<MigrationAggregator>().FlushAsync(CancellationToken.None);
        Assert.DoesNotContain(await guards.GuardAsync(), r => r.Project == project);
        Assert.Equal(1, (await Admin.GetJsonAsync($"api/projects/{project}/flags/orders/environments/production"))["version"]!.GetValue<long>());
        Assert.Equal(1, (await Admin.GetJsonAsync($"api/projects/{project}/flags/finished/environments/production"))["version"]!.GetValue<long>());
        var status = await Admin.GetJsonAsync($"api/projects/{project}/flags/orders/migration?environment=production");
        var errorRate = status["guards"]!.AsArray().Single(g => g!["guard"]!.GetValue<string>() == "maxNewErrorRate")!;
        Assert.Equal("waiting", errorRate["status"]!.GetValue<string>());
        Assert.Equal(99, errorRate["samples"]!.GetValue<long>());
        Assert.Equal(100, errorRate["minSamples"]!.GetValue<int>());

        // The hundredth call: now it judges, and trips.
        await ReportAsync(sdk, NewErrors(1, 1));
        await Server.Services.GetRequiredService<MigrationAggregator>().FlushAsync(CancellationToken.None);
        await EventuallyAsync(async () => (await Admin.GetJsonAsync($"api/projects/{project}/flags/orders/environments/production"))["version"]!.GetValue<long>() > 1 ? "moved" : null, "the guard to trip");
        Assert.Equal(1, (await Admin.GetJsonAsync($"api/projects/{project}/flags/finished/environments/production"))["version"]!.GetValue<long>());
    }

    [Fact]
    public async Task The_consistency_and_latency_guards_trip_on_their_figures()
    {
        var project = await NewProjectAsync();
        await CreateMigrationAsync(project, "orders", Json("""{"path":"short","maxNewErrorRate":null}"""), environments: Json("""{"production":{"enabled":true,"defaultServe":{"variation":"live"}}}"""));
        await CreateMigrationAsync(project, "users", Json("""{"path":"short","minConsistency":null}"""), environments: Json("""{"production":{"enabled":true,"defaultServe":{"variation":"live"}}}"""));
        using var sdk = WithKey(await ServerKeyAsync(project));

        await ReportAsync(sdk, """
            {"measurements":[
              {"flag":"orders","stage":"live","operation":"read","from":1,"to":2,"old":{"invoked":400,"latency":[[14,400]]},"new":{"invoked":400,"errors":400,"latency":[[15,400]]},"compared":400,"inconsistent":12},
              {"flag":"users","stage":"live","operation":"read","from":1,"to":2,"old":{"invoked":400,"latency":[[10,400]]},"new":{"invoked":400,"latency":[[10,390],[20,10]]},"compared":400,"inconsistent":0}
            ]}
            """);
        await Server.Services.GetRequiredService<MigrationAggregator>().FlushAsync(CancellationToken.None);
        var comments = await EventuallyAsync(async () =>
        {
            var orders = (await Admin.GetJsonAsync($"api/projects/{project}/flags/orders/history"))[0]!;
            var users = (await Admin.GetJsonAsync($"api/projects/{project}/flags/users/history"))[0]!;
            return orders["action"]!.GetValue<string>() == "guard-rollback" && users["action"]!.GetValue<string>() == "guard-rollback"
                ? new[] { orders["comment"]!.GetValue<string>(), users["comment"]!.GetValue<string>() }
                : null;
        }, "both guards to trip");

        // The error-rate guard is off for orders: consistency tripped, 97 % of 400 compared reads.
        Assert.Equal("consistency 97 % over 60 s (12 of 400 compared reads differed) below 99.9 %: cohorts at live and rampdown moved to dualwrite", comments[0]);

        // users: p99 of new is bucket 20 (867.4 µs), of old bucket 10 (93.1 µs): 9.3 times.
        Assert.Equal("new p99 867.4 µs is 9.3 times old p99 93.1 µs over 60 s (400 and 400 calls) above 3 times: cohorts at live and rampdown moved to dualwrite", comments[1]);
        Assert.Equal("dualwrite", (await Admin.GetJsonAsync($"api/projects/{project}/flags/users/environments/production"))["defaultServe"]!["variation"]!.GetValue<string>());
    }

    [Fact]
    public async Task Emergency_actions_are_single_calls_recorded_with_the_member()
    {
        var project = await NewProjectAsync();
        await CreateMigrationAsync(project, "orders", Json("""{"path":"full"}"""), environments: Json($$"""{"production":{{Cohorts}}}"""));
        var url = $"api/projects/{project}/flags/orders/migration/actions";

        var readsBack = await (await Admin.PostJsonAsync(url, Json("""{"environment":"production","action":"reads-to-old"}"""))).ReadJsonAsync();
        Assert.Equal(["shadow", "complete", "shadow"], readsBack["rules"]!.AsArray().Select(r => r!["serve"]!["variation"]!.GetValue<string>()));
        Assert.True(JsonNode.DeepEquals(Json("""{"split":{"buckets":[{"variation":"shadow","weight":100}]}}"""), readsBack["defaultServe"]));
        var entry = (await Admin.GetJsonAsync($"api/projects/{project}/flags/orders/history"))[0]!;
        Assert.Equal("reads-to-old", entry["action"]!.GetValue<string>());
        Assert.NotNull(entry["actor"]!["accountId"]);
        Assert.Contains("moved to shadow", entry["comment"]!.GetValue<string>(), StringComparison.Ordinal);

        // Again: nothing left to move, nothing recorded.
        Assert.Equal(readsBack["version"]!.GetValue<long>(), (await (await Admin.PostJsonAsync(url, Json("""{"environment":"production","action":"reads-to-old"}"""))).ReadJsonAsync())["version"]!.GetValue<long>());

        var stopped = await (await Admin.PostJsonAsync(url, Json("""{"environment":"production","action":"stop-new-writes"}"""))).ReadJsonAsync();
        Assert.Equal(["off", "complete", "off"], stopped["rules"]!.AsArray().Select(r => r!["serve"]!["variation"]!.GetValue<string>()));
        Assert.True(JsonNode.DeepEquals(Json("""{"split":{"buckets":[{"variation":"off","weight":100}]}}"""), stopped["defaultServe"]));
        Assert.Equal("stop-new-writes", (await Admin.GetJsonAsync($"api/projects/{project}/flags/orders/history"))[0]!["action"]!.GetValue<string>());

        // Bad input changes nothing; the direct path has no safe stage; ordinary flags have no migration.
        var problem = await (await Admin.PostJsonAsync(url, Json("""{"environment":"production","action":"panic"}"""))).ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.NotNull(problem["errors"]!["action"]);
        await (await Admin.PostJsonAsync(url, Json("""{"environment":"nowhere","action":"reads-to-old"}"""))).ReadJsonAsync(HttpStatusCode.NotFound);
        await CreateMigrationAsync(project, "direct", Json("""{"path":"direct"}"""));
        problem = await (await Admin.PostJsonAsync($"api/projects/{project}/flags/direct/migration/actions", Json("""{"environment":"production","action":"reads-to-old"}"""))).ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains("stop-new-writes", problem["errors"]!["action"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        await CreateFlagAsync(project, "plain");
        problem = await (await Admin.PostJsonAsync($"api/projects/{project}/flags/plain/migration/actions", Json("""{"environment":"production","action":"stop-new-writes"}"""))).ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains("not a migration flag", problem["errors"]!["flag"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(stopped["version"]!.GetValue<long>(), (await Admin.GetJsonAsync($"api/projects/{project}/flags/orders/environments/production"))["version"]!.GetValue<long>());

        // Viewers cannot act.
        await (await Admin.PostJsonAsync("api/members", Json("""{"email":"viewer-PROJECT@example.com","name":"Viewer","role":"viewer","password":"viewer password 1"}""".Replace("PROJECT", project, StringComparison.Ordinal)))).ReadJsonAsync(HttpStatusCode.Created);
        using var viewer = Server.Anonymous();
        await (await viewer.PostJsonAsync("api/auth/login", Json("""{"email":"viewer-PROJECT@example.com","password":"viewer password 1"}""".Replace("PROJECT", project, StringComparison.Ordinal)))).ReadJsonAsync();
        await (await viewer.PostJsonAsync(url, Json("""{"environment":"production","action":"stop-new-writes"}"""))).ReadJsonAsync(HttpStatusCode.Forbidden);
        await viewer.GetJsonAsync($"api/projects/{project}/flags/orders/migration?environment=production");
    }

    protected async Task<JsonNode> CreateMigrationAsync(string project, string key, JsonNode migration, JsonNode? environments = null)
    {
        var extra = new JsonObject { ["kind"] = "migration", ["migration"] = migration.DeepClone() };
        if (environments is not null)
        {
            extra["environments"] = environments.DeepClone();
        }

        return await CreateFlagAsync(project, key, extra);
    }

    protected async Task<string> ServerKeyAsync(string project, string environment = "production") =>
        (await (await Admin.PostJsonAsync($"api/projects/{project}/environments/{environment}/keys", new JsonObject { ["name"] = "sdk", ["kind"] = "server" }))
            .ReadJsonAsync(HttpStatusCode.Created))["secret"]!.GetValue<string>();

    protected HttpClient WithKey(string key)
    {
        var client = Server.Anonymous();
        client.DefaultRequestHeaders.Add("X-Tggl-Api-Key", key);
        return client;
    }

    protected static async Task<JsonNode> ReportAsync(HttpClient sdk, string body) =>
        await (await sdk.SendRawAsync(HttpMethod.Post, "migrations/report", body)).ReadJsonAsync(HttpStatusCode.Accepted);

    protected static async Task<T> EventuallyAsync<T>(Func<Task<T?>> probe, string what, int seconds = 30)
        where T : class
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(seconds))
            {
                throw new TimeoutException($"Waited {seconds} s for {what}.");
            }

            await Task.Delay(200);
        }
    }
}

// Servers whose webhooks may reach the loopback receiver of the guard test.
public sealed class SqliteMigrationApiTests(SqliteWebhookServer server) : MigrationApiTests(server), IClassFixture<SqliteWebhookServer>;

public sealed class PostgresMigrationApiTests(PostgresWebhookServer server) : MigrationApiTests(server), IClassFixture<PostgresWebhookServer>;

/// <summary>Two server processes on one PostgreSQL database: measurements taken by one node are judged by the guards of every node, and the rollback is made once.</summary>
public sealed class MigrationNodesTests
{
    private static JsonNode Json(string json) => JsonNode.Parse(json)!;

    [Fact]
    public async Task Measurements_reported_to_one_node_trip_the_guards_and_the_rollback_reaches_the_other_nodes_stream_once()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseKind.Postgres);
        await using var first = await ServerProcess.StartAsync(database);
        await using var second = await ServerProcess.StartAsync(database);
        using var admin = first.Admin();
        await (await admin.PostJsonAsync("api/projects", Json("""{"key":"shop","name":"Shop"}"""))).ReadJsonAsync(HttpStatusCode.Created);
        await (await admin.PostJsonAsync("api/projects/shop/flags", Json("""
            {"key":"orders","name":"Orders","kind":"migration","migration":{"path":"short"},"environments":{"production":{"enabled":true,"defaultServe":{"variation":"live"}}}}
            """))).ReadJsonAsync(HttpStatusCode.Created);
        var key = (await (await admin.PostJsonAsync("api/projects/shop/environments/production/keys", Json("""{"name":"backend","kind":"server"}"""))).ReadJsonAsync(HttpStatusCode.Created))["secret"]!.GetValue<string>();

        // The second node learns of the key through the database.
        SseReader? stream = null;
        var deadline = Stopwatch.StartNew();
        while (stream is null)
        {
            var client = second.Anonymous();
            client.DefaultRequestHeaders.Add("X-Tggl-Api-Key", key);
            var reader = await SseReader.ConnectAsync(client, "stream");
            if (reader.Status == HttpStatusCode.OK)
            {
                stream = reader;
            }
            else
            {
                await reader.DisposeAsync();
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), second.Output);
                await Task.Delay(100);
            }
        }

        await using (stream)
        {
            Assert.Equal("config", (await stream.NextAsync()).Event);
            using var sdk = first.Anonymous();
            sdk.DefaultRequestHeaders.Add("X-Tggl-Api-Key", key);
            await (await sdk.SendRawAsync(HttpMethod.Post, "migrations/report", """
                {"measurements":[{"flag":"orders","stage":"live","operation":"write","from":1,"to":2,"new":{"invoked":1000,"errors":100},"old":{"invoked":1000}}]}
                """)).ReadJsonAsync(HttpStatusCode.Accepted);

            // Other patches may come first (the second node catching up on the flag's creation);
            // the rollback must arrive among them.
            var waiting = Stopwatch.StartNew();
            while (true)
            {
                var left = TimeSpan.FromSeconds(30) - waiting.Elapsed;
                Assert.True(left > TimeSpan.Zero, "The rollback did not reach the second node's stream within 30 s.");
                var e = await stream.NextAsync(left);
                if (e.Event == "patch" && e.Data.Contains("\"dualwrite\"", StringComparison.Ordinal))
                {
                    break;
                }
            }
        }

        var history = await admin.GetJsonAsync("api/projects/shop/flags/orders/history");
        var rollback = Assert.Single(history.AsArray(), e => e!["actor"]!["name"]!.GetValue<string>() == "guard")!;
        Assert.Equal("new error rate 10 % over 60 s (100 of 1,000 calls) above 1 %: cohorts at live and rampdown moved to dualwrite", rollback["comment"]!.GetValue<string>());
    }
}
