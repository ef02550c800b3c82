using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Flagstaff.Evaluation.Internal;

namespace Flagstaff.Evaluation.Tests;

/// <summary>
/// The data-driven conformance suite: every case of the JSON test vectors (written from
/// docs/wire/flag-format.md and checked against the reference JavaScript evaluator by tests/interop).
/// </summary>
public class ConformanceTests
{
    private static readonly ConcurrentDictionary<string, FlagConfiguration> Configurations = new();

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var (file, document) in TestVectors.Files())
        {
            foreach (var testCase in document["cases"]!.AsArray())
            {
                data.Add(file, testCase!["name"]!.GetValue<string>());
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Case(string file, string name)
    {
        var document = TestVectors.Load(file);
        var testCase = document["cases"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == name)!;
        var configuration = Configurations.GetOrAdd(file, _ =>
            FlagConfiguration.Load(document["flags"]!.ToJsonString(), LoadMode.Strict).GetConfigurationOrThrow());
        var context = EvaluationContext.FromJson(testCase["context"]!.AsObject());
        var expect = testCase["expect"]!;

        var result = configuration.Evaluate(testCase["flag"]!.GetValue<string>(), context);

        Assert.NotEqual(EvaluationReason.Error, result.Reason);
        Assert.Equal(expect["active"]!.GetValue<bool>(), result.IsActive);
        if (result.IsActive)
        {
            var expected = expect["value"];
            var actual = JsonNode.Parse(result.Value!.ToJson());
            Assert.True(JsonNode.DeepEquals(expected, actual), $"expected {expected?.ToJsonString() ?? "null"}, got {result.Value.ToJson()}");
        }

        int? condition = expect["condition"]?.GetValue<int>();
        Assert.Equal(condition ?? -1, result.ConditionIndex);
        Assert.Equal(condition is null ? EvaluationReason.Default : result.Reason, result.Reason);
    }

    public static TheoryData<string, uint, uint, double> GoldenFractions()
    {
        var data = new TheoryData<string, uint, uint, double>();
        foreach (var entry in TestVectors.Load("percentage-golden.json")["entries"]!.AsArray())
        {
            data.Add(entry!["text"]!.GetValue<string>(), entry["seed"]!.GetValue<uint>(), entry["hash"]!.GetValue<uint>(), entry["fraction"]!.GetValue<double>());
        }

        return data;
    }

    // Bucketing is pinned: these fixed ids, seeds and fractions must never change, or every running
    // rollout would reshuffle its users.
    [Theory]
    [MemberData(nameof(GoldenFractions))]
    public void Percentage_fractions_are_pinned(string text, uint seed, uint hash, double fraction)
    {
        var bytes = new byte[text.Length * 4];
        int length = JsText.ToHashBytes(text, bytes);

        Assert.Equal(hash, XxHash32.Hash(bytes.AsSpan(0, length), seed));
        Assert.Equal(fraction, PercentageRule.Fraction(text, seed));
    }
}
