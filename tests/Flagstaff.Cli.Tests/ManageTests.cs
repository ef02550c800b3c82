using System.Net;
using System.Text.Json.Nodes;
using Flagstaff.Testing;

namespace Flagstaff.Cli.Tests;

/// <summary>Projects, environments, flags, targeting, history and keys, checked by reading the server back.</summary>
public class ManageTests(CliServer fixture) : ServerCliTest(fixture), IClassFixture<CliServer>
{
    [Fact]
    public async Task A_project_is_created_listed_shown_archived_restored_and_deleted()
    {
        var key = UniqueKey("p");

        var created = await RunJsonAsync("projects", "create", key, "--name", "Shop", "--environments", "dev,prod");
        Assert.Equal(key, created["key"]!.GetValue<string>());
        var environments = await Admin.GetJsonAsync($"api/projects/{key}/environments");
        Assert.Equal(["dev", "prod"], environments.AsArray().Select(e => e!["key"]!.GetValue<string>()));

        Assert.Contains((await RunJsonAsync("projects", "list")).AsArray(), p => p!["key"]!.GetValue<string>() == key);
        var (_, shown, _) = await RunTerminalAsync("projects", "get", key);
        Assert.Contains($"{key}: Shop", shown, StringComparison.Ordinal);
        Assert.Contains("prod", shown, StringComparison.Ordinal);

        Assert.NotNull((await RunJsonAsync("projects", "archive", key))["archivedAt"]);
        Assert.Null((await RunJsonAsync("projects", "restore", key))["archivedAt"]);
        await RunJsonAsync("projects", "archive", key);

        // Deleting a project is the owner's; the provisioned token is an admin's.
        var (code, _, error) = await RunAsync("projects", "delete", key);
        Assert.Equal(1, code);
        Assert.Equal(403, JsonNode.Parse(error)!["status"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.OK, (await Admin.GetAsync($"api/projects/{key}")).StatusCode);
    }

    [Fact]
    public async Task Environments_are_created_and_deleted()
    {
        var project = await NewProjectAsync();

        await RunJsonAsync("environments", "create", "qa", "--name", "QA", "--project", project, "--color", "#ff0000");
        Assert.Equal("#ff0000", (await Admin.GetJsonAsync($"api/projects/{project}/environments/qa"))["color"]!.GetValue<string>());

        await RunJsonAsync("environments", "delete", "qa", "--project", project);
        Assert.Equal(HttpStatusCode.NotFound, (await Admin.GetAsync($"api/projects/{project}/environments/qa")).StatusCode);
    }

    [Fact]
    public async Task A_flag_is_created_switched_per_environment_archived_restored_and_deleted()
    {
        var project = await NewProjectAsync();

        await RunJsonAsync("flags", "create", "new-checkout", "--project", project, "--name", "New checkout", "--tags", "web,checkout", "--kind", "release");
        var flag = await Admin.GetJsonAsync($"api/projects/{project}/flags/new-checkout");
        Assert.Equal(["web", "checkout"], flag["flag"]!["tags"]!.AsArray().Select(t => t!.GetValue<string>()));

        await RunJsonAsync("flags", "on", "new-checkout", "--env", "staging", "--project", project);
        var staging = await Admin.GetJsonAsync($"api/projects/{project}/flags/new-checkout/environments/staging");
        var production = await Admin.GetJsonAsync($"api/projects/{project}/flags/new-checkout/environments/production");
        Assert.True(staging["enabled"]!.GetValue<bool>());
        Assert.False(production["enabled"]!.GetValue<bool>());

        var (_, table, _) = await RunTerminalAsync("flags", "list", "--project", project);
        var row = table.Split('\n').Single(l => l.StartsWith("new-checkout", StringComparison.Ordinal));
        Assert.Matches(@"new-checkout\s+New checkout\s+Release\s+\S+\s+off\s+on\s+off", row);

        await RunJsonAsync("flags", "off", "new-checkout", "--env", "staging", "--project", project);
        Assert.False((await Admin.GetJsonAsync($"api/projects/{project}/flags/new-checkout/environments/staging"))["enabled"]!.GetValue<bool>());

        var (code, _, _) = await RunAsync("flags", "delete", "new-checkout", "--project", project);
        Assert.Equal(1, code);
        await RunJsonAsync("flags", "archive", "new-checkout", "--project", project);
        Assert.Single((await RunJsonAsync("flags", "list", "--project", project, "--archived", "true")).AsArray());
        Assert.Empty((await RunJsonAsync("flags", "list", "--project", project)).AsArray());
        await RunJsonAsync("flags", "restore", "new-checkout", "--project", project);
        await RunJsonAsync("flags", "archive", "new-checkout", "--project", project);
        await RunJsonAsync("flags", "delete", "new-checkout", "--project", project);
        Assert.Equal(HttpStatusCode.NotFound, (await Admin.GetAsync($"api/projects/{project}/flags/new-checkout")).StatusCode);
    }

    [Fact]
    public async Task A_string_flag_with_variations_is_created_and_shown()
    {
        var project = await NewProjectAsync();

        await RunJsonAsync("flags", "create", "banner", "--project", project, "--type", "string", "--variations", """[{"key":"a","value":"Hello"},{"key":"b","value":"Bye"}]""");
        var (code, shown, error) = await RunTerminalAsync("flags", "get", "banner", "--project", project);

        Assert.True(code == 0, error);
        Assert.Contains("\"Hello\"", shown, StringComparison.Ordinal);
        Assert.Contains("production", shown, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Targeting_round_trips_through_a_file_and_a_stale_file_is_refused()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "beta");
        using var folder = new TempFolder();

        var targeting = (await RunJsonAsync("targeting", "get", "beta", "--env", "production", "--project", project)).AsObject();
        targeting["enabled"] = true;
        targeting["rules"] = JsonNode.Parse("""[{"clauses":[{"property":"email","operator":"STR_ENDS_WITH","values":["@acme.com"]}],"serve":{"variation":"on"}}]""");
        var file = folder.Write("beta.json", targeting.ToJsonString());
        await RunJsonAsync("targeting", "set", "beta", "--env", "production", "--project", project, "--file", file);

        var read = await Admin.GetJsonAsync($"api/projects/{project}/flags/beta/environments/production");
        Assert.True(read["enabled"]!.GetValue<bool>());
        Assert.Equal("@acme.com", read["rules"]![0]!["clauses"]![0]!["values"]![0]!.GetValue<string>());
        var (_, described, _) = await RunTerminalAsync("targeting", "get", "beta", "--env", "production", "--project", project);
        Assert.Contains("rule 1: ", described, StringComparison.Ordinal);
        Assert.Contains("@acme.com", described, StringComparison.Ordinal);

        // The same file again carries the version it was read at, which is no longer current.
        var (code, _, error) = await RunAsync("targeting", "set", "beta", "--env", "production", "--project", project, "--file", file);
        Assert.Equal(1, code);
        Assert.Equal(409, JsonNode.Parse(error)!["status"]!.GetValue<int>());

        var bad = folder.Write("bad.json", """{"enabled":true,"rules":[{"clauses":[{"property":"email","operator":"STR_EQUALS","values":["x"]}],"serve":{"variation":"on"}}],"defaultServe":{"variation":"off"}}""");
        (code, _, error) = await RunAsync("targeting", "set", "beta", "--env", "production", "--project", project, "--file", bad);
        Assert.Equal(2, code);
        Assert.Contains("rules[0].clauses[0].operator", error, StringComparison.Ordinal);
        Assert.Equal(read.ToJsonString(), (await Admin.GetJsonAsync($"api/projects/{project}/flags/beta/environments/production")).ToJsonString());
    }

    [Fact]
    public async Task History_lists_revisions_with_their_changes_and_revert_makes_a_new_revision()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "beta");
        await RunJsonAsync("flags", "on", "beta", "--env", "production", "--project", project);

