using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Flagstaff.Testing;

namespace Flagstaff.Cli.Tests;

/// <summary>
/// generate csharp: the generated file is compiled in a throw-away project against the SDK (warnings
/// as errors), and the program evaluates through the accessors, following the server, and must answer
/// as the server's POST /flags does for the same contexts.
/// </summary>
public class GenerateCSharpTests(CliServer fixture) : ServerCliTest(fixture), IClassFixture<CliServer>
{
    [Fact]
    public async Task Generated_accessors_compile_and_evaluate_as_the_server_does()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "new-checkout", new JsonObject { ["description"] = "Ships the <new> checkout & cart" });
        await CreateFlagAsync(project, "banner", Obj("""{"valueType":"string","variations":[{"key":"hello","value":"Hello \"you\""},{"key":"bye","value":"Bye"}]}"""));
        await CreateFlagAsync(project, "max-items", Obj("""{"valueType":"number","variations":[{"key":"few","value":3},{"key":"many","value":50}]}"""));
        await CreateFlagAsync(project, "theme", Obj("""{"valueType":"json","variations":[{"key":"dark","value":{"color":"black","size":2,"bold":true}},{"key":"light","value":{"color":"white","size":1,"bold":false}}]}"""));
        await CreateFlagAsync(project, "2fa-required");
        await CreateFlagAsync(project, "old-thing");
        await Put(project, "new-checkout", """{"enabled":true,"rules":[{"clauses":[{"property":"email","operator":"STR_ENDS_WITH","values":["@acme.com"]}],"serve":{"variation":"on"}}],"defaultServe":{"variation":"off"}}""");
        await Put(project, "banner", """{"enabled":true,"rules":[{"clauses":[{"property":"plan","operator":"STR_EQUAL","values":["pro"]}],"serve":{"variation":"bye"}}],"defaultServe":{"variation":"hello"}}""");
        await Put(project, "max-items", """{"enabled":true,"rules":[],"defaultServe":{"split":{"buckets":[{"variation":"few","weight":50},{"variation":"many","weight":50}]}}}""");
        await Put(project, "theme", """{"enabled":true,"rules":[{"clauses":[{"property":"plan","operator":"STR_EQUAL","values":["pro"]}],"serve":{"variation":"dark"}}],"defaultServe":{"variation":"light"}}""");
        await RunJsonAsync("flags", "archive", "old-thing", "--project", project);
        var serverKey = (await (await Admin.PostJsonAsync($"api/projects/{project}/environments/production/keys", JsonNode.Parse("""{"name":"gen","kind":"server"}"""))).ReadJsonAsync(HttpStatusCode.Created))["secret"]!.GetValue<string>();

        using var folder = new TempFolder();
        var generated = Path.Combine(folder.Path, "Flags.g.cs");
        var (code, _, error) = await RunAsync("generate", "csharp", "--project", project, "--namespace", "Shop.Features", "--class", "ShopFlags", "--output", generated);
        Assert.True(code == 0, error);
        var text = File.ReadAllText(generated);
        Assert.Contains("public const string _2faRequired = \"2fa-required\";", text, StringComparison.Ordinal);
        Assert.Contains("[global::System.Obsolete(\"The flag old-thing is archived", text, StringComparison.Ordinal);
        Assert.Contains("public static class BannerValues", text, StringComparison.Ordinal);
        Assert.Contains("public sealed record ThemeValue(", text, StringComparison.Ordinal);
        Assert.Contains("Ships the &lt;new&gt; checkout &amp; cart", text, StringComparison.Ordinal);

        folder.Write("app/Flags.g.cs", text);
        folder.Write("app/App.csproj", $$"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                <GenerateDocumentationFile>true</GenerateDocumentationFile>
              </PropertyGroup>
              <ItemGroup>
                <!-- The SDK's logging abstractions, as the test host has them. -->
                <FrameworkReference Include="Microsoft.AspNetCore.App" />
            {{string.Join("\n", Directory.EnumerateFiles(AppContext.BaseDirectory, "*.dll")
                .Where(f => Path.GetFileName(f) is var n && (n.StartsWith("Flagstaff.Client", StringComparison.Ordinal) || n == "Flagstaff.Evaluation.dll"))
                .Select(f => $"    <Reference Include=\"{Path.GetFileNameWithoutExtension(f)}\" HintPath=\"{f}\" />"))}}
              </ItemGroup>
            </Project>
            """);
        folder.Write("app/Program.cs", """
            using System.Text.Json.Nodes;
            using Flagstaff.Client;
            using Flagstaff.Evaluation;
            using Shop.Features;

            await using var client = new FlagstaffClient(new FlagstaffClientOptions { BaseUrl = new Uri(args[0]), ServerKey = args[1], Mode = SyncMode.Polling, PollInterval = TimeSpan.FromSeconds(1) });
            if (!await client.WaitUntilReadyAsync(TimeSpan.FromSeconds(30)))
            {
                return 1;
            }

            var flags = new ShopFlags(client);
            var results = new JsonArray();
            foreach (var line in File.ReadAllLines(args[2]))
            {
                var context = EvaluationContext.Parse(System.Text.Encoding.UTF8.GetBytes(line));
                var theme = flags.Theme(context);
                results.Add(new JsonObject
                {
                    ["new-checkout"] = flags.NewCheckout(context),
                    ["banner"] = flags.Banner(context, "none"),
                    ["max-items"] = flags.MaxItems(context, -1),
                    ["theme"] = theme is null ? null : new JsonObject { ["color"] = theme.Color, ["size"] = theme.Size, ["bold"] = theme.Bold },
                    ["2fa-required"] = flags._2faRequired(context),
                    ["bye-constant"] = ShopFlags.BannerValues.Bye,
                });
            }

            Console.WriteLine(results.ToJsonString());
            return 0;
            """);
        var contexts = Enumerable.Range(0, 40).Select(i => new JsonObject { ["userId"] = "u-" + i, ["email"] = i % 3 == 0 ? $"x{i}@acme.com" : $"x{i}@else.org", ["plan"] = i % 4 == 0 ? "pro" : "free" }).ToList();
        var contextFile = folder.Write("contexts.txt", string.Join("\n", contexts.Select(c => c.ToJsonString())));

        var build = await Dotnet(folder.Path, "build", Path.Combine(folder.Path, "app", "App.csproj"), "-o", Path.Combine(folder.Path, "out"), "-nodeReuse:false");
        Assert.True(build.ExitCode == 0, build.Output);
        var run = await Dotnet(folder.Path, Path.Combine(folder.Path, "out", "App.dll"), Server.Address.ToString(), serverKey, contextFile);
        Assert.True(run.ExitCode == 0, run.Output);
        var answers = JsonNode.Parse(run.Output.Trim().Split('\n').Last())!.AsArray();

        using var evaluation = new HttpClient { BaseAddress = Server.Address };
        evaluation.DefaultRequestHeaders.Add("X-Tggl-Api-Key", serverKey);
        var expected = await (await evaluation.PostJsonAsync("flags", new JsonArray([.. contexts.Select(c => (JsonNode)c.DeepClone())]))).ReadJsonAsync();
        for (int i = 0; i < contexts.Count; i++)
        {
            var server = expected[i]!.AsObject();
            var got = answers[i]!;
            Assert.Equal(server["new-checkout"]?.GetValue<bool>() ?? false, got["new-checkout"]!.GetValue<bool>());
            Assert.Equal(server["banner"]?.GetValue<string>() ?? "none", got["banner"]!.GetValue<string>());
            Assert.Equal(server["max-items"]?.GetValue<double>() ?? -1, got["max-items"]!.GetValue<double>());
            Assert.True(JsonNode.DeepEquals(server["theme"], got["theme"]), $"context {i}: theme {got["theme"]?.ToJsonString()} but the server says {server["theme"]?.ToJsonString()}");
            Assert.False(got["2fa-required"]!.GetValue<bool>());
            Assert.Equal("Bye", got["bye-constant"]!.GetValue<string>());
        }

        Assert.Contains(answers, a => a!["new-checkout"]!.GetValue<bool>());
        Assert.Contains(answers, a => a!["max-items"]!.GetValue<double>() == 3);
        Assert.Contains(answers, a => a!["max-items"]!.GetValue<double>() == 50);
    }

    private static JsonObject Obj(string json) => JsonNode.Parse(json)!.AsObject();

    private async Task Put(string project, string flag, string targeting)
    {
        var path = $"api/projects/{project}/flags/{flag}/environments/production";
        var version = (await Admin.GetAsync(path)).Headers.ETag!.Tag;
        await (await Admin.PutJsonAsync(path, JsonNode.Parse(targeting), version)).ReadJsonAsync();
    }

    private static async Task<(int ExitCode, string Output)> Dotnet(string directory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // The test host's MSBuild settings must not leak into the throw-away build.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await error);
    }
}
