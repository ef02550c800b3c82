using System.Net;
using System.Text.Json.Nodes;
using Flagstaff.Domain;
using Flagstaff.Testing;

namespace Flagstaff.Cli.Tests;

/// <summary>refs against the real server, on a fixture tree with aliases, ignores, skipped folders, a binary file and an archived flag.</summary>
public class RefsTests(CliServer fixture) : ServerCliTest(fixture), IClassFixture<CliServer>
{
    private async Task<string> ProjectAsync()
    {
        var project = await NewProjectAsync();
        foreach (var flag in new[] { "new-checkout", "dark-mode", "old-banner", "unused-flag" })
        {
            await CreateFlagAsync(project, flag);
        }

        (await Admin.PostJsonAsync($"api/projects/{project}/flags/old-banner/archive", null)).EnsureSuccessStatusCode();
        return project;
    }

    private static TempFolder Tree()
    {
        var tree = new TempFolder();
        tree.Write(".gitignore", "generated/\n*.min.js\n!keep.min.js\n");
        tree.Write(".flagstaff/refs.json", """{ "aliases": { "dark-mode": ["Theme.Dark"] } }""");
        tree.Write("src/App.cs", "using Flagstaff;\n\nif (client.GetBoolean(\"new-checkout\", context, false))\n{\n    var theme = Theme.Dark;\n}\nbool v2 = Flags.NewCheckout;\nvar ghost = client.GetBoolean(\"ghost-flag\", context, false);\n");
        tree.Write("src/web/.gitignore", "local/\n");
        tree.Write("src/web/page.ts", "export const on = flags.isActive('new-checkout');\n");
        tree.Write("src/web/local/scratch.ts", "flags.isActive('new-checkout');\n");
        tree.Write("generated/Flags.g.cs", "const string Dark = \"dark-mode\";\n");
        tree.Write("node_modules/lib/index.js", "isActive('new-checkout')\n");
        tree.Write("bin/Debug/copy.cs", "\"new-checkout\"\n");
        tree.Write("app.min.js", "isActive('new-checkout')\n");
        tree.Write("keep.min.js", "if (isActive('old-banner')) show();\n");
        File.WriteAllBytes(System.IO.Path.Combine(tree.Path, "logo.png"), [0x89, 0x50, 0x4E, 0x47, 0, 0, .. "new-checkout"u8.ToArray()]);
        return tree;
    }

    private static IEnumerable<string> Paths(JsonNode? references) =>
        references!.AsArray().Select(r => $"{r!["path"]!.GetValue<string>()}:{r["line"]!.GetValue<int>()}");

    [Fact]
    public async Task References_aliases_unreferenced_archived_and_unknown_flags_are_reported_and_ignored_files_are_not_read()
    {
        var project = await ProjectAsync();
        using var tree = Tree();

        var result = await RunJsonAsync("refs", tree.Path, "--project", project);

        var flags = result["flags"]!.AsArray().ToDictionary(f => f!["key"]!.GetValue<string>(), f => f!["references"]);
        Assert.Equal(["dark-mode", "new-checkout", "old-banner"], flags.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["src/App.cs:3", "src/App.cs:7", "src/web/page.ts:1"], Paths(flags["new-checkout"]));
        Assert.Equal("NewCheckout", flags["new-checkout"]![1]!["alias"]!.GetValue<string>());
        Assert.Equal("bool v2 = Flags.NewCheckout;", flags["new-checkout"]![1]!["context"]!.GetValue<string>());
        Assert.Equal(["src/App.cs:5"], Paths(flags["dark-mode"]));
        Assert.Equal("Theme.Dark", flags["dark-mode"]![0]!["alias"]!.GetValue<string>());
        Assert.Equal(["keep.min.js:1"], Paths(result["archivedReferences"]));
        Assert.Equal(["unused-flag"], result["unreferenced"]!.AsArray().Select(k => k!.GetValue<string>()));
        var unknown = Assert.Single(result["unknownReferences"]!.AsArray());
        Assert.Equal(("ghost-flag", "src/App.cs", 8), (unknown!["key"]!.GetValue<string>(), unknown["path"]!.GetValue<string>(), unknown["line"]!.GetValue<int>()));
        Assert.Equal(1, result["skipped"]!["binary"]!.GetValue<int>());
        Assert.EndsWith("refs.json", result["config"]!.GetValue<string>(), StringComparison.Ordinal);

        // Read: the tree's text files that no ignore rule and no skipped folder covers (the config file is not one).
        Assert.Equal(5, result["files"]!.GetValue<int>());
    }

