using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Flagstaff.Interop.Tests;

/// <summary>Runs the npm clients of tests/interop (installed by test.sh) and returns what they saw.</summary>
internal static class NodeClients
{
    public static string InteropFolder()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Flagstaff.slnx")))
        {
            directory = directory.Parent;
        }

        var folder = Path.Combine(directory?.FullName ?? throw new InvalidOperationException("The repository root was not found."), "tests", "interop");
        if (!Directory.Exists(Path.Combine(folder, "node_modules", "tggl-client")))
        {
            throw new InvalidOperationException($"The npm clients are not installed: run ./test.sh, or 'npm ci' in {folder}.");
        }

        return folder;
    }

    public static async Task<JsonNode> RunAsync(IDictionary<string, string> environment, JsonNode input)
    {
        var folder = InteropFolder();
        var work = Directory.CreateTempSubdirectory("flagstaff-interop-").FullName;
        try
        {
            var inputFile = Path.Combine(work, "input.json");
            var outputFile = Path.Combine(work, "output.json");
            await File.WriteAllTextAsync(inputFile, input.ToJsonString());
            var start = new ProcessStartInfo("node", "clients.mjs")
            {
                WorkingDirectory = folder,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var (name, value) in environment)
            {
                start.Environment[name] = value;
            }

            start.Environment["FLAGSTAFF_INPUT"] = inputFile;
            start.Environment["FLAGSTAFF_OUTPUT"] = outputFile;
            using var process = Process.Start(start) ?? throw new InvalidOperationException("node could not be started.");
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await process.WaitForExitAsync(timeout.Token);
            if (process.ExitCode != 0 || !File.Exists(outputFile))
            {
                throw new InvalidOperationException($"The npm clients failed (exit code {process.ExitCode}):{Environment.NewLine}{await stdout}{await stderr}");
            }

            return JsonNode.Parse(await File.ReadAllTextAsync(outputFile))!;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
