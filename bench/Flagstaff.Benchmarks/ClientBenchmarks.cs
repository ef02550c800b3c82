using BenchmarkDotNet.Attributes;
using Flagstaff.Client;
using Flagstaff.Evaluation;

namespace Flagstaff.Benchmarks;

/// <summary>
/// Evaluating through the SDK's client, with usage reporting on: what an application pays per flag
/// read. The client has a configuration but no server (its connection attempts back off in the
/// background), so nothing but evaluation and usage counting is measured.
/// </summary>
[MemoryDiagnoser]
public class ClientBenchmarks
{
    private FlagstaffClient _client = null!;
    private FlagstaffClient _quiet = null!;
    private FlagConfiguration _configuration = null!;
    private EvaluationContext _context = null!;

    [GlobalSetup]
    public void Setup()
    {
        _client = Create(reportUsage: true);
        _quiet = Create(reportUsage: false);
        _configuration = _client.GetSnapshot().Configuration!;

        // The core benchmark's context: not in the id list, outside the 25 %: both rules run.
        _context = EvaluationContext.CreateBuilder()
            .Set("userId", "u-2000417")
            .Set("email", "someone@acme.com")
            .Set("plan", "pro")
            .Set("appVersion", "2.5.1")
            .Set("country", "NL")
            .Build();
    }

    internal static FlagstaffClient Create(bool reportUsage) => new(new FlagstaffClientOptions
    {
        BaseUrl = new Uri("http://127.0.0.1:9/"),
        ServerKey = "fs_server_benchmark",
        BootstrapJson = "[" + Configurations.TypicalFlag("typical", 911) + "]",
        PersistConfiguration = false,
        ReportUsage = reportUsage,
        InitialReconnectDelay = TimeSpan.FromMinutes(1),
        MaxReconnectDelay = TimeSpan.FromMinutes(10),
    });

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.Dispose();
        _quiet.Dispose();
    }

    /// <summary>The core alone, for comparison: lookup and evaluation.</summary>
    [Benchmark(Baseline = true)]
    public bool Core() => _configuration.Evaluate("typical", _context).IsActive;

    /// <summary>The typical flag through the client, usage counted.</summary>
    [Benchmark]
    public bool ClientGetBoolean() => _client.GetBoolean("typical", _context, false);

    /// <summary>The same with the reason and error (a struct, no allocation).</summary>
    [Benchmark]
    public FlagReason ClientGetBooleanDetail() => _client.GetBooleanDetail("typical", _context, false).Reason;

    /// <summary>The typical flag through the client with usage reporting off.</summary>
    [Benchmark]
    public bool ClientWithoutReporting() => _quiet.GetBoolean("typical", _context, false);
}

/// <summary>
/// Several threads evaluating through one client at once: the time per evaluation of the whole run.
/// With no lock and per-thread usage counters it falls as threads are added, up to the number of
/// cores, and holds beyond.
/// </summary>
[MemoryDiagnoser]
public class ConcurrentClientBenchmarks
{
    private const int Evaluations = 1 << 20;
    private FlagstaffClient _client = null!;
    private EvaluationContext[] _contexts = null!;

    [Params(1, 2, 8)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        ThreadPool.SetMinThreads(Math.Max(16, Environment.ProcessorCount), 16);
        _client = ClientBenchmarks.Create(reportUsage: true);
        _contexts = [.. Enumerable.Range(0, 8).Select(i => EvaluationContext.CreateBuilder().Set("userId", "u-20004" + i).Set("plan", "pro").Build())];
    }

    [GlobalCleanup]
    public void Cleanup() => _client.Dispose();

    [Benchmark(OperationsPerInvoke = Evaluations)]
    public void Evaluate()
    {
        var work = new Task[Threads];
        int each = Evaluations / Threads;
        for (int t = 0; t < work.Length; t++)
        {
            var context = _contexts[t];
            work[t] = Task.Factory.StartNew(() =>
            {
                var client = _client;
                for (int i = 0; i < each; i++)
                {
                    client.GetBoolean("typical", context, false);
                }
            });
        }

        Task.WaitAll(work);
    }
}
