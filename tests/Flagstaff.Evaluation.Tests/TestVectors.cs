using System.Text.Json.Nodes;

namespace Flagstaff.Evaluation.Tests;

/// <summary>The shared JSON test vectors, copied beside the test assembly.</summary>
internal static class TestVectors
{
    private static string Directory => Path.Combine(AppContext.BaseDirectory, "Vectors");

    public static IEnumerable<(string File, JsonObject Document)> Files() =>
        System.IO.Directory.EnumerateFiles(Directory, "*.json")
            .Select(Path.GetFileName)
            .Where(f => f != "percentage-golden.json")
            .Order(StringComparer.Ordinal)
            .Select(f => (f!, Load(f!)));

    public static JsonObject Load(string file) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Directory, file)))!.AsObject();
}
