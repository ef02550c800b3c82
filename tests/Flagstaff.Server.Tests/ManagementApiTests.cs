using System.Net;
using System.Text.Json.Nodes;
using Flagstaff.Testing;

namespace Flagstaff.Server.Tests;

/// <summary>The management API over HTTP, end to end, on each database.</summary>
public abstract class ManagementApiTests(ServerFixture fixture) : ServerTest(fixture)
{
    [Fact]
    public async Task A_project_gets_the_default_environments_and_they_can_be_added_renamed_reordered_and_coloured()
    {
        var project = await NewProjectAsync();

        var environments = await Admin.GetJsonAsync($"api/projects/{project}/environments");
        Assert.Equal(["development", "staging", "production"], environments.AsArray().Select(e => e!["key"]!.GetValue<string>()));
        Assert.True(environments[2]!["critical"]!.GetValue<bool>());

        var qa = await (await Admin.PostJsonAsync($"api/projects/{project}/environments", Json("""{"key":"qa","name":"QA","color":"#10b981","position":1}"""))).ReadJsonAsync(HttpStatusCode.Created);
        Assert.Equal(1, qa["version"]!.GetValue<long>());

        var response = await Admin.PatchJsonAsync($"api/projects/{project}/environments/qa", Json("""{"name":"Quality","color":"#000000","position":5}"""), "\"1\"");
        var renamed = await response.ReadJsonAsync();
        Assert.Equal("Quality", renamed["name"]!.GetValue<string>());
        Assert.Equal("\"2\"", response.ETag());

        environments = await Admin.GetJsonAsync($"api/projects/{project}/environments");
        Assert.Equal(["development", "staging", "production", "qa"], environments.AsArray().Select(e => e!["key"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_flag_is_created_read_listed_searched_and_its_settings_changed()
    {
        var project = await NewProjectAsync();
        var created = await CreateFlagAsync(project, "new-search", new JsonObject { ["tags"] = new JsonArray("search", "q4"), ["kind"] = "release" });
        Assert.Equal("new-search", created["flag"]!["key"]!.GetValue<string>());
        Assert.Equal(3, created["environments"]!.AsArray().Count);
        Assert.All(created["environments"]!.AsArray(), e => Assert.False(e!["enabled"]!.GetValue<bool>()));
        await CreateFlagAsync(project, "checkout-v2", new JsonObject { ["tags"] = new JsonArray("checkout") });
        await CreateFlagAsync(project, "kill-payments", new JsonObject { ["kind"] = "kill-switch" });

        var all = await Admin.GetJsonAsync($"api/projects/{project}/flags");
        Assert.Equal(3, all["total"]!.GetValue<long>());
        Assert.Equal(["checkout-v2", "kill-payments", "new-search"], all["items"]!.AsArray().Select(f => f!["flag"]!["key"]!.GetValue<string>()));

        Assert.Equal(1, (await Admin.GetJsonAsync($"api/projects/{project}/flags?q=SEARCH"))["total"]!.GetValue<long>());
        Assert.Equal(1, (await Admin.GetJsonAsync($"api/projects/{project}/flags?tag=checkout"))["total"]!.GetValue<long>());
        Assert.Equal(1, (await Admin.GetJsonAsync($"api/projects/{project}/flags?kind=kill-switch"))["total"]!.GetValue<long>());
        var page = await Admin.GetJsonAsync($"api/projects/{project}/flags?limit=2&offset=2");
        Assert.Equal("new-search", Assert.Single(page["items"]!.AsArray())!["flag"]!["key"]!.GetValue<string>());

        var response = await Admin.PatchJsonAsync($"api/projects/{project}/flags/new-search", Json("""{"name":"New search cluster","description":"Routes reads"}"""), "\"1\"");
        var updated = await response.ReadJsonAsync();
        Assert.Equal("New search cluster", updated["flag"]!["name"]!.GetValue<string>());
        Assert.Equal(2, updated["flag"]!["version"]!.GetValue<long>());
        Assert.Equal(2, updated["flag"]!["revision"]!.GetValue<long>());
        Assert.Equal(["search", "q4"], updated["flag"]!["tags"]!.AsArray().Select(t => t!.GetValue<string>()));
    }

    [Fact]
    public async Task Targeting_is_replaced_with_its_version_and_the_kill_switch_needs_none()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "search");
        var path = $"api/projects/{project}/flags/search/environments/production";

        var targeting = Json("""
            {"enabled":true,
             "rules":[
               {"name":"Hand-picked","clauses":[{"property":"accountId","operator":"STR_EQUAL","values":["a1","a2"]}],"serve":{"variation":"on"}},
               {"clauses":[],"serve":{"split":{"property":"accountId","buckets":[{"variation":"on","weight":2},{"variation":"off","weight":98}]}}}],
             "defaultServe":{"variation":"off"}}
            """);
        var response = await Admin.PutJsonAsync(path, targeting, "\"1\"");
        var saved = await response.ReadJsonAsync();
        Assert.True(saved["enabled"]!.GetValue<bool>());
        Assert.Equal(2, saved["rules"]!.AsArray().Count);
        Assert.Equal("\"2\"", response.ETag());

        var off = await (await Admin.PostJsonAsync($"{path}/off", null)).ReadJsonAsync();
        Assert.False(off["enabled"]!.GetValue<bool>());
        Assert.Equal(2, off["rules"]!.AsArray().Count);

        // Turning off twice is still off, and records nothing new.
        var again = await (await Admin.PostJsonAsync($"{path}/off", null)).ReadJsonAsync();
        Assert.Equal(off["version"]!.GetValue<long>(), again["version"]!.GetValue<long>());

        var on = await (await Admin.PostJsonAsync($"{path}/on", null)).ReadJsonAsync();
        Assert.True(on["enabled"]!.GetValue<bool>());
        var history = await Admin.GetJsonAsync($"api/projects/{project}/flags/search/history");
        Assert.Equal(["enabled", "disabled", "targeting-updated", "created"], history.AsArray().Select(h => h!["action"]!.GetValue<string>()));
        Assert.Equal("production", history[0]!["environment"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_stale_update_is_refused_with_409_and_the_current_state_and_changes_nothing()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "contested");
        var path = $"api/projects/{project}/flags/contested/environments/staging";
        await (await Admin.PutJsonAsync(path, Json("""{"enabled":true,"rules":[],"defaultServe":{"variation":"on"}}"""), "\"1\"")).ReadJsonAsync();

        // A second editor still holding version 1.
        var conflict = await (await Admin.PutJsonAsync(path, Json("""{"enabled":false,"rules":[],"defaultServe":{"variation":"off"}}"""), "\"1\"")).ReadJsonAsync(HttpStatusCode.Conflict);
        Assert.Contains("changed by someone else", conflict["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(2, conflict["current"]!["version"]!.GetValue<long>());
        Assert.Equal("on", conflict["current"]!["defaultServe"]!["variation"]!.GetValue<string>());

        var current = await Admin.GetJsonAsync(path);
        Assert.True(current["enabled"]!.GetValue<bool>());

        var settingsConflict = await (await Admin.PatchJsonAsync($"api/projects/{project}/flags/contested", Json("""{"name":"x"}"""), "\"7\"")).ReadJsonAsync(HttpStatusCode.Conflict);
        Assert.Equal("contested", settingsConflict["current"]!["flag"]!["key"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_update_without_a_version_is_refused_with_428()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "f");

        var problem = await (await Admin.PatchJsonAsync($"api/projects/{project}/flags/f", Json("""{"name":"x"}"""))).ReadJsonAsync(HttpStatusCode.PreconditionRequired);
        Assert.Contains("If-Match", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        await (await Admin.PatchJsonAsync($"api/projects/{project}/flags/f", Json("""{"name":"x"}"""), "W/\"1\"")).ReadJsonAsync();
    }

    [Fact]
    public async Task Any_revision_can_be_shown_and_reverted_as_a_new_recorded_change()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "checkout");
        var path = $"api/projects/{project}/flags/checkout/environments/production";
        await (await Admin.PutJsonAsync(path, Json("""{"enabled":true,"rules":[{"clauses":[{"property":"email","operator":"STR_ENDS_WITH","values":["@acme.com"]}],"serve":{"variation":"on"}}],"defaultServe":{"variation":"off"}}"""), "\"1\"")).ReadJsonAsync();
        await (await Admin.PutJsonAsync(path, Json("""{"enabled":true,"rules":[],"defaultServe":{"variation":"on"}}"""), "\"2\"")).ReadJsonAsync();

        var revision2 = await Admin.GetJsonAsync($"api/projects/{project}/flags/checkout/history/2");
        Assert.Equal("@acme.com", revision2["flag"]!["environments"]!["production"]!["rules"]![0]!["clauses"]![0]!["values"]![0]!.GetValue<string>());
        Assert.Equal("Provisioning", revision2["actor"]!["name"]!.GetValue<string>());

        var reverted = await (await Admin.PostJsonAsync($"api/projects/{project}/flags/checkout/history/2/revert", Json("""{"comment":"back to the beta rule"}"""))).ReadJsonAsync();
        var production = reverted["environments"]!.AsArray().Single(e => e!["environment"]!.GetValue<string>() == "production")!;
        Assert.Single(production["rules"]!.AsArray());
        Assert.Equal("off", production["defaultServe"]!["variation"]!.GetValue<string>());
        Assert.Equal(4, reverted["flag"]!["revision"]!.GetValue<long>());

        var history = await Admin.GetJsonAsync($"api/projects/{project}/flags/checkout/history");
        Assert.Equal("reverted", history[0]!["action"]!.GetValue<string>());
        Assert.Equal("back to the beta rule", history[0]!["comment"]!.GetValue<string>());
        Assert.Equal(4, history[0]!["revision"]!.GetValue<long>());

        await (await Admin.GetAsync($"api/projects/{project}/flags/checkout/history/99")).ReadJsonAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_flag_is_archived_restored_and_deleted_only_once_archived()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "old");

        var refused = await (await Admin.DeleteAsync($"api/projects/{project}/flags/old", "\"1\"")).ReadJsonAsync(HttpStatusCode.Conflict);
        Assert.Contains("archive it first", refused["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        var archived = await (await Admin.PostJsonAsync($"api/projects/{project}/flags/old/archive", null)).ReadJsonAsync();
        Assert.NotNull(archived["flag"]!["archivedAt"]);
        Assert.Equal(0, (await Admin.GetJsonAsync($"api/projects/{project}/flags"))["total"]!.GetValue<long>());
        Assert.Equal(1, (await Admin.GetJsonAsync($"api/projects/{project}/flags?archived=true"))["total"]!.GetValue<long>());

        var restored = await (await Admin.PostJsonAsync($"api/projects/{project}/flags/old/restore", null)).ReadJsonAsync();
        Assert.Null(restored["flag"]!["archivedAt"]);
        await (await Admin.PostJsonAsync($"api/projects/{project}/flags/old/archive", null)).ReadJsonAsync();

        var version = (await Admin.GetAsync($"api/projects/{project}/flags/old")).ETag();
        Assert.Equal(HttpStatusCode.NoContent, (await Admin.DeleteAsync($"api/projects/{project}/flags/old", version)).StatusCode);
        await (await Admin.GetAsync($"api/projects/{project}/flags/old")).ReadJsonAsync(HttpStatusCode.NotFound);

        var audit = await Admin.GetJsonAsync($"api/audit?project={project}");
        Assert.Contains(audit["items"]!.AsArray(), i => i!["entry"]!["action"]!.GetValue<string>() == "deleted");
    }

    [Fact]
    public async Task Segments_are_used_by_rules_recompile_their_flags_and_cannot_be_deleted_while_used()
    {
        var project = await NewProjectAsync();
        var segment = await (await Admin.PostJsonAsync($"api/projects/{project}/segments", Json("""
            {"key":"beta-testers","name":"Beta testers","clauses":[{"property":"plan","operator":"STR_EQUAL","values":["pro"]}],"idProperty":"accountId","ids":["a1","a2"]}
            """))).ReadJsonAsync(HttpStatusCode.Created);
        Assert.Equal(1, segment["version"]!.GetValue<long>());
        await CreateFlagAsync(project, "beta");
        await (await Admin.PutJsonAsync($"api/projects/{project}/flags/beta/environments/production", Json("""
            {"enabled":true,"rules":[{"clauses":[{"segment":"beta-testers"}],"serve":{"variation":"on"}}],"defaultServe":{"variation":"off"}}
            """), "\"1\"")).ReadJsonAsync();

        var updated = await (await Admin.PatchJsonAsync($"api/projects/{project}/segments/beta-testers", Json("""{"ids":["a1","a2","a3"]}"""), "\"1\"")).ReadJsonAsync();
        Assert.Equal(3, updated["ids"]!.AsArray().Count);

        var refused = await (await Admin.DeleteAsync($"api/projects/{project}/segments/beta-testers", "\"2\"")).ReadJsonAsync(HttpStatusCode.Conflict);
        Assert.Contains("still used by 1 flag", refused["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("\"beta\"", refused["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        await (await Admin.PutJsonAsync($"api/projects/{project}/flags/beta/environments/production", Json("""{"enabled":true,"rules":[],"defaultServe":{"variation":"off"}}"""), "\"2\"")).ReadJsonAsync();
        Assert.Equal(HttpStatusCode.NoContent, (await Admin.DeleteAsync($"api/projects/{project}/segments/beta-testers", "\"2\"")).StatusCode);
    }

    [Fact]
    public async Task Context_properties_form_the_project_catalogue()
    {
        var project = await NewProjectAsync();
        await (await Admin.PostJsonAsync($"api/projects/{project}/context-properties", Json("""{"key":"plan","name":"Plan","type":"SELECT","options":["free","pro"]}"""))).ReadJsonAsync(HttpStatusCode.Created);
        await (await Admin.PostJsonAsync($"api/projects/{project}/context-properties", Json("""{"key":"appVersion","name":"App version","type":"VERSION","hidden":true}"""))).ReadJsonAsync(HttpStatusCode.Created);

        var list = await Admin.GetJsonAsync($"api/projects/{project}/context-properties");
        Assert.Equal(["appVersion", "plan"], list.AsArray().Select(p => p!["key"]!.GetValue<string>()));
        Assert.Equal("SELECT", list[1]!["type"]!.GetValue<string>());

        var problem = await (await Admin.PostJsonAsync($"api/projects/{project}/context-properties", Json("""{"key":"tier","name":"Tier","type":"SELECT"}"""))).ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains("needs its options", problem["errors"]!["options"]![0]!.GetValue<string>(), StringComparison.Ordinal);

        var updated = await (await Admin.PatchJsonAsync($"api/projects/{project}/context-properties/plan", Json("""{"options":["free","pro","enterprise"]}"""), "\"1\"")).ReadJsonAsync();
        Assert.Equal(3, updated["options"]!.AsArray().Count);
    }

    [Fact]
    public async Task An_api_key_secret_is_shown_once_and_only_its_prefix_afterwards()
    {
        var project = await NewProjectAsync();
        var created = await (await Admin.PostJsonAsync($"api/projects/{project}/environments/production/keys", Json("""{"name":"backend","kind":"server"}"""))).ReadJsonAsync(HttpStatusCode.Created);
        var secret = created["secret"]!.GetValue<string>();
        Assert.StartsWith("fs_server_", secret, StringComparison.Ordinal);
        Assert.Equal(42, secret.Length);

        var listed = await Admin.GetJsonAsync($"api/projects/{project}/environments/production/keys");
        var key = Assert.Single(listed.AsArray())!;
        Assert.Null(key["secret"]);
        Assert.DoesNotContain(secret, listed.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(secret[..14], key["prefix"]!.GetValue<string>());

        var revoked = await (await Admin.DeleteAsync($"api/projects/{project}/environments/production/keys/{key["id"]}", null)).ReadJsonAsync();
        Assert.NotNull(revoked["revokedAt"]);
    }

    [Fact]
    public async Task Export_then_import_recreates_the_project_and_importing_again_changes_nothing()
    {
        var project = await NewProjectAsync();
        await (await Admin.PostJsonAsync($"api/projects/{project}/segments", Json("""{"key":"staff","name":"Staff","clauses":[{"property":"email","operator":"STR_ENDS_WITH","values":["@example.com"]}]}"""))).ReadJsonAsync(HttpStatusCode.Created);
        await (await Admin.PostJsonAsync($"api/projects/{project}/context-properties", Json("""{"key":"email","name":"E-mail"}"""))).ReadJsonAsync(HttpStatusCode.Created);
        await CreateFlagAsync(project, "staff-only");
        await (await Admin.PutJsonAsync($"api/projects/{project}/flags/staff-only/environments/production", Json("""
            {"enabled":true,"rules":[{"clauses":[{"segment":"staff"}],"serve":{"variation":"on"}}],"defaultServe":{"variation":"off"}}
            """), "\"1\"")).ReadJsonAsync();
        await (await Admin.PostJsonAsync($"api/projects/{project}/environments/production/keys", Json("""{"name":"k","kind":"server"}"""))).ReadJsonAsync(HttpStatusCode.Created);

        var exported = await Admin.GetJsonAsync($"api/projects/{project}/export");
        Assert.DoesNotContain("fs_server_", exported.ToJsonString(), StringComparison.Ordinal);
        var copyKey = UniqueKey("copy");
        exported["key"] = copyKey;

        var first = await (await Admin.PostJsonAsync("api/import", exported.DeepClone())).ReadJsonAsync();
        Assert.True(first["changed"]!.GetValue<bool>());
        Assert.Equal(7, first["created"]!.GetValue<int>());
        var auditAfterFirst = (await Admin.GetJsonAsync($"api/audit?project={copyKey}&limit=200"))["items"]!.AsArray().Count;

        var second = await (await Admin.PostJsonAsync("api/import", exported.DeepClone())).ReadJsonAsync();
        Assert.False(second["changed"]!.GetValue<bool>(), second.ToJsonString() + (await Admin.GetJsonAsync($"api/audit?project={copyKey}&limit=3")).ToJsonString());
        Assert.Equal(0, second["created"]!.GetValue<int>() + second["updated"]!.GetValue<int>());
        Assert.Equal(auditAfterFirst, (await Admin.GetJsonAsync($"api/audit?project={copyKey}&limit=200"))["items"]!.AsArray().Count);

        var copied = await Admin.GetJsonAsync($"api/projects/{copyKey}/flags/staff-only");
        var production = copied["environments"]!.AsArray().Single(e => e!["environment"]!.GetValue<string>() == "production")!;
        Assert.True(production["enabled"]!.GetValue<bool>());
        Assert.Equal("staff", production["rules"]![0]!["clauses"]![0]!["segment"]!.GetValue<string>());

        var reExported = await Admin.GetJsonAsync($"api/projects/{copyKey}/export");
        reExported["key"] = project;
        exported["key"] = project;
        Assert.True(JsonNode.DeepEquals(exported, reExported), reExported.ToJsonString());
    }

    [Fact]
    public async Task An_invalid_import_changes_nothing_and_says_where()
    {
        var key = UniqueKey("bad");
        var document = Json("""
            {"key":"KEY","name":"Bad","environments":[{"key":"production","name":"Production"}],
             "flags":[
               {"key":"ok","name":"OK","variations":[{"key":"on","value":true}],"environments":{"production":{"enabled":true,"defaultServe":{"variation":"on"}}}},
               {"key":"broken","name":"Broken","variations":[{"key":"on","value":true}],"environments":{"production":{"enabled":true,"rules":[{"clauses":[{"property":"x","operator":"REGEXP","value":"(unclosed"}],"serve":{"variation":"on"}}],"defaultServe":{"variation":"nope"}}}}]}
            """.Replace("KEY", key, StringComparison.Ordinal));

        var problem = await (await Admin.PostJsonAsync("api/import", document)).ReadJsonAsync(HttpStatusCode.BadRequest);
        var errors = problem["errors"]!.AsObject();
        Assert.True(errors.ContainsKey("flags[1].environments.production.rules[0].clauses[0].value"), problem.ToJsonString());
        Assert.True(errors.ContainsKey("flags[1].environments.production.defaultServe.variation"), problem.ToJsonString());
        await (await Admin.GetAsync($"api/projects/{key}")).ReadJsonAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task The_audit_log_is_filtered_by_project_flag_environment_actor_and_time()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "a");
        await CreateFlagAsync(project, "b");
        await Task.Delay(50);
        var before = DateTimeOffset.UtcNow;
        await (await Admin.PostJsonAsync($"api/projects/{project}/flags/a/environments/staging/on", null)).ReadJsonAsync();

        var forFlag = await Admin.GetJsonAsync($"api/audit?project={project}&flag=a");
        Assert.Equal(["enabled", "created"], forFlag["items"]!.AsArray().Select(i => i!["entry"]!["action"]!.GetValue<string>()));
        var forEnvironment = await Admin.GetJsonAsync($"api/audit?project={project}&environment=staging");
        Assert.Equal(["flag:enabled", "environment:created"], forEnvironment["items"]!.AsArray().Select(i => $"{i!["entry"]!["resourceType"]}:{i["entry"]!["action"]}"));
        Assert.Equal("a", forEnvironment["items"]![0]!["flag"]!.GetValue<string>());
        var since = await Admin.GetJsonAsync($"api/audit?project={project}&from={Uri.EscapeDataString(before.ToString("O"))}");
        Assert.True(since["items"]!.AsArray().Count == 1, since.ToJsonString());

        var me = await Admin.GetJsonAsync("api/me");
        var byActor = await Admin.GetJsonAsync($"api/audit?project={project}&actor={me["id"]}");
        Assert.Equal(7, byActor["items"]!.AsArray().Count);
        var page = await Admin.GetJsonAsync($"api/audit?project={project}&limit=2");
        Assert.Equal(2, page["items"]!.AsArray().Count);
        var next = await Admin.GetJsonAsync($"api/audit?project={project}&limit=2&before={page["next"]}");
        Assert.NotEmpty(next["items"]!.AsArray());
        Assert.Equal("127.0.0.1", page["items"]![0]!["entry"]!["actor"]!["address"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_openapi_document_describes_the_management_api()
    {
        var document = await Server.Anonymous().GetJsonAsync("openapi/v1.json");

        Assert.Equal("Flagstaff management API", document["info"]!["title"]!.GetValue<string>());
        var paths = document["paths"]!.AsObject();
        Assert.True(paths.ContainsKey("/api/projects/{project}/flags/{flag}/environments/{environment}"));
        Assert.True(paths.ContainsKey("/api/import"));
        Assert.NotNull(paths["/api/projects/{project}/flags"]!["post"]!["requestBody"]);
    }
}

public sealed class SqliteManagementApiTests(SqliteServer server) : ManagementApiTests(server), IClassFixture<SqliteServer>;

public sealed class PostgresManagementApiTests(PostgresServer server) : ManagementApiTests(server), IClassFixture<PostgresServer>;
