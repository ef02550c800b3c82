using System.Text.Json.Nodes;
using Flagstaff.Testing;

namespace Flagstaff.Cli.Tests;

/// <summary>promote, against the real server: dry run, chosen flags, and a concurrent change refused.</summary>
public class PromoteTests(CliServer fixture) : ServerCliTest(fixture), IClassFixture<CliServer>
{
    private const string Rules = """[{"clauses":[{"property":"email","operator":"STR_ENDS_WITH","values":["@acme.com"]}],"serve":{"variation":"on"}}]""";

    private async Task<string> ProjectWithStagingAheadAsync()
    {
        var project = await NewProjectAsync();
        foreach (var flag in new[] { "a", "b", "same" })
        {
            await CreateFlagAsync(project, flag);
        }

        foreach (var flag in new[] { "a", "b" })
        {
            var current = await Admin.GetAsync($"api/projects/{project}/flags/{flag}/environments/staging");
            var version = current.Headers.ETag!.Tag;
            await (await Admin.PutJsonAsync($"api/projects/{project}/flags/{flag}/environments/staging",
                JsonNode.Parse("""{"enabled":true,"rules":""" + Rules + ""","defaultServe":{"variation":"off"}}"""), version)).ReadJsonAsync();
        }

        return project;
    }

    [Fact]
    public async Task A_dry_run_shows_the_differences_flag_by_flag_exits_3_and_changes_nothing()
    {
        var project = await ProjectWithStagingAheadAsync();
        var before = await Admin.GetJsonAsync($"api/projects/{project}/export");

        var (code, output, error) = await RunTerminalAsync("promote", "--project", project, "--from", "staging", "--to", "production", "--dry-run");

        Assert.True(code == 3, error);
        Assert.Contains("~ a (production at version 1)", output, StringComparison.Ordinal);
        Assert.Contains("~ b (production at version 1)", output, StringComparison.Ordinal);
        Assert.DoesNotContain("~ same", output, StringComparison.Ordinal);
        Assert.Contains("production · main switch: off → on", output, StringComparison.Ordinal);
        Assert.Contains("production · rule 1 (added)", output, StringComparison.Ordinal);
        Assert.True(JsonNode.DeepEquals(before, await Admin.GetJsonAsync($"api/projects/{project}/export")));
    }

    [Fact]
    public async Task Chosen_flags_are_promoted_and_the_others_are_left_alone()
    {
        var project = await ProjectWithStagingAheadAsync();

        var result = await RunJsonAsync("promote", "--project", project, "--from", "staging", "--to", "production", "--flags", "a");

        Assert.Equal("promoted", result["flags"]![0]!["outcome"]!.GetValue<string>());
        var a = await Admin.GetJsonAsync($"api/projects/{project}/flags/a/environments/production");
        Assert.True(a["enabled"]!.GetValue<bool>());
        Assert.Equal("@acme.com", a["rules"]![0]!["clauses"]![0]!["values"]![0]!.GetValue<string>());
        Assert.False((await Admin.GetJsonAsync($"api/projects/{project}/flags/b/environments/production"))["enabled"]!.GetValue<bool>());
        Assert.Equal(0, (await RunAsync("promote", "--project", project, "--from", "staging", "--to", "production", "--flags", "a", "--dry-run")).ExitCode);

        var (code, _, error) = await RunAsync("promote", "--project", project, "--from", "staging", "--to", "production", "--flags", "nope");
        Assert.Equal(2, code);
        Assert.Contains("nope", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_change_made_after_promote_read_the_versions_is_refused_not_overwritten()
    {
        var project = await ProjectWithStagingAheadAsync();
        using var admin = Server.Admin();

        // Someone turns b on in production after promote read it, just before promote writes it.
        using var handler = new BeforeFirstPut(async () =>
            await (await admin.PostAsync($"api/projects/{project}/flags/b/environments/production/on", null)).ReadJsonAsync(), "/flags/b/");
        var environment = Environment(variables: null);
        var withHandler = new Flagstaff.Cli.Infrastructure.CliEnvironment { Variable = environment.Variable, Handler = handler };

        var (code, output, error) = await CliRunner.RunAsync(withHandler, "promote", "--project", project, "--from", "staging", "--to", "production");

        Assert.Equal(1, code);
        var flags = JsonNode.Parse(output)!["flags"]!.AsArray();
        Assert.Equal("promoted", flags.Single(f => f!["key"]!.GetValue<string>() == "a")!["outcome"]!.GetValue<string>());
        Assert.StartsWith("refused", flags.Single(f => f!["key"]!.GetValue<string>() == "b")!["outcome"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("not promoted: b", error, StringComparison.Ordinal);
        var b = await Admin.GetJsonAsync($"api/projects/{project}/flags/b/environments/production");
        Assert.True(b["enabled"]!.GetValue<bool>());
        Assert.Empty(b["rules"]!.AsArray());
    }

    /// <summary>Runs an action once, before the first PUT whose path contains a text, then sends everything on.</summary>
    private sealed class BeforeFirstPut(Func<Task> action, string pathPart) : DelegatingHandler(new HttpClientHandler())
    {
        private bool _done;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (!_done && request.Method == HttpMethod.Put && request.RequestUri!.AbsolutePath.Contains(pathPart, StringComparison.Ordinal))
            {
                _done = true;
                await action();
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }
}
