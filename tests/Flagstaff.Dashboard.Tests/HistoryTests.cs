using System.Text.RegularExpressions;
using Flagstaff.Domain;
using Flagstaff.Management.Services;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Flagstaff.Dashboard.Tests;

/// <summary>The History tab: restoring an earlier version with a reason, in chosen environments.</summary>
public sealed class HistoryTests(DashboardFixture fixture) : DashboardTest(fixture)
{
    [Fact]
    public async Task A_restore_takes_a_reason_and_applies_to_the_chosen_environments_only()
    {
        var project = await NewProjectAsync();
        var flags = Service<FlagService>();
        await flags.CreateAsync(project, new CreateFlagRequest { Key = "search", Name = "Search" }, TestActor);
        await flags.PutTargetingAsync(project, "search", "staging", new TargetingRequest { Enabled = true, DefaultServe = Serve.Of("on") }, 1, TestActor);
        await flags.PutTargetingAsync(project, "search", "production", new TargetingRequest { Enabled = true, DefaultServe = Serve.Of("on") }, 1, TestActor);

        var page = await SignedInPageAsync();
        await page.GotoAsync($"projects/{project}/flags/search?tab=history");
        await page.Locator(".revision").Last.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("Restore revision 1") }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Alertdialog);
        await Expect(dialog.GetByLabel("Targeting in Production")).ToBeCheckedAsync();
        await Expect(dialog.Locator(".diff")).ToContainTextAsync("Staging · main switch");

        // Production only, with a reason: the preview follows the choice.
        await dialog.GetByLabel("Targeting in Staging").UncheckAsync();
        await dialog.GetByLabel("Targeting in Development").UncheckAsync();
        await Expect(dialog.Locator(".diff")).Not.ToContainTextAsync("Staging");
        await Expect(dialog.Locator(".diff")).ToContainTextAsync("Production · main switch");
        await dialog.GetByLabel("Reason (kept in the history)").FillAsync("Checkout errors after the launch");
        await ScreenshotAsync(page, "flag-restore");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Restore" }).ClickAsync();

        await Expect(page.GetByRole(AriaRole.Switch, new() { Name = "Production: off" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Switch, new() { Name = "Staging: on" })).ToBeVisibleAsync();
        var latest = page.Locator(".revision").First;
        await Expect(latest).ToContainTextAsync("restored an earlier version in Production");
        await Expect(latest.Locator(".revision-comment")).ToHaveTextAsync("Checkout errors after the launch");
        Assert.True((await flags.GetTargetingAsync(project, "search", "staging")).Enabled);
        Assert.False((await flags.GetTargetingAsync(project, "search", "production")).Enabled);
    }
}
