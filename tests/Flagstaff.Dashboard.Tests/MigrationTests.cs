using System.Net;
using System.Text.RegularExpressions;
using Flagstaff.Domain;
using Flagstaff.Evaluation;
using Flagstaff.Management.Services;
using Flagstaff.Server.Reports;
using Flagstaff.Storage;
using Flagstaff.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Flagstaff.Dashboard.Tests;

/// <summary>Migration flags in the dashboard: created from the new-flag page, watched and acted on in their Migration tab, guarded when the targeting skips stages.</summary>
public sealed class MigrationTests(DashboardFixture fixture) : DashboardTest(fixture)
{
    [Fact]
    public async Task A_migration_is_created_watched_rolled_back_by_a_guard_and_stopped_from_its_tab()
    {
        var project = await NewProjectAsync("Shop");
        var page = await SignedInPageAsync();

        // Created from the new-flag page: the migration template asks for the path and the compare rate.
        await page.GotoAsync($"projects/{project}/flags/new");
        await page.GetByRole(AriaRole.Radio, new() { NameRegex = new Regex("^Migration") }).CheckAsync();
        await page.GetByLabel("Name").FillAsync("Orders store");
        await Expect(page.GetByLabel("Key", new() { Exact = true })).ToHaveValueAsync("orders-store");
        await page.GetByLabel("Path", new() { Exact = true }).SelectOptionAsync("Full");
        await page.GetByLabel("Reads compared in shadow and live (%)").FillAsync("10");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create flag" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/flags/orders-store$"));
        var flag = (await Service<FlagService>().GetAsync(project, "orders-store")).Flag;
        Assert.Equal(FlagKind.Migration, flag.Kind);
        Assert.Equal(0.1, flag.Migration!.CompareRate, 9);
        Assert.Equal(MigrationStageNames.All, flag.Variations.Select(v => v.Key));

        // Beta accounts read from new; everyone else is 80 % shadow, 20 % live.
        await Service<FlagService>().PutTargetingAsync(project, "orders-store", "production", new TargetingRequest
        {
            Enabled = true,
            Rules = [new TargetingRule { Id = "beta", Name = "Beta accounts", Clauses = [new Clause { Property = "plan", Operator = "STR_EQUAL", Values = ["beta"] }], Serve = Serve.Of("live") }],
            DefaultServe = new Serve { Split = new Split { Buckets = [new() { Variation = "shadow", Weight = 80 }, new() { Variation = "live", Weight = 20 }] } },
        }, 1, TestActor);
        var key = (await Service<ApiKeyService>().CreateAsync(project, "production", new CreateApiKeyRequest("orders-api", ApiKeyKind.Server), TestActor)).Secret;
        using var sdk = Server.Anonymous();
        sdk.DefaultRequestHeaders.Add("X-Tggl-Api-Key", key);
        await ReportAsync(sdk, """
            {"measurements":[
              {"flag":"orders-store","stage":"shadow","operation":"read","from":1,"to":2,"old":{"invoked":3200,"errors":2,"latency":[[16,3000],[20,200]]},"new":{"invoked":3200,"errors":1,"latency":[[14,3100],[19,100]]},"compared":320,"inconsistent":0},
              {"flag":"orders-store","stage":"live","operation":"read","from":1,"to":2,"old":{"invoked":800,"latency":[[16,800]]},"new":{"invoked":800,"errors":0,"latency":[[14,790],[18,10]]},"compared":80,"inconsistent":0},
              {"flag":"orders-store","stage":"shadow","operation":"write","from":1,"to":2,"old":{"invoked":900,"latency":[[22,900]]},"new":{"invoked":900,"errors":3,"latency":[[21,900]]},"failedWrites":3}
            ]}
            """);
        await Service<MigrationAggregator>().FlushAsync(CancellationToken.None);

        // The minutes before, as the recorder wrote them (older than the guards' window): shadow traffic growing.
        var production = await Service<Store>().ReadAsync(async s => (await s.GetEnvironmentAsync((await s.GetProjectAsync(project))!.Id, "production"))!);
        long window = MigrationService.WindowOf(DateTimeOffset.UtcNow);
        var earlier = Enumerable.Range(7, 80).Select(i => new MigrationWindow
        {
            EnvironmentId = production.Id,
            FlagKey = "orders-store",
            WindowStart = window - (i * 10),
            Stage = "shadow",
            Operation = "read",
            OldInvoked = 900 - (i * 8),
            NewInvoked = 900 - (i * 8),
            NewErrors = i % 9 == 0 ? 6 : 0,
            Compared = 90 - i,
        }).ToList();
        await Service<Store>().WriteAsync(s => s.AddMigrationWindowsAsync(earlier, []));

        // The Migration tab: cohorts and their stages, traffic per stage, old against new, guards.
        await page.GotoAsync($"projects/{project}/flags/orders-store?tab=migration&env=production");
        await Expect(page.GetByRole(AriaRole.Tab, new() { Name = "Migration" })).ToHaveAttributeAsync("aria-selected", "true");
        var cohorts = page.Locator(".migration-card").Filter(new() { Has = page.GetByRole(AriaRole.Heading, new() { Name = "Cohorts" }) }).Locator("tbody tr");
        await Expect(cohorts).ToHaveTextAsync([new Regex("Beta accounts\\s*live"), new Regex("Everyone else\\s*shadow 80 %\\s*live 20 %")]);
        await Expect(page.Locator(".stage-shares li")).ToHaveTextAsync([new Regex("shadow\\s*83.67 % \\(4,100\\)"), new Regex("live\\s*16.33 % \\(800\\)")]);
        var sides = page.Locator(".migration-sides tbody tr");
        await Expect(sides.Nth(0).Locator("td")).ToHaveTextAsync(["4,900", "2", "0.04 %", "355.3 µs", "1.4 ms"]);
        await Expect(sides.Nth(1).Locator("td")).ToHaveTextAsync(["4,900", "4", "0.08 %", "227.4 µs", "1.1 ms"]);
        await Expect(page.Locator(".migration-facts")).ToContainTextAsync("100 % (0 of 400 compared reads differed)");
        await Expect(page.Locator(".migration-facts")).ToContainTextAsync("Failed non-authoritative writes3");
        await Expect(page.Locator(".migration-card").Filter(new() { Has = page.GetByRole(AriaRole.Heading, new() { NameRegex = new Regex("^Guards") }) }).Locator("tbody tr"))
            .ToHaveTextAsync([new Regex("New error rate at most\\s*1 %\\s*0.08 %[\\s\\S]*ok"), new Regex("Consistency at least\\s*99.9 %\\s*100 %[\\s\\S]*ok"), new Regex("New p99 at most × old p99\\s*3×\\s*0.8×[\\s\\S]*ok")]);
        await Expect(page.GetByRole(AriaRole.Img, new() { NameRegex = new Regex("^Calls per 10 seconds to old and new in Production") })).ToBeVisibleAsync();
        await ScreenshotAsync(page, "flag-migration");
        await page.Locator("#chart-title").ScrollIntoViewIfNeededAsync();
        await ScreenshotAsync(page, "flag-migration-metrics");
        await page.Locator("#cohorts-title").ScrollIntoViewIfNeededAsync();

        // Skipping stages, or moving into complete, asks first and says what cannot be undone.
        await page.GetByRole(AriaRole.Tab, new() { Name = "Targeting" }).ClickAsync();
        await page.GetByLabel("Rule 1 serve: variation").SelectOptionAsync("complete");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save to Production" }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Alertdialog);
        await Expect(dialog).ToContainTextAsync("Beta accounts: live → complete");
        await Expect(dialog).ToContainTextAsync("After complete, old stops receiving writes.");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        await Expect(dialog).ToHaveCountAsync(0);
        Assert.Equal(2, (await Service<FlagService>().GetTargetingAsync(project, "orders-store", "production")).Version);
        await page.GetByRole(AriaRole.Button, new() { Name = "Discard" }).ClickAsync();

        // New starts failing: the guard sends reads back to old, and the tab says why, when, and with what figures.
        await page.GetByRole(AriaRole.Tab, new() { Name = "Migration" }).ClickAsync();
        await ReportAsync(sdk, """
            {"measurements":[{"flag":"orders-store","stage":"live","operation":"read","from":1,"to":2,"old":{"invoked":5000,"latency":[[16,5000]]},"new":{"invoked":5000,"errors":600,"latency":[[14,5000]]}}]}
            """);
        var banner = page.Locator(".migration-trip");
        await Expect(banner).ToContainTextAsync("A guard sent reads back to old", new() { Timeout = 30_000 });
        await Expect(banner).ToContainTextAsync("the new error rate guard");
        await Expect(banner).ToContainTextAsync(new Regex(@"new error rate \d+(\.\d+)? % over 60 s \([\d,]+ of [\d,]+ calls\) above 1 %: cohorts at live and rampdown moved to shadow"));
        await Expect(cohorts).ToHaveTextAsync([new Regex("Beta accounts\\s*shadow"), new Regex("Everyone else\\s*shadow[^%]*$")]);
        await ScreenshotAsync(page, "flag-migration-rollback");

        // The kill switch of a migration: one button, a confirmation, recorded with the member.
        await page.GetByRole(AriaRole.Button, new() { Name = "Stop writing to new" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alertdialog)).ToContainTextAsync("nothing is written to new any more");
        await page.GetByRole(AriaRole.Alertdialog).GetByRole(AriaRole.Button, new() { Name = "Stop writing to new" }).ClickAsync();
        await Expect(cohorts).ToHaveTextAsync([new Regex("Beta accounts\\s*off"), new Regex("Everyone else\\s*off[^%]*$")]);
        var latest = (await Service<FlagService>().HistoryAsync(project, "orders-store", 1, null))[0];
        Assert.Equal(MigrationService.StopNewWrites, latest.Action);
        Assert.NotNull(latest.Actor.AccountId);
    }

    [Fact]
    public async Task The_migration_tab_fits_a_narrow_window()
    {
        var project = await NewProjectAsync("Shop");
        await Service<FlagService>().CreateAsync(project, new CreateFlagRequest { Key = "users-store", Name = "Users store", Kind = FlagKind.Migration, Migration = new MigrationSettings { Path = MigrationPath.Short } }, TestActor);
        var page = await SignedInPageAsync(width: 390, height: 844);
        await page.GotoAsync($"projects/{project}/flags/users-store?tab=migration&env=production");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Send all reads back to old" })).ToBeVisibleAsync();
        Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"), "the page is wider than the window");

        // Its variations are its stages: shown, not editable.
        await page.GotoAsync($"projects/{project}/flags/users-store?tab=variations");
        await Expect(page.GetByLabel("Variation 4 key")).ToHaveValueAsync("complete");
        await Expect(page.GetByLabel("Variation 4 key")).ToBeDisabledAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Remove variation 1" })).ToHaveCountAsync(0);
    }

    private static async Task ReportAsync(HttpClient sdk, string body) =>
        await (await sdk.SendRawAsync(HttpMethod.Post, "migrations/report", body)).ReadJsonAsync(HttpStatusCode.Accepted);
}
