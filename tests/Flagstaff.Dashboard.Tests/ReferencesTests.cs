using Flagstaff.Domain;
using Flagstaff.Management.Services;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Flagstaff.Dashboard.Tests;

/// <summary>The flag page's References tab: where the flag is used, per repository, as flagstaff refs --upload sent it.</summary>
public sealed class ReferencesTests(DashboardFixture fixture) : DashboardTest(fixture)
{
    [Fact]
    public async Task The_flag_page_lists_file_line_and_context_per_repository_with_when_it_was_scanned()
    {
        var project = await NewProjectAsync("Storefront");
        await Service<FlagService>().CreateAsync(project, new CreateFlagRequest { Key = "new-checkout", Name = "New checkout", Kind = FlagKind.Release }, TestActor);
        await Service<FlagService>().CreateAsync(project, new CreateFlagRequest { Key = "dark-mode", Name = "Dark mode", Kind = FlagKind.Release }, TestActor);

        var page = await SignedInPageAsync();
        await page.GotoAsync($"projects/{project}/flags/new-checkout?tab=references");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "No code scanned yet" })).ToBeVisibleAsync();
        await Expect(page.Locator(".references-empty")).ToContainTextAsync("flagstaff refs --project " + project + " --upload");

        var scannedAt = DateTimeOffset.UtcNow.AddHours(-3);
        var references = Enumerable.Range(1, 12).Select(i => new CodeReference
        {
            Path = i == 1 ? "src/Checkout/CheckoutController.cs" : $"src/web/step{i}.ts",
            Line = 10 + i,
            Context = i == 1 ? "if (client.GetBoolean(\"new-checkout\", context, false))" : $"const on{i} = flags.isActive('new-checkout');",
            Alias = i == 2 ? "newCheckout" : null,
        }).ToList();
        await Service<CodeReferenceService>().UploadAsync(project, new UploadCodeReferencesRequest
        {
            Repository = "acme/storefront",
            Branch = "main",
            Commit = "9f3c2a1d0b7e4c55",
            ScannedAt = scannedAt,
            Files = 1840,
            Flags = [new FlagCodeReferences { Key = "new-checkout", Total = 14, References = references }],
        }, TestActor);
        await Service<CodeReferenceService>().UploadAsync(project, new UploadCodeReferencesRequest
        {
            Repository = "acme/admin",
            Flags = [new FlagCodeReferences { Key = "dark-mode", Total = 1, References = [new CodeReference { Path = "a.cs", Line = 1, Context = "dark-mode" }] }],
        }, TestActor);

        await page.ReloadAsync();
        var storefront = page.GetByRole(AriaRole.Region, new() { Name = "References in acme/storefront" });
        await Expect(storefront.GetByRole(AriaRole.Heading, new() { Name = "acme/storefront" })).ToBeVisibleAsync();
        await Expect(storefront).ToContainTextAsync("14 references");
        await Expect(storefront).ToContainTextAsync("main");
        await Expect(storefront).ToContainTextAsync("9f3c2a1d0b7e");
        await Expect(storefront).ToContainTextAsync("Scanned 3 h ago (" + scannedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture) + " UTC)");
        await Expect(storefront.Locator(".references-list li")).ToHaveCountAsync(10);
        await Expect(storefront.Locator(".references-list li").First).ToContainTextAsync("src/Checkout/CheckoutController.cs:11");
        await Expect(storefront.Locator(".references-list li").First).ToContainTextAsync("if (client.GetBoolean(\"new-checkout\", context, false))");
        await Expect(storefront.Locator(".references-list li").Nth(1)).ToContainTextAsync("as newCheckout");
        await Expect(storefront.Locator(".references-more")).ToHaveTextAsync("4 more");
        await Expect(page.GetByRole(AriaRole.Region, new() { Name = "References in acme/admin" })).ToContainTextAsync("Not referenced in this repository.");
        await ScreenshotAsync(page, "flag-references");
    }
}
