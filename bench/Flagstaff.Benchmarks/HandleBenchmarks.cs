using BenchmarkDotNet.Attributes;
using Flagstaff.Client;
using Flagstaff.Evaluation;

namespace Flagstaff.Benchmarks;

/// <summary>
/// The typical flag evaluated for 1,048,576 distinct contexts, one after the other (not one warm
/// context): through a pre-resolved <see cref="FlagHandle"/>, as the accessors written by
/// <c>flagstaff generate csharp</c> do, against the client's <c>GetBoolean("typical", ...)</c> on
/// the same data. Usage reporting is on in both.
/// </summary>
[MemoryDiagnoser]
public class HandleBenchmarks
{
    private const int Count = 1 << 20;
    private FlagstaffClient _client = null!;
    private FlagHandle _handle = null!;
    private EvaluationContext[] _contexts = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _client = ClientBenchmarks.Create(reportUsage: true);
        _handle = _client.Flag("typical");
        string[] plans = ["free", "pro", "team"];
        string[] countries = ["NL", "FR", "DE", "US", "JP"];
        _contexts = new EvaluationContext[Count];
        for (int i = 0; i < Count; i++)
        {
            _contexts[i] = EvaluationContext.CreateBuilder()
                .Set("userId", "u-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture))
                .Set("email", i % 7 == 0 ? "someone@acme.com" : "someone@else.org")
                .Set("plan", plans[i % 3])
                .Set("appVersion", "2." + (i % 9).ToString(System.Globalization.CultureInfo.InvariantCulture) + ".1")
                .Set("country", countries[i % 5])
                .Build();
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _client.Dispose();

    private EvaluationContext Next() => _contexts[_next++ & (Count - 1)];

    /// <summary>By slug: the lookup of the flag on every call.</summary>
    [Benchmark(Baseline = true)]
    public bool GetBooleanBySlug() => _client.GetBoolean("typical", Next(), false);

    /// <summary>Through the handle a generated accessor holds.</summary>
    [Benchmark]
    public bool GeneratedAccessorHandle() => _handle.GetBoolean(Next(), false);
}
