using System.Text;
using BenchmarkDotNet.Attributes;
using Flagstaff.Evaluation;

namespace Flagstaff.Benchmarks;

/// <summary>Loading (parsing, checking and compiling) whole configurations.</summary>
[MemoryDiagnoser]
public class LoadingBenchmarks
{
    private byte[] _json = [];

    [Params(1_000, 10_000, 100_000)]
    public int Flags { get; set; }

    [GlobalSetup]
    public void Setup() => _json = Encoding.UTF8.GetBytes(Configurations.Mixed(Flags));

    [Benchmark]
    public int LoadStrict() => FlagConfiguration.Load(_json, LoadMode.Strict).Configuration!.Count;
}
