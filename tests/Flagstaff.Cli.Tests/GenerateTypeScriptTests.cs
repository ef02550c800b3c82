using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Flagstaff.Cli.Tests;

/// <summary>generate typescript, compiled with the pinned tsc of tests/interop against tggl-client's own types.</summary>
public class GenerateTypeScriptTests(CliServer fixture) : ServerCliTest(fixture), IClassFixture<CliServer>
{
    [Fact]
    public async Task The_declarations_compile_with_tsc_for_keys_with_dashes_dots_and_digits_and_type_each_flag()
    {
        var interop = InteropFolder();
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "new-checkout", new JsonObject { ["description"] = "Closes a comment */ early" });
        await CreateFlagAsync(project, "2fa.required");
        await CreateFlagAsync(project, "banner", JsonNode.Parse("""{"valueType":"string","variations":[{"key":"hello","value":"Hello \"you\""},{"key":"bye","value":"Bye"}]}""")!.AsObject());
        await CreateFlagAsync(project, "max_items", JsonNode.Parse("""{"valueType":"number","variations":[{"key":"few","value":3},{"key":"many","value":50}]}""")!.AsObject());
        await CreateFlagAsync(project, "theme", JsonNode.Parse("""{"valueType":"json","variations":[{"key":"dark","value":{"color":"black","tags":["a"]}},{"key":"light","value":{"color":"white","tags":[]}}]}""")!.AsObject());

        using var folder = new TempFolder();
        var (code, _, error) = await RunAsync("generate", "typescript", "--project", project, "--output", Path.Combine(folder.Path, "flags.d.ts"));
        Assert.True(code == 0, error);
        folder.Write("use.ts", """
            import { TgglClient } from 'tggl-client';

            const client = new TgglClient({ apiKey: 'k' });
            const checkout: boolean = client.get('new-checkout', false);
            const twoFactor: boolean = client.get('2fa.required', false);
            const banner: 'Hello "you"' | 'Bye' = client.get('banner', 'Bye');
            const items: number = client.get('max_items', 0);
            const color: 'black' | 'white' | undefined = client.get('theme', undefined)?.color;
            // @ts-expect-error a misspelt key is a compile error
            client.get('new-chekout', false);
            // @ts-expect-error a string flag is not a number
            const wrong: number = client.get('banner', 'Bye');
            export { checkout, twoFactor, banner, items, color, wrong };
            """);
        folder.Write("tsconfig.json", """{"compilerOptions":{"strict":true,"noEmit":true,"module":"nodenext","moduleResolution":"nodenext","target":"es2022","skipLibCheck":false,"types":[]},"files":["flags.d.ts","use.ts"]}""");
        Directory.CreateSymbolicLink(Path.Combine(folder.Path, "node_modules"), Path.Combine(interop, "node_modules"));

        var (exit, output) = await ProcessAsync("node", folder.Path, Path.Combine(interop, "node_modules", "typescript", "bin", "tsc"), "-p", Path.Combine(folder.Path, "tsconfig.json"));
        Assert.True(exit == 0, output + "\n" + File.ReadAllText(Path.Combine(folder.Path, "flags.d.ts")));

        // And the check can fail: a use of a key the project does not have.
        folder.Write("use.ts", "import { TgglClient } from 'tggl-client';\nnew TgglClient({ apiKey: 'k' }).get('no-such-flag', false);\n");
        (exit, output) = await ProcessAsync("node", folder.Path, Path.Combine(interop, "node_modules", "typescript", "bin", "tsc"), "-p", Path.Combine(folder.Path, "tsconfig.json"));
        Assert.NotEqual(0, exit);
        Assert.Contains("no-such-flag", output, StringComparison.Ordinal);
    }

    private static string InteropFolder()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Flagstaff.slnx")))
        {
            directory = directory.Parent;
        }

        var folder = Path.Combine(directory?.FullName ?? throw new InvalidOperationException("The repository root was not found."), "tests", "interop");
        if (!File.Exists(Path.Combine(folder, "node_modules", "typescript", "bin", "tsc")))
        {
            throw new InvalidOperationException($"TypeScript is not installed: run ./test.sh, or 'npm ci' in {folder}.");
        }

        return folder;
    }

    private static async Task<(int ExitCode, string Output)> ProcessAsync(string program, string directory, params string[] args)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await error);
    }
}
