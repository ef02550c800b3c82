using System.Text.Json.Nodes;
using Flagstaff.Testing;

namespace Flagstaff.Cli.Tests;

/// <summary>export, apply (dry run and real) and diff against the real server, checked by reading back.</summary>
public class FlagsAsCodeTests(CliServer fixture) : ServerCliTest(fixture), IClassFixture<CliServer>
{
    [Fact]
    public async Task A_dry_run_prints_the_changes_per_flag_and_environment_exits_3_and_changes_nothing_then_apply_does_and_diff_shows_no_drift()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "new-checkout");
        using var folder = new TempFolder();
        var file = Path.Combine(folder.Path, "flags.json");
        var (code, _, error) = await RunAsync("export", "--project", project, "--output", file);
        Assert.True(code == 0, error);
        var exported = await Admin.GetJsonAsync($"api/projects/{project}/export");

        // Nothing changed yet: a dry run of the export itself plans nothing.
        (code, var nothing, _) = await RunTerminalAsync("apply", file, "--dry-run");
        Assert.Equal(0, code);
        Assert.Contains("No changes", nothing, StringComparison.Ordinal);

        var document = JsonNode.Parse(File.ReadAllText(file))!;
        var flag = document["flags"]!.AsArray().Single(f => f!["key"]!.GetValue<string>() == "new-checkout")!;
        flag["environments"]!["production"]!["enabled"] = true;
        flag["name"] = "The new checkout";
        document["flags"]!.AsArray().Add(JsonNode.Parse("""
            {"key":"banner","name":"Banner","kind":"release","valueType":"string",
             "variations":[{"key":"a","value":"Hello"},{"key":"b","value":"Bye"}],
             "environments":{"staging":{"enabled":true,"rules":[],"defaultServe":{"variation":"b"}}}}
            """));
        File.WriteAllText(file, document.ToJsonString());

        (code, var plan, error) = await RunTerminalAsync("apply", file, "--dry-run");
        Assert.True(code == 3, error);
        Assert.Contains("~ flag new-checkout", plan, StringComparison.Ordinal);
        Assert.Contains("production · main switch: off → on", plan, StringComparison.Ordinal);
        Assert.Contains("Name: Flag new-checkout → The new checkout", plan, StringComparison.Ordinal);
        Assert.Contains("+ flag banner (new)", plan, StringComparison.Ordinal);
        Assert.True(JsonNode.DeepEquals(exported, await Admin.GetJsonAsync($"api/projects/{project}/export")), "a dry run changed the server");

        var json = await RunAsync("apply", file, "--dry-run");
        Assert.Equal(3, json.ExitCode);
        Assert.True(JsonNode.Parse(json.Output)!["pending"]!.GetValue<bool>());

        var applied = await RunJsonAsync("apply", file);
        Assert.Equal(1, applied["result"]!["created"]!.GetValue<int>());
        Assert.Equal("The new checkout", (await Admin.GetJsonAsync($"api/projects/{project}/flags/new-checkout"))["flag"]!["name"]!.GetValue<string>());
        Assert.True((await Admin.GetJsonAsync($"api/projects/{project}/flags/new-checkout/environments/production"))["enabled"]!.GetValue<bool>());
        Assert.True((await Admin.GetJsonAsync($"api/projects/{project}/flags/banner/environments/staging"))["enabled"]!.GetValue<bool>());

        (code, var drift, error) = await RunTerminalAsync("diff", file);
        Assert.True(code == 0, drift + error);
        Assert.Contains("No changes", drift, StringComparison.Ordinal);
        Assert.Equal(0, (await RunAsync("apply", file, "--dry-run")).ExitCode);
    }

    [Fact]
    public async Task Diff_reports_drift_made_on_the_server_and_what_is_on_the_server_only()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "beta");
        using var folder = new TempFolder();
        var file = Path.Combine(folder.Path, "flags.json");
        await RunAsync("export", "--project", project, "--output", file);

        await RunJsonAsync("flags", "on", "beta", "--env", "staging", "--project", project);
        await CreateFlagAsync(project, "made-by-hand");

        var (code, output, _) = await RunAsync("diff", file);
        Assert.Equal(3, code);
        var changes = JsonNode.Parse(output)!["changes"]!.AsArray();
        var beta = changes.Single(c => c!["key"]!.GetValue<string>() == "beta")!;
        Assert.Equal("update", beta["action"]!.GetValue<string>());
        Assert.Contains(beta["lines"]!.AsArray(), l => l!["scope"]!.GetValue<string>() == "staging · main switch" && l["before"]!.GetValue<string>() == "on" && l["after"]!.GetValue<string>() == "off");
        Assert.Equal("serverOnly", changes.Single(c => c!["key"]!.GetValue<string>() == "made-by-hand")!["action"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_invalid_document_is_refused_with_exit_code_2_and_changes_nothing()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "beta");
        using var folder = new TempFolder();
        var exported = await Admin.GetJsonAsync($"api/projects/{project}/export");
        var document = exported.DeepClone();
        document["flags"]![0]!["environments"]!["production"]!["enabled"] = true;
        document["flags"]![0]!["environments"]!["staging"]!["rules"] = JsonNode.Parse("""[{"clauses":[{"property":"x","operator":"NOPE","values":["a"]}],"serve":{"variation":"on"}}]""");
        var file = folder.Write("bad.json", document.ToJsonString());

        var (code, _, error) = await RunAsync("apply", file);
        Assert.Equal(2, code);
        Assert.Contains("flags[0]", error, StringComparison.Ordinal);
        Assert.True(JsonNode.DeepEquals(exported, await Admin.GetJsonAsync($"api/projects/{project}/export")));

        var unknownField = folder.Write("unknown.json", """{"flagstaff":1,"key":"x","name":"X","flagz":[]}""");
        (code, _, error) = await RunAsync("apply", unknownField, "--dry-run");
        Assert.Equal(2, code);
        Assert.Contains("flagz", error, StringComparison.Ordinal);
    }
}
