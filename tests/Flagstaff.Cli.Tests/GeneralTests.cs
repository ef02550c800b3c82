using System.Text.Json.Nodes;
using Flagstaff.Testing;

namespace Flagstaff.Cli.Tests;

/// <summary>Where the server and token come from, output modes, errors and exit codes.</summary>
public class GeneralTests(CliServer fixture) : ServerCliTest(fixture), IClassFixture<CliServer>
{
    private static readonly Dictionary<string, string?> NoEnvironmentCredentials = new() { ["FLAGSTAFF_URL"] = null, ["FLAGSTAFF_TOKEN"] = null };

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Login_checks_the_token_saves_it_0600_and_the_other_commands_use_it_until_logout()
    {
        var environment = Environment(terminal: true, variables: NoEnvironmentCredentials, input: ServerHost.AdminToken + "\n");

        var (code, output, error) = await CliRunner.RunAsync(environment, "login", "--url", Server.Address.ToString(), "--token-stdin");

        Assert.True(code == 0, error);
        Assert.Contains("Logged in to", output, StringComparison.Ordinal);
        var file = Path.Combine(ConfigHome, "flagstaff", "credentials.json");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(file)!));
        Assert.Contains(ServerHost.AdminToken, File.ReadAllText(file), StringComparison.Ordinal);

        (code, output, error) = await CliRunner.RunAsync(Environment(variables: NoEnvironmentCredentials), "whoami");
        Assert.True(code == 0, error);
        var me = JsonNode.Parse(output)!;
        Assert.Equal((await Admin.GetJsonAsync("api/me"))["email"]!.GetValue<string>(), me["account"]!["email"]!.GetValue<string>());
        Assert.Equal(file, me["source"]!.GetValue<string>());

        (code, _, _) = await CliRunner.RunAsync(Environment(variables: NoEnvironmentCredentials), "logout");
        Assert.Equal(0, code);
        Assert.False(File.Exists(file));

        (code, output, error) = await CliRunner.RunAsync(Environment(variables: NoEnvironmentCredentials), "whoami");
        Assert.Equal(2, code);
        Assert.Empty(output);
        var line = JsonNode.Parse(error)!;
        Assert.Contains("not logged in", line["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("flagstaff login", line["suggestion"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_with_a_wrong_token_saves_nothing_and_fails_with_401()
    {
        var (code, _, error) = await CliRunner.RunAsync(
            Environment(variables: NoEnvironmentCredentials), "login", "--url", Server.Address.ToString(), "--token", "fs_pat_wrongwrongwrongwrongwrongwrong");

        Assert.Equal(1, code);
        Assert.Equal(401, JsonNode.Parse(error)!["status"]!.GetValue<int>());
        Assert.False(File.Exists(Path.Combine(ConfigHome, "flagstaff", "credentials.json")));
    }

    [Fact]
    public async Task The_environment_variables_win_over_the_saved_login()
    {
        var (code, _, error) = await CliRunner.RunAsync(Environment(variables: NoEnvironmentCredentials), "login", "--url", Server.Address.ToString(), "--token", ServerHost.AdminToken);
        Assert.True(code == 0, error);

        (code, _, error) = await CliRunner.RunAsync(Environment(variables: new Dictionary<string, string?> { ["FLAGSTAFF_TOKEN"] = "fs_pat_revokedrevokedrevokedrevoked0" }), "whoami");

        Assert.Equal(1, code);
        Assert.Contains("401", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_terminal_gets_a_table_and_a_pipe_gets_json_and_json_forces_json()
    {
        var project = await NewProjectAsync();

        var (_, table, _) = await RunTerminalAsync("environments", "list", "--project", project);
        var (_, piped, _) = await RunAsync("environments", "list", "--project", project);
        var (_, forced, _) = await CliRunner.RunAsync(Environment(terminal: true), "environments", "list", "--project", project, "--json");

        var lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("KEY", lines[0], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("production", StringComparison.Ordinal) && l.Contains("yes", StringComparison.Ordinal));
        Assert.Equal(["development", "staging", "production"], JsonNode.Parse(piped)!.AsArray().Select(e => e!["key"]!.GetValue<string>()));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(piped), JsonNode.Parse(forced)));
    }

    [Fact]
    public async Task Errors_are_one_line_text_on_a_terminal_and_one_json_line_otherwise_with_the_exit_code()
    {
        var (code, output, error) = await RunTerminalAsync("flags", "get", "nope", "--project", "no-such-project");
        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.StartsWith("error: GET /api/projects/no-such-project/flags/nope was refused with 404", error, StringComparison.Ordinal);

        (code, _, error) = await RunAsync("flags", "get", "nope", "--project", "no-such-project");
        var line = JsonNode.Parse(error)!;
        Assert.Equal(1, code);
        Assert.Equal(404, line["status"]!.GetValue<int>());
        Assert.Equal(1, line["exitCode"]!.GetValue<int>());
        Assert.NotNull(line["suggestion"]);
    }

    [Fact]
    public async Task Bad_usage_exits_2_and_invalid_input_refused_by_the_server_exits_2_naming_the_field()
    {
        var (code, _, error) = await RunAsync("flags", "frobnicate");
        Assert.Equal(2, code);
        Assert.Contains("frobnicate", JsonNode.Parse(error)!["error"]!.GetValue<string>(), StringComparison.Ordinal);

        var project = await NewProjectAsync();
        (code, _, error) = await RunAsync("flags", "create", "Not A Key!", "--project", project);
        var line = JsonNode.Parse(error)!;
        Assert.Equal(2, code);
        Assert.Equal(400, line["status"]!.GetValue<int>());
        Assert.Contains("key:", line["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_server_is_a_failure_with_a_suggestion()
    {
        var (code, _, error) = await CliRunner.RunAsync(
            Environment(variables: new Dictionary<string, string?> { ["FLAGSTAFF_URL"] = $"http://127.0.0.1:{ServerHost.FreePort()}/" }), "projects", "list");

        Assert.Equal(1, code);
        var line = JsonNode.Parse(error)!;
        Assert.Contains("cannot reach the server", line["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("FLAGSTAFF_URL", line["suggestion"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_project_is_bad_usage()
    {
        var (code, _, error) = await RunAsync("flags", "list");

        Assert.Equal(2, code);
        Assert.Contains("--project", error, StringComparison.Ordinal);
    }
}
