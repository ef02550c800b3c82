using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Flagstaff.Domain;
using Flagstaff.Management.Services;
using Flagstaff.Server.Reports;
using Flagstaff.Storage;
using Flagstaff.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Flagstaff.Dashboard.Tests;

/// <summary>Usage in the dashboard: what applications report evaluating, as a chart on the flag page and as "last evaluated" and "stale" on the flags list.</summary>
public sealed class UsageTests(DashboardFixture fixture) : DashboardTest(fixture)
{
    [Fact]
    public async Task Reported_usage_shows_as_a_chart_and_as_last_evaluated_and_unused_flags_are_stale()
    {
        var project = await NewProjectAsync("Storefront");
        var flags = Service<FlagService>();
        await flags.CreateAsync(project, new CreateFlagRequest
        {
            Key = "new-checkout",
            Name = "New checkout",
            Kind = FlagKind.Release,
            Environments = new Dictionary<string, EnvironmentTargeting>
            {
                ["production"] = new() { Enabled = true, DefaultServe = new Serve { Split = new Split { Buckets = [new() { Variation = "on", Weight = 25 }, new() { Variation = "off", Weight = 75 }] } } },
            },
        }, TestActor);
        await flags.CreateAsync(project, new CreateFlagRequest { Key = "old-banner", Name = "Old banner", Kind = FlagKind.Release }, TestActor);
        await flags.CreateAsync(project, new CreateFlagRequest { Key = "brand-new", Name = "Brand new", Kind = FlagKind.Release }, TestActor);
        var key = (await Service<ApiKeyService>().CreateAsync(project, "production", new CreateApiKeyRequest("storefront-web", ApiKeyKind.Server), TestActor)).Secret;

        // Before any report, the usage tab says how usage gets there.
        var page = await SignedInPageAsync();
        await page.GotoAsync($"projects/{project}/flags/new-checkout?tab=usage&env=production");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "No evaluations reported in Production, last day" })).ToBeVisibleAsync();
        await Expect(page.Locator(".usage-empty")).ToContainTextAsync("POST /report");
        await ScreenshotAsync(page, "flag-usage-empty");

        // An application reports what it evaluated, in the wire format, with its API key.
        using (var sdk = Server.Anonymous())
        {
            sdk.DefaultRequestHeaders.Add("X-Tggl-Api-Key", key);
            var report = JsonNode.Parse("""
                {"clients":[{"id":"js-client:3.2.2/TgglLocalClient/storefront-web",
                  "flags":{"new-checkout":[{"value":true,"default":false,"count":412},{"value":false,"default":false,"count":1236}]}}],
                 "receivedProperties":{"userId":[1732450000,1732450060]}}
                """);
            var answer = await (await sdk.PostJsonAsync("report", report)).ReadJsonAsync();
            Assert.True(answer["success"]!.GetValue<bool>());
        }

        await Service<UsageAggregator>().FlushAsync(CancellationToken.None);

        // Earlier reports, as the recorder wrote them: the day before (2 to 23 hours ago), and
        // old-banner, which applications last evaluated 10 days ago, in a flag made 40 days ago.
        var now = DateTimeOffset.UtcNow;
        long minute = now.ToUnixTimeSeconds() / 60;
        var production = await Service<Store>().ReadAsync(async s => (await s.GetEnvironmentAsync((await s.GetProjectAsync(project))!.Id, "production"))!);
        var earlier = new List<UsageCount>();
        for (int hoursAgo = 23; hoursAgo >= 2; hoursAgo--)
        {
            for (int quarter = 0; quarter < 4; quarter++)
            {
                long at = (minute - (hoursAgo * 60)) / 15 * 15 + (quarter * 15);
                long traffic = 800 + (long)(600 * Math.Sin((24 - hoursAgo + (quarter / 4.0)) / 24.0 * Math.PI));
                long on = traffic * (25 - hoursAgo) / 100;
                earlier.Add(new UsageCount { EnvironmentId = production.Id, FlagKey = "new-checkout", Minute = at, Value = "true", Client = "storefront-web", Count = on });
                earlier.Add(new UsageCount { EnvironmentId = production.Id, FlagKey = "new-checkout", Minute = at, Value = "false", Client = "storefront-web", Count = traffic - on });
            }
        }

        earlier.Add(new UsageCount { EnvironmentId = production.Id, FlagKey = "old-banner", Minute = minute - (10 * 1440), Value = "true", Client = "storefront-web", Count = 3 });
        await Service<Store>().WriteAsync(s => s.AddUsageAsync(earlier));
        await BackdateCreationAsync(project, "old-banner", now.AddDays(-40));
        long dayTotal = 412 + 1236 + earlier.Where(u => u.FlagKey == "new-checkout").Sum(u => u.Count);

        // The chart: evaluations per value over the last day, with a legend and the numbers as a table.
        await page.GetByRole(AriaRole.Button, new() { Name = "Refresh" }).ClickAsync();
        await Expect(page.Locator(".usage-total")).ToHaveTextAsync(dayTotal.ToString("N0", CultureInfo.InvariantCulture));
        var legend = page.Locator(".usage-legend");
        await Expect(legend).ToContainTextAsync("on = true");
        await Expect(legend).ToContainTextAsync("false");
        await Expect(page.GetByRole(AriaRole.Img, new() { NameRegex = new Regex("^Evaluations of new-checkout in Production per value, last day") })).ToBeVisibleAsync();
        Assert.True(await page.Locator(".chart-plot rect").CountAsync() >= 2 * 22 * 4);
        await page.GetByText("The numbers, as a table").ClickAsync();
        var newest = page.Locator(".usage-table tbody tr").First;
        await Expect(newest.Locator("td")).ToHaveTextAsync(["1,236", "412", "1,648"]);
        await page.GetByText("The numbers, as a table").ClickAsync();
        await ScreenshotAsync(page, "flag-usage");

        // The last hour holds only the report just sent; staging has none, and says so.
        await page.GetByRole(AriaRole.Radio, new() { Name = "Last hour" }).CheckAsync();
        await Expect(page.Locator(".usage-total")).ToHaveTextAsync("1,648");
        await page.GetByLabel("Usage in environment").SelectOptionAsync("staging");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "No evaluations reported in Staging, last hour" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("^Staging") })).ToHaveAttributeAsync("aria-pressed", "true");

        // The flags list: when each flag was last evaluated per environment, and which are stale.
        await page.GotoAsync($"projects/{project}/flags");
        var checkout = Row(page, "new-checkout");
        await Expect(checkout.Locator(".last-evaluated").Nth(2)).ToHaveTextAsync(new Regex("^evaluated (just now|1 min ago)$"));
        await Expect(checkout.Locator(".last-evaluated").Nth(1)).ToHaveTextAsync("not evaluated in 30 days");
        await Expect(Row(page, "old-banner").Locator(".badge-warn")).ToHaveTextAsync("stale: not evaluated for 10 days");
        await Expect(Row(page, "brand-new").Locator(".badge-warn")).ToHaveCountAsync(0);
        await page.GetByLabel("State").SelectOptionAsync("stale");
        await Expect(page.Locator(".stale-definition")).ToContainTextAsync("not evaluated by any application, in any environment, for 7 days");
        await Expect(page.Locator(".flags-table tbody tr:not([aria-hidden])")).ToHaveCountAsync(1);
        await Expect(Row(page, "old-banner")).ToBeVisibleAsync();
        await ScreenshotAsync(page, "flags-stale");
    }

    private static ILocator Row(IPage page, string key) =>
        page.Locator(".flags-table tbody tr").Filter(new() { Has = page.Locator(".flag-meta .mono", new() { HasTextRegex = new Regex($"^{Regex.Escape(key)}$") }) });

    // Flags cannot be made in the past through the services: the test moves one's creation back in the database.
    private async Task BackdateCreationAsync(string project, string flag, DateTimeOffset createdAt)
    {
        await using var connection = new SqliteConnection($"Data Source={Server.Database.ConnectionString}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE flags SET created_at = $at WHERE key = $flag AND project_id = (SELECT id FROM projects WHERE key = $project)";
        command.Parameters.AddWithValue("$at", createdAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$flag", flag);
        command.Parameters.AddWithValue("$project", project);
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }
}