    [Fact]
    public async Task On_a_terminal_each_reference_is_a_file_line_and_context()
    {
        var project = await ProjectAsync();
        using var tree = Tree();

        var (code, output, error) = await RunTerminalAsync("refs", tree.Path, "--project", project);

        Assert.True(code == 0, error);
        Assert.Contains("new-checkout: 3 references", output, StringComparison.Ordinal);
        Assert.Contains("  src/App.cs:7 (as NewCheckout)  bool v2 = Flags.NewCheckout;", output, StringComparison.Ordinal);
        Assert.Contains("No reference (removal candidates): unused-flag", output, StringComparison.Ordinal);
        Assert.Contains("References to archived flags: old-banner at keep.min.js:1", output, StringComparison.Ordinal);
        Assert.Contains("References to unknown flags: ghost-flag at src/App.cs:8", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fail_on_exits_1_naming_what_matched_and_refuses_kinds_it_does_not_know()
    {
        var project = await ProjectAsync();
        using var tree = Tree();

        var archived = await RunAsync("refs", tree.Path, "--project", project, "--fail-on", "archived");
        Assert.Equal(1, archived.ExitCode);
        Assert.Contains("1 reference to archived flags (old-banner)", archived.Error, StringComparison.Ordinal);

        var unknown = await RunAsync("refs", tree.Path, "--project", project, "--fail-on", "archived,unknown");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("to unknown flags (ghost-flag)", unknown.Error, StringComparison.Ordinal);

        File.WriteAllText(System.IO.Path.Combine(tree.Path, "keep.min.js"), "nothing\n");
        File.WriteAllText(System.IO.Path.Combine(tree.Path, "src/App.cs"), "var ok = \"new-checkout\";\n");
        Assert.Equal(0, (await RunAsync("refs", tree.Path, "--project", project, "--fail-on", "archived,unknown")).ExitCode);

        var bad = await RunAsync("refs", tree.Path, "--project", project, "--fail-on", "stale");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--fail-on takes archived and unknown, not \\\"stale\\\"", bad.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_upload_replaces_the_repository_s_previous_scan_and_each_repository_keeps_its_own()
    {
        var project = await ProjectAsync();
        using var tree = Tree();

        await RunJsonAsync("refs", tree.Path, "--project", project, "--upload", "--repository", "acme/shop", "--branch", "main", "--commit", "0123abc");
        await RunJsonAsync("refs", tree.Path, "--project", project, "--upload", "--repository", "acme/admin");

        var shop = (await Admin.GetJsonAsync($"api/projects/{project}/flags/new-checkout/code-references"))["repositories"]!.AsArray().Single(r => r!["repository"]!.GetValue<string>() == "acme/shop")!;
        Assert.Equal(("main", "0123abc", 3), (shop["branch"]!.GetValue<string>(), shop["commit"]!.GetValue<string>(), shop["total"]!.GetValue<int>()));
        Assert.Equal(["src/App.cs:3", "src/App.cs:7", "src/web/page.ts:1"], Paths(shop["references"]));

        File.WriteAllText(System.IO.Path.Combine(tree.Path, "src/App.cs"), "nothing\n");
        File.Delete(System.IO.Path.Combine(tree.Path, "src/web/page.ts"));
        await RunJsonAsync("refs", tree.Path, "--project", project, "--upload", "--repository", "acme/shop");

        var scans = (await Admin.GetJsonAsync($"api/projects/{project}/code-references")).AsArray();
        Assert.Equal(["acme/admin", "acme/shop"], scans.Select(s => s!["repository"]!.GetValue<string>()));
        var after = (await Admin.GetJsonAsync($"api/projects/{project}/flags/new-checkout/code-references"))["repositories"]!.AsArray();
        Assert.Equal(0, after.Single(r => r!["repository"]!.GetValue<string>() == "acme/shop")!["total"]!.GetValue<int>());
        Assert.Equal(3, after.Single(r => r!["repository"]!.GetValue<string>() == "acme/admin")!["total"]!.GetValue<int>());
        Assert.Null(scans.Single(s => s!["repository"]!.GetValue<string>() == "acme/shop")!["branch"]);
    }

    private static JsonObject Upload(string key, int references, string context = "x") => new()
    {
        ["repository"] = "r",
        ["flags"] = new JsonArray(new JsonObject
        {
            ["key"] = key,
            ["total"] = references,
            ["references"] = new JsonArray([.. Enumerable.Range(1, references).Select(i => (JsonNode)new JsonObject { ["path"] = "a.cs", ["line"] = i, ["context"] = context })]),
        }),
    };

    [Fact]
    public async Task The_upload_endpoint_refuses_what_is_out_of_bounds_or_unknown_and_changes_nothing()
    {
        var project = await ProjectAsync();
        var path = $"api/projects/{project}/code-references";
        (await Admin.PutJsonAsync(path, Upload("dark-mode", 1))).EnsureSuccessStatusCode();

        async Task<JsonNode> Refused(JsonNode body, HttpStatusCode status = HttpStatusCode.BadRequest) => await (await Admin.PutJsonAsync(path, body)).ReadJsonAsync(status);

        var many = await Refused(Upload("new-checkout", CodeReferenceLimits.MaxReferencesPerFlag + 1));
        Assert.Contains("at most 50 per flag", many["errors"]!["flags[0].references"]![0]!.GetValue<string>(), StringComparison.Ordinal);

        var unknown = await Refused(Upload("ghost-flag", 1));
        Assert.Contains("has no flag \"ghost-flag\"", unknown["errors"]!["flags[0].key"]![0]!.GetValue<string>(), StringComparison.Ordinal);

        var longLine = await Refused(Upload("new-checkout", 1, new string('x', CodeReferenceLimits.MaxContextLength + 1)));
        Assert.Contains("at most 240 are allowed", longLine["errors"]!["flags[0].references[0].context"]![0]!.GetValue<string>(), StringComparison.Ordinal);

        var escaping = Upload("new-checkout", 1);
        escaping["flags"]![0]!["references"]![0]!["path"] = "../etc/passwd";
        Assert.NotNull((await Refused(escaping))["errors"]!["flags[0].references[0].path"]);

        var huge = Upload("new-checkout", 1, new string('x', 200));
        huge["padding"] = new string('x', (int)CodeReferenceLimits.MaxUploadBytes);
        var tooLarge = await Refused(huge, HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("larger than the limit of 8388608 bytes", tooLarge["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        var scans = (await Admin.GetJsonAsync(path)).AsArray();
        var flag = Assert.Single(Assert.Single(scans)!["flags"]!.AsArray());
        Assert.Equal("dark-mode", flag!["key"]!.GetValue<string>());
    }
}
