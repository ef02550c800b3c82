using BenchmarkDotNet.Attributes;
using Flagstaff.Evaluation;

namespace Flagstaff.Benchmarks;

/// <summary>
/// <c>REGEXP</c> rules that a backtracking engine takes exponential time on, evaluated through a
/// whole flag on a 40-character adversarial input (forty characters that almost match, then one that
/// does not). A typical pattern on an ordinary e-mail is the reference.
/// </summary>
[MemoryDiagnoser]
public class RegexBenchmarks
{
    private CompiledFlag _nested = null!;
    private CompiledFlag _words = null!;
    private CompiledFlag _wordsWithBoundary = null!;
    private CompiledFlag _typical = null!;
    private EvaluationContext _attack = null!;
    private EvaluationContext _ordinary = null!;

    [GlobalSetup]
    public void Setup()
    {
        _nested = Flag("^(a+)+$");
        _words = Flag("^(\\w+\\s?)*$");
        _wordsWithBoundary = Flag("^(\\w+\\s?)*\\b$");
        _typical = Flag("^[a-z0-9._%+-]+@(acme|example)\\.(com|org)$");
        _attack = EvaluationContext.CreateBuilder().Set("text", new string('a', 39) + "!").Build();
        _ordinary = EvaluationContext.CreateBuilder().Set("text", "someone.else@example.com").Build();
    }

    private static CompiledFlag Flag(string pattern)
    {
        var json = $$$"""[{"slug":"f","conditions":[{"rules":[{"key":"text","operator":"REGEXP","negate":false,"value":{{{System.Text.Json.JsonSerializer.Serialize(pattern)}}}}],"variation":{"active":true,"value":true}}],"defaultVariation":{"active":true,"value":false}}]""";
        FlagConfiguration.Load(json, LoadMode.Strict).GetConfigurationOrThrow().TryGetFlag("f", out var flag);
        return flag!;
    }

    /// <summary><c>^(a+)+$</c> on forty characters.</summary>
    [Benchmark(Baseline = true)]
    public bool NestedQuantifiers() => _nested.Evaluate(_attack).IsActive;

    /// <summary><c>^(\w+\s?)*$</c> on forty characters.</summary>
    [Benchmark]
    public bool WordsAndSpaces() => _words.Evaluate(_attack).IsActive;

    /// <summary>The same with a word boundary, which maps the input to the pattern's alphabet first.</summary>
    [Benchmark]
    public bool WordsAndSpacesWithBoundary() => _wordsWithBoundary.Evaluate(_attack).IsActive;

    /// <summary>An e-mail pattern on an ordinary e-mail address.</summary>
    [Benchmark]
    public bool TypicalEmail() => _typical.Evaluate(_ordinary).IsActive;
}
