using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Flagstaff.DataPlane.Compilation;
using Flagstaff.DataPlane.Snapshots;
using Flagstaff.Evaluation;

namespace Flagstaff.DataPlane.Tests;

/// <summary>
/// Golden tests of the compiler's output: each case in <see cref="GoldenCases"/> compiles to the wire
/// flag checked in as Golden/&lt;case&gt;.json (pretty-printed for review; compared as normalised JSON).
/// </summary>
/// <remarks>
/// A golden file is never rewritten silently. After a deliberate change to the compiler, regenerate
/// them with <c>FLAGSTAFF_UPDATE_GOLDEN=1 dotnet test tests/Flagstaff.DataPlane.Tests</c>, then read
/// the diff against docs/wire/flag-format.md before committing it.
/// </remarks>
public class CompilerGoldenTests
{
    private const string UpdateVariable = "FLAGSTAFF_UPDATE_GOLDEN";

    private static readonly string GoldenDirectory = typeof(CompilerGoldenTests).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "GoldenDirectory").Value!;

    private static readonly JsonWriterOptions Pretty = new() { Indented = true, NewLine = "\n", Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static TheoryData<string> Cases => [.. GoldenCases.All.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_compiled_flag_is_the_golden_one(string name)
    {
        var compiled = Compile(GoldenCases.Get(name));
        string path = Path.Combine(GoldenDirectory, name + ".json");
        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            File.WriteAllText(path, PrettyPrint(compiled.Json));
            return;
        }

        Assert.True(File.Exists(path), $"No golden file {name}.json: run the tests with {UpdateVariable}=1 to write it, then review it.");
        string golden = File.ReadAllText(path);
        string actual = PrettyPrint(compiled.Json);
        if (Normalise(Encoding.UTF8.GetBytes(golden)) != Normalise(compiled.Json))
        {
            // Both pretty-printed, so that the failure shows a readable difference.
            Assert.Equal(PrettyPrint(Encoding.UTF8.GetBytes(golden)), actual);
            Assert.Fail($"{name}.json differs from the compiled flag.");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_golden_flag_loads_strictly_and_serves_what_the_case_says(string name)
    {
        var @case = GoldenCases.Get(name);
        var compiled = Compile(@case);
        var loaded = FlagConfiguration.Load("[" + File.ReadAllText(Path.Combine(GoldenDirectory, name + ".json")) + "]", LoadMode.Strict);
        Assert.True(loaded.IsValid, string.Join("; ", loaded.Errors));
        Assert.True(loaded.Configuration!.TryGetFlag(@case.Flag.Key, out var flag));

        Assert.Equal(@case.Enabled, compiled.Enabled);
        Assert.Equal(@case.ConditionRules, compiled.ConditionRules);
        Assert.Equal(flag.ConditionCount, compiled.ConditionVariations.Count);
        Assert.Equal(@case.Targeting.DefaultServe.Split is not null, compiled.DefaultIsSplit);
        foreach (var probe in @case.Probes)
        {
            var context = EvaluationContext.Parse(Encoding.UTF8.GetBytes(probe.Context));
            var result = flag.Evaluate(context, probe.Now);
            Assert.True(result.Reason is not EvaluationReason.Error, $"{probe.Context}: {result.ErrorMessage}");
            string variation = compiled.VariationOf(result);
            Assert.True(probe.Variation == variation, $"{name}: {probe.Context} at {probe.Now} got {variation}, expected {probe.Variation}.");

            var expected = @case.Flag.Variations.Single(v => v.Key == variation);
            Assert.Equal(!expected.Fallback, result.IsActive);
            if (!expected.Fallback)
            {
                Assert.Equal(FlagValue.FromJson(expected.Value!.Value), result.Value);
            }
        }
    }

    [Fact]
    public void Every_golden_file_belongs_to_a_case()
    {
        var names = GoldenCases.All.Select(c => c.Name + ".json").Order(StringComparer.Ordinal);
        var files = Directory.GetFiles(GoldenDirectory, "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal);
        Assert.Equal(names, files);
    }

    internal static SnapshotFlag Compile(GoldenCase @case) =>
        FlagCompiler.Compile(@case.Project, @case.Flag, @case.Targeting, @case.Segments.ToDictionary(s => s.Key, StringComparer.Ordinal));

    private static string PrettyPrint(byte[] json)
    {
        using var document = JsonDocument.Parse(json);
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, Pretty))
        {
            document.RootElement.WriteTo(writer);
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    // Property order and number spelling are not meaning: objects sorted by key, numbers as doubles.
    private static string Normalise(byte[] json)
    {
        using var document = JsonDocument.Parse(json);
        var text = new StringBuilder();
        Write(document.RootElement, text);
        return text.ToString();

        static void Write(JsonElement element, StringBuilder text)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    text.Append('{');
                    foreach (var property in element.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                    {
                        text.Append(JsonSerializer.Serialize(property.Name)).Append(':');
                        Write(property.Value, text);
                        text.Append(',');
                    }

                    text.Append('}');
                    break;
                case JsonValueKind.Array:
                    text.Append('[');
                    foreach (var item in element.EnumerateArray())
                    {
                        Write(item, text);
                        text.Append(',');
                    }

                    text.Append(']');
                    break;
                case JsonValueKind.Number:
                    text.Append(element.GetDouble().ToString("R", CultureInfo.InvariantCulture));
                    break;
                case JsonValueKind.String:
                    text.Append(JsonSerializer.Serialize(element.GetString()));
                    break;
                default:
                    text.Append(element.GetRawText());
                    break;
            }
        }
    }
}
