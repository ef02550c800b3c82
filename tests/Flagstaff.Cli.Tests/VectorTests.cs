using System.Text.Json.Nodes;

namespace Flagstaff.Cli.Tests;

/// <summary>The shared conformance vectors, run through <c>flagstaff eval</c> as files written by hand would be.</summary>
public class VectorTests
{
    public static TheoryData<string> Files() =>
        [.. Directory.EnumerateFiles(Path.Combine(AppContext.BaseDirectory, "Vectors"), "*.json")
            .Select(f => Path.GetFileName(f))
            .Where(f => f != "percentage-golden.json")
            .Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(Files))]
    public async Task Eval_gives_the_expected_answer_for_every_case(string file)
    {
        var document = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Vectors", file)))!;
        // The CLI answers as POST /flags does, which adds the current time as "timestamp"; cases about a
        // context without one are the core's to prove (the CLI's clock is tested in EvalCommandTests).
        var cases = new JsonArray([.. document["cases"]!.AsArray()
            .Where(c => !ReadsTimestamp(document, c!["flag"]!.GetValue<string>()) || c!["context"]!.AsObject().ContainsKey("timestamp"))
            .Select(c => c!.DeepClone())]);
        using var folder = new TempFolder();
        var config = folder.Write("config.json", document["flags"]!.ToJsonString());
        var contexts = folder.Write("contexts.json", new JsonArray([.. cases.Select(c => c!["context"]!.DeepClone())]).ToJsonString());

        var (exitCode, output, error) = await CliRunner.RunAsync("eval", "--config", config, "--contexts", contexts);

        Assert.True(exitCode == 0, error);
        var results = JsonNode.Parse(output)!.AsArray();
        Assert.Equal(cases.Count, results.Count);
        for (int i = 0; i < cases.Count; i++)
        {
            var testCase = cases[i]!;
            var slug = testCase["flag"]!.GetValue<string>();
            var result = results[i]!.AsObject();
            bool active = testCase["expect"]!["active"]!.GetValue<bool>();
            Assert.True(active == result.ContainsKey(slug), $"{testCase["name"]}: expected {(active ? "active" : "inactive")}");
            if (active)
            {
                Assert.True(JsonNode.DeepEquals(testCase["expect"]!["value"], result[slug]), $"{testCase["name"]}: got {result[slug]?.ToJsonString()}");
            }
        }
    }

    private static bool ReadsTimestamp(JsonNode document, string slug) =>
        document["flags"]!.AsArray().Single(f => f!["slug"]!.GetValue<string>() == slug)!["conditions"]!.AsArray()
            .SelectMany(c => c!["rules"]!.AsArray())
            .Any(r => r!["key"]!.GetValue<string>() == "timestamp");
}
