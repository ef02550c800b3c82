using System.Text.Json.Nodes;
using Flagstaff.Domain;
using Flagstaff.Management.Services;
using Flagstaff.Server.Reports;
using Flagstaff.Storage;
using Flagstaff.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Flagstaff.Dashboard.Tests;

/// <summary>The catalogue of context properties after a flood of usage reports: paged, searched, and cleared of what reports taught it in one confirmed step.</summary>
public sealed class CatalogueTests(DashboardFixture fixture) : DashboardTest(fixture)
{
    [Fact]
    public async Task A_flooded_catalogue_is_paged_searched_and_its_learned_properties_removed_in_bulk()
    {
        var project = await NewProjectAsync("Flooded");
        await Service<SegmentService>().CreatePropertyAsync(project, new ContextPropertyRequest { Key = "plan", Name = "Plan" }, TestActor);
        var key = (await Service<ApiKeyService>().CreateAsync(project, "production", new CreateApiKeyRequest("web", ApiKeyKind.Client), TestActor)).Secret;
        using (var sdk = Server.Anonymous())
        {
            sdk.DefaultRequestHeaders.Add("X-Tggl-Api-Key", key);
            for (int report = 0; report < 3; report++)
            {
                var properties = new JsonObject { ["<script>alert(1)</script>"] = new JsonArray(1732450000, 1732450060) };
                for (int i = 0; i < 500; i++)
                {
                    properties[$"junk-{(report * 500) + i:D4}"] = new JsonArray(1732450000, 1732450060);
                }

                await (await sdk.PostJsonAsync("report", new JsonObject { ["receivedProperties"] = properties })).ReadJsonAsync();
                await Service<UsageAggregator>().FlushAsync(CancellationToken.None);
            }
        }

        var page = await SignedInPageAsync();
        await page.GotoAsync($"projects/{project}/properties");
        var range = page.Locator("#properties-range");
        await Expect(range).ToHaveTextAsync("1–100 of 1,001");
        await Expect(page.Locator("tbody tr")).ToHaveCountAsync(100);
        await Expect(page.Locator("#report-drops")).ToContainTextAsync("500 new properties once the project had learned as many as allowed");
        await Expect(page.Locator("#report-drops")).ToContainTextAsync("3 property names that break the naming rule");

        await page.GetByRole(AriaRole.Button, new() { Name = "Next" }).ClickAsync();
        await Expect(range).ToHaveTextAsync("101–200 of 1,001");
        await Expect(page.Locator("tbody tr").First).ToContainTextAsync("junk-0100");

        await page.GetByLabel("Search properties").FillAsync("junk-0999");
        await Expect(range).ToHaveTextAsync("1–1 of 1");
        await Expect(page.Locator("tbody tr")).ToHaveCountAsync(1);
        await page.GetByLabel("Search properties").FillAsync("");
        await Expect(range).ToHaveTextAsync("1–100 of 1,001");
        await ScreenshotAsync(page, "properties-flooded");

        await page.GetByRole(AriaRole.Button, new() { Name = "Remove 1,000 learned properties" }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Alertdialog);
        await Expect(dialog).ToContainTextAsync("Properties defined or changed by hand stay.");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Remove" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Removed 1,000 learned properties." })).ToBeVisibleAsync();
        await Expect(range).ToHaveTextAsync("1–1 of 1");
        await Expect(page.Locator("tbody tr")).ToContainTextAsync("plan");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Remove 1,000 learned properties" })).ToHaveCountAsync(0);

        var left = await Service<SegmentService>().ListPropertiesAsync(project, new PropertyQuery());
        Assert.Equal(["plan"], left.Items.Select(p => p.Key));
    }
}
