using BenchmarkDotNet.Attributes;
using Flagstaff.Evaluation;

namespace Flagstaff.Benchmarks;

/// <summary>Evaluating flags on a warm path: the cost every request pays.</summary>
[MemoryDiagnoser]
public class EvaluationBenchmarks
{
    private FlagConfiguration _typical = null!;
    private CompiledFlag _typicalFlag = null!;
    private FlagConfiguration _hundred = null!;
    private EvaluationContext _context = null!;

    [GlobalSetup]
    public void Setup()
    {
        _typical = FlagConfiguration.Load("[" + Configurations.TypicalFlag("typical", 911) + "]", LoadMode.Strict).GetConfigurationOrThrow();
        _typical.TryGetFlag("typical", out var flag);
        _typicalFlag = flag!;
        _hundred = FlagConfiguration.Load(Configurations.Mixed(100), LoadMode.Strict).GetConfigurationOrThrow();

        // Not in the id list, so both rules run; lands outside the 25 %, so the default decides.
        _context = EvaluationContext.CreateBuilder()
            .Set("userId", "u-2000417")
            .Set("email", "someone@acme.com")
            .Set("plan", "pro")
            .Set("appVersion", "2.5.1")
            .Set("country", "NL")
            .Build();
    }

    /// <summary>One typical flag, looked up by slug and evaluated.</summary>
    [Benchmark(Baseline = true)]
    public bool TypicalFlag() => _typical.Evaluate("typical", _context).IsActive;

    /// <summary>The same flag, already in hand (no lookup).</summary>
    [Benchmark]
    public bool TypicalFlagNoLookup() => _typicalFlag.Evaluate(_context).IsActive;

    /// <summary>All 100 flags of a configuration for one context, without building a result object.</summary>
    [Benchmark]
    public int AllFlagsOf100()
    {
        int active = 0;
        foreach (var flag in _hundred)
        {
            if (flag.Evaluate(_context, 1_750_000_000_000).IsActive)
            {
                active++;
            }
        }

        return active;
    }

    /// <summary>All 100 flags, collected into the slug-to-value dictionary POST /flags answers.</summary>
    [Benchmark]
    public int AllFlagsOf100IntoDictionary() => _hundred.EvaluateActive(_context, 1_750_000_000_000).Count;
}
