using System.Text.Json.Nodes;

namespace Flagstaff.Cli.Tests;

public class EvalCommandTests
{
    private const string Config = """
        [
          {"slug":"new-search-cluster","conditions":[
             {"rules":[{"key":"accountId","operator":"STR_EQUAL","negate":false,"values":["a1","a2"]}],"variation":{"active":true,"value":"new"}}],
           "defaultVariation":{"active":true,"value":"old"}},
          {"slug":"beta","conditions":[
             {"rules":[{"key":"email","operator":"STR_ENDS_WITH","negate":false,"values":["@acme.com"]}],"variation":{"active":true,"value":{"limit":3}}}],
           "defaultVariation":{"active":false,"value":null}},
          {"slug":"launch","conditions":[
             {"rules":[{"key":"timestamp","operator":"DATE_AFTER","negate":false,"timestamp":1767225600000,"iso":"2026-01-01T00:00:00"}],"variation":{"active":true,"value":true}}],
           "defaultVariation":{"active":false,"value":null}}
        ]
        """;

    [Fact]
    public async Task Evaluates_every_context_of_a_file_into_one_array()
    {
        using var folder = new TempFolder();
        var config = folder.Write("config.json", Config);
        var contexts = folder.Write("contexts.json", """[{"accountId":"a1","email":"x@acme.com"},{"accountId":"zz"},{}]""");

        var (exitCode, output, error) = await CliRunner.RunAsync("eval", "--config", config, "--contexts", contexts, "--now", "2025-06-01T00:00:00Z");

        Assert.Equal(0, exitCode);
        Assert.Empty(error);
        var expected = JsonNode.Parse("""[{"beta":{"limit":3},"new-search-cluster":"new"},{"new-search-cluster":"old"},{"new-search-cluster":"old"}]""");
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(output)), output);
    }

    [Fact]
    public async Task Evaluates_one_inline_context_into_one_object()
    {
        using var folder = new TempFolder();
        var config = folder.Write("config.json", Config);

        var (exitCode, output, _) = await CliRunner.RunAsync("eval", "--config", config, "--context", """{"accountId":"a2"}""", "--now", "1767225600000");

        Assert.Equal(0, exitCode);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"new-search-cluster":"new","launch":true}"""), JsonNode.Parse(output)), output);
    }

    [Fact]
    public async Task A_context_that_sets_its_own_timestamp_is_not_overridden()
    {
        using var folder = new TempFolder();
        var config = folder.Write("config.json", Config);

        var (_, output, _) = await CliRunner.RunAsync("eval", "--config", config, "--context", """{"timestamp":1767225600000}""", "--now", "2020-01-01T00:00:00Z");

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"new-search-cluster":"old","launch":true}"""), JsonNode.Parse(output)), output);
    }

    [Fact]
    public async Task An_invalid_configuration_is_refused_with_where_and_what_and_exit_code_2()
    {
        using var folder = new TempFolder();
        var config = folder.Write("config.json", """[{"slug":"x","conditions":[{"rules":[{"key":"k","operator":"NOPE","negate":false}],"variation":{"active":true}}],"defaultVariation":{"active":false}}]""");

        var (exitCode, output, error) = await CliRunner.RunAsync("eval", "--config", config, "--context", "{}");

        Assert.Equal(2, exitCode);
        Assert.Empty(output);
        Assert.Contains("flag \"x\" (index 0), condition 0, rule 0", error, StringComparison.Ordinal);
        Assert.Contains("\"NOPE\", which is not a known operator", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""[{"a":1},3]""", "element 1 is not a JSON object")]
    [InlineData("""{"a":1}""", "must hold a JSON array of context objects")]
    [InlineData("""[{"a":1},""", "is not valid JSON (line 1")]
    public async Task Invalid_contexts_are_refused_with_exit_code_2(string contexts, string message)
    {
        using var folder = new TempFolder();
        var config = folder.Write("config.json", Config);
        var file = folder.Write("contexts.json", contexts);

        var (exitCode, output, error) = await CliRunner.RunAsync("eval", "--config", config, "--contexts", file);

        Assert.Equal(2, exitCode);
        Assert.Empty(output);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--context", "[1]", "--context must be one JSON object")]
    [InlineData("--context", "{", "--context must be one JSON object")]
    [InlineData("--now", "yesterday", "--now must be an ISO 8601 date")]
    public async Task Invalid_options_are_refused_with_exit_code_2(string option, string value, string message)
    {
        using var folder = new TempFolder();
        var config = folder.Write("config.json", Config);
        string[] args = option == "--context"
            ? ["eval", "--config", config, "--context", value]
            : ["eval", "--config", config, "--context", "{}", option, value];

        var (exitCode, _, error) = await CliRunner.RunAsync(args);

        Assert.Equal(2, exitCode);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_file_is_refused_with_exit_code_2()
    {
        var (exitCode, _, error) = await CliRunner.RunAsync("eval", "--config", "/nonexistent/config.json", "--context", "{}");

        Assert.Equal(2, exitCode);
        Assert.Contains("cannot read the configuration file", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData]
    [InlineData("--contexts", "a.json", "--context", "{}")]
    public async Task Giving_neither_or_both_context_options_is_a_usage_error(params string[] extra)
    {
        using var folder = new TempFolder();
        var config = folder.Write("config.json", Config);

        var (exitCode, _, error) = await CliRunner.RunAsync(["eval", "--config", config, .. extra]);

        Assert.Equal(2, exitCode);
        Assert.Contains("Give exactly one of --contexts FILE or --context JSON.", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_config_option_is_a_usage_error()
    {
        var (exitCode, _, error) = await CliRunner.RunAsync("eval", "--context", "{}");

        Assert.Equal(2, exitCode);
        Assert.Contains("--config", error, StringComparison.Ordinal);
    }
}