        var history = (await RunJsonAsync("history", "beta", "--project", project)).AsArray();
        Assert.Equal([2L, 1L], history.Select(r => r!["revision"]!.GetValue<long>()));
        var (_, text, _) = await RunTerminalAsync("history", "beta", "--project", project);
        Assert.Contains("production · main switch: off → on", text, StringComparison.Ordinal);

        await RunJsonAsync("revert", "beta", "1", "--project", project, "--comment", "too early");
        Assert.False((await Admin.GetJsonAsync($"api/projects/{project}/flags/beta/environments/production"))["enabled"]!.GetValue<bool>());
        Assert.Equal(3, (await RunJsonAsync("history", "beta", "--project", project)).AsArray().Count);

        var (code, _, _) = await RunAsync("revert", "beta", "99", "--project", project);
        Assert.Equal(1, code);
    }

    [Fact]
    public async Task An_api_key_is_created_with_its_secret_once_listed_without_it_and_revoked()
    {
        var project = await NewProjectAsync();

        var (code, text, error) = await RunTerminalAsync("keys", "create", "web", "--kind", "client", "--env", "production", "--project", project);
        Assert.True(code == 0, error);
        var secret = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Last();
        using (var evaluation = new HttpClient { BaseAddress = Server.Address })
        {
            evaluation.DefaultRequestHeaders.Add("X-Tggl-Api-Key", secret);
            Assert.Equal(HttpStatusCode.OK, (await evaluation.PostAsync("flags", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"))).StatusCode);
        }

        var listed = (await RunJsonAsync("keys", "list", "--env", "production", "--project", project)).AsArray();
        var key = Assert.Single(listed);
        Assert.DoesNotContain(secret, listed.ToJsonString(), StringComparison.Ordinal);
        var (_, table, _) = await RunTerminalAsync("keys", "list", "--env", "production", "--project", project);
        Assert.DoesNotContain(secret, table, StringComparison.Ordinal);

        await RunJsonAsync("keys", "revoke", key!["id"]!.GetValue<string>(), "--env", "production", "--project", project);
        Assert.NotNull((await RunJsonAsync("keys", "list", "--env", "production", "--project", project))[0]!["revokedAt"]);
    }
}
