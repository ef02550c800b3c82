using System.Diagnostics;
using Flagstaff.Management.Services;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Flagstaff.Dashboard.Tests;

/// <summary>The Code tab: snippets for the real SDKs, with the server's address and the project's stickiness property.</summary>
public sealed class SnippetsTests(DashboardFixture fixture) : DashboardTest(fixture)
{
    [Fact]
    public async Task The_code_tab_shows_sdk_snippets_with_the_servers_address_and_the_projects_stickiness_property()
    {
        var project = UniqueKey("p");
        await Service<ProjectService>().CreateAsync(new CreateProjectRequest { Key = project, Name = "Accounts", StickinessProperty = "accountId" }, TestActor);
        await Service<FlagService>().CreateAsync(project, new CreateFlagRequest { Key = "new-checkout", Name = "New checkout" }, TestActor);
        var server = Server.Address.ToString().TrimEnd('/');

        var page = await SignedInPageAsync();
        await page.GotoAsync($"projects/{project}/flags/new-checkout?tab=code");
        var dotnet = await SnippetAsync(page, ".NET");
        Assert.Contains($"BaseUrl = new Uri(\"{server}/\")", dotnet, StringComparison.Ordinal);
        Assert.Contains("new FlagstaffClient(new FlagstaffClientOptions", dotnet, StringComparison.Ordinal);
        Assert.Contains("EvaluationContext.CreateBuilder().Set(\"accountId\", \"user-42\").Build()", dotnet, StringComparison.Ordinal);
        Assert.Contains("bool value = flags.GetBoolean(\"new-checkout\", context, false);", dotnet, StringComparison.Ordinal);

        var node = await SnippetAsync(page, "Node.js (Tggl)");
        Assert.Contains($"const baseUrls = ['{server}']", node, StringComparison.Ordinal);
        Assert.Contains("new TgglLocalClient(", node, StringComparison.Ordinal);
        Assert.Contains("flags.get({ accountId: 'user-42', timestamp: Date.now() }, 'new-checkout', false)", node, StringComparison.Ordinal);
        var browser = await SnippetAsync(page, "Browser (Tggl)");
        Assert.Contains("initialContext: { accountId: 'user-42' }", browser, StringComparison.Ordinal);
        Assert.Contains("flags.get('new-checkout', false)", browser, StringComparison.Ordinal);
        var openFeature = await SnippetAsync(page, "OpenFeature (OFREP)");
        Assert.Contains($"baseUrl: '{server}'", openFeature, StringComparison.Ordinal);
        Assert.Contains("await flags.getBooleanValue('new-checkout', false, { targetingKey: 'user-42' })", openFeature, StringComparison.Ordinal);
        await ScreenshotAsync(page, "flag-code");

        foreach (var (name, text) in new[] { (".NET", dotnet), ("Node.js", node), ("Browser", browser), ("OpenFeature", openFeature) })
        {
            Assert.DoesNotContain("userId", text, StringComparison.Ordinal);
            Assert.DoesNotContain("fetch(", text, StringComparison.Ordinal);
            Assert.DoesNotContain("HttpClient", text, StringComparison.Ordinal);
            if (name != ".NET")
            {
                await NodeAcceptsAsync(text);
            }
        }

        // The copy button copies what is shown.
        await page.Context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"]);
        await page.GetByRole(AriaRole.Button, new() { Name = "Copy the OpenFeature (OFREP) snippet" }).ClickAsync();
        Assert.Equal(openFeature, await page.EvaluateAsync<string>("() => navigator.clipboard.readText()"));
    }

    private static async Task<string> SnippetAsync(IPage page, string language)
    {
        var code = page.GetByLabel($"{language} snippet", new() { Exact = true });
        await Expect(code).ToBeVisibleAsync();
        return (await code.TextContentAsync())!;
    }

    // JavaScript that parses as a module (node --check reads it without running it).
    private static async Task NodeAcceptsAsync(string module)
    {
        var file = Path.Combine(Path.GetTempPath(), $"snippet-{Guid.NewGuid():N}.mjs");
        await File.WriteAllTextAsync(file, module);
        try
        {
            using var node = Process.Start(new ProcessStartInfo("node", ["--check", file]) { RedirectStandardError = true })!;
            var error = await node.StandardError.ReadToEndAsync();
            await node.WaitForExitAsync();
            Assert.True(node.ExitCode == 0, "node --check refused the snippet: " + error + Environment.NewLine + module);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
