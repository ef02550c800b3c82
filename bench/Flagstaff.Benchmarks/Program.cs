using System.Globalization;
using System.Text;
using BenchmarkDotNet.Running;
using Flagstaff.Benchmarks;
using Flagstaff.Evaluation;

if (args is ["--footprint", ..])
{
    // Memory kept by a loaded configuration (after a full collection), per flag. BenchmarkDotNet's
    // "Allocated" column counts everything allocated while loading, garbage included.
    foreach (int count in new[] { 1_000, 10_000, 100_000 })
    {
        var json = Encoding.UTF8.GetBytes(Configurations.Mixed(count));
        long before = GC.GetTotalMemory(forceFullCollection: true);
        var configuration = FlagConfiguration.Load(json, LoadMode.Strict).GetConfigurationOrThrow();
        long after = GC.GetTotalMemory(forceFullCollection: true);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{count,7} flags: {(after - before) / (double)count,6:F0} bytes kept per flag"));
        GC.KeepAlive(configuration);
    }

    return;
}

if (args is ["--refs", ..])
{
    RefsScan.Run(args);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(EvaluationBenchmarks).Assembly).Run(args);
