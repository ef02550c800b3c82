using System.Diagnostics;
using System.Globalization;
using System.Text;
using Flagstaff.Cli.CodeReferences;

namespace Flagstaff.Benchmarks;

/// <summary>
/// <c>-- --refs [FILES] [FLAGS]</c>: generates a source tree of FILES files (default 100,000) in a
/// temporary folder and times the <c>flagstaff refs</c> scan over it with FLAGS flag keys (default
/// 1,000), five times. A wall-clock measurement of a whole walk, which BenchmarkDotNet's many
/// iterations would only turn into a measurement of the page cache.
/// </summary>
internal static class RefsScan
{
    public static void Run(string[] args)
    {
        int files = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100_000;
        int flags = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1_000;
        var keys = Enumerable.Range(0, flags).Select(i => $"feature-{i}-rollout").ToList();
        var root = Directory.CreateTempSubdirectory("flagstaff-refs-bench-").FullName;
        try
        {
            var generate = Stopwatch.StartNew();
            var (bytes, ignored) = Generate(root, files, keys);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"tree: {files:N0} files ({ignored:N0} of them ignored or in skipped folders), {bytes / 1024.0 / 1024.0:F0} MiB, generated in {generate.Elapsed.TotalSeconds:F1} s"));
            var scanner = new CodeScanner(keys, new RefsConfig());
            for (int run = 1; run <= 5; run++)
            {
                var result = scanner.Scan(root, null, CancellationToken.None);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"run {run}: {result.Elapsed.TotalSeconds:F2} s, {result.Files:N0} files read, {result.SkippedBinary:N0} binary, {result.References.Count:N0} references"));
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    // Source-like files of 40 to 200 lines in folders of 50, a few naming flags; a root .gitignore,
    // nested ones, node_modules and bin folders, and one binary file in 100.
    private static (long Bytes, int Ignored) Generate(string root, int files, List<string> keys)
    {
        var random = new Random(42);
        File.WriteAllText(Path.Combine(root, ".gitignore"), "*.log\ngenerated/\n!keep.log\n");
        long bytes = 0;
        int ignored = 0;
        var line = new StringBuilder();
        for (int i = 0; i < files; i++)
        {
            int folder = i / 50;
            string directory = (i % 1000) switch
            {
                < 20 => Path.Combine(root, "web", "node_modules", $"pkg{folder}"),
                < 40 => Path.Combine(root, $"m{folder / 20}", "bin", $"d{folder}"),
                < 60 => Path.Combine(root, $"m{folder / 20}", "generated"),
                _ => Path.Combine(root, $"m{folder / 20}", $"p{folder}"),
            };
            if (i % 1000 < 60)
            {
                ignored++;
            }

            Directory.CreateDirectory(directory);
            if (i % 5000 == 0)
            {
                File.WriteAllText(Path.Combine(directory, ".gitignore"), "*.tmp\n/local/\n");
            }

            var path = Path.Combine(directory, $"File{i}.cs");
            if (i % 100 == 99)
            {
                var binary = new byte[4096];
                random.NextBytes(binary);
                binary[10] = 0;
                File.WriteAllBytes(path.Replace(".cs", ".png", StringComparison.Ordinal), binary);
                bytes += binary.Length;
                continue;
            }

            var text = new StringBuilder();
            int lines = random.Next(40, 200);
            for (int l = 0; l < lines; l++)
            {
                line.Clear();
                line.Append("        var value").Append(l).Append(" = service.Compute(order, customer, ").Append(random.Next(1000)).Append(");");
                if (random.Next(400) == 0)
                {
                    line.Append(" if (client.GetBoolean(\"").Append(keys[random.Next(keys.Count)]).Append("\", context, false)) { }");
                }

                text.Append(line).Append('\n');
            }

            var content = text.ToString();
            File.WriteAllText(path, content);
            bytes += content.Length;
        }

        return (bytes, ignored);
    }
}
