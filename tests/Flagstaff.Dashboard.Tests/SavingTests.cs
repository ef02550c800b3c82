using Flagstaff.Domain;
using Flagstaff.Management.Services;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Flagstaff.Dashboard.Tests;

/// <summary>Saving targeting: concurrent edits merged, and what a save changes shown before it is made where that matters.</summary>
public sealed class SavingTests(DashboardFixture fixture) : DashboardTest(fixture)
{
    [Fact]
    public async Task Save_mine_over_theirs_merges_separate_edits_and_shows_what_an_overlap_undoes_before_saving()
    {
        var project = await NewProjectAsync();
        await Service<FlagService>().CreateAsync(project, new CreateFlagRequest
        {
            Key = "search",
            Name = "Search",
            Environments = new Dictionary<string, EnvironmentTargeting>
            {
                ["staging"] = new()
                {
                    Enabled = true,
                    Rules = [new TargetingRule { Id = "r-beta", Name = "Beta", Clauses = [new Clause { Property = "plan", Operator = "STR_EQUAL", Values = ["beta"] }], Serve = Serve.Of("on") }],
                    DefaultServe = Split(10),
                },
            },
        }, TestActor);
        var ada = await SignedInPageAsync();
        var bob = await SignedInPageAsync(await NewMemberAsync(Role.Editor, "Bob Editor"), MemberPassword);
        foreach (var page in new[] { ada, bob })
        {
            await page.GotoAsync($"projects/{project}/flags/search?env=staging");
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Targeting in Staging" })).ToBeVisibleAsync();
        }

        // Bob raises the split from 10 % to 30 %; meanwhile Ada renames the rule.
        await ada.GetByLabel("Rule 1 name").FillAsync("Beta customers");
        await ada.GetByLabel("Rule 1 name").PressAsync("Tab");
        await Expect(ada.GetByRole(AriaRole.Region, new() { Name = "Unsaved changes" })).ToBeVisibleAsync();
        await SetShareAsync(bob, 30);
        await bob.GetByRole(AriaRole.Button, new() { Name = "Save to Staging" }).ClickAsync();
        await Expect(bob.GetByRole(AriaRole.Status).Filter(new() { HasText = "Saved the targeting" })).ToBeVisibleAsync();
        var conflict = ada.Locator(".notice-conflict");
        await Expect(conflict).ToContainTextAsync("changed in Staging while you were editing");

        // Separate things: both are kept, nothing is asked.
        await conflict.GetByRole(AriaRole.Button, new() { Name = "Save mine over theirs" }).ClickAsync();
        await Expect(ada.GetByRole(AriaRole.Status).Filter(new() { HasText = "Saved the targeting" })).ToBeVisibleAsync();
        var stored = await Service<FlagService>().GetTargetingAsync(project, "search", "staging");
        Assert.Equal(3, stored.Version);
        Assert.Equal("Beta customers", Assert.Single(stored.Rules).Name);
        Assert.Equal(30, stored.DefaultServe.Split!.Buckets.Single(b => b.Variation == "on").Weight);

        // The same thing: Bob lowers the split to 20 %, Ada (on the old version) wants 50 %.
        await Expect(bob.GetByRole(AriaRole.Heading, new() { Name = "Targeting in Staging" })).ToBeVisibleAsync();
        await Expect(bob.GetByLabel("Default serve: share for on (%)")).ToHaveValueAsync("30");
        await Expect(ada.GetByLabel("Default serve: share for on (%)")).ToHaveValueAsync("30");
        await SetShareAsync(ada, 50);
        await SetShareAsync(bob, 20);
        await bob.GetByRole(AriaRole.Button, new() { Name = "Save to Staging" }).ClickAsync();
        await Expect(bob.GetByRole(AriaRole.Status).Filter(new() { HasText = "Saved the targeting" })).ToBeVisibleAsync();
        await Expect(conflict).ToContainTextAsync("changed in Staging while you were editing");
        await conflict.GetByRole(AriaRole.Button, new() { Name = "Save mine over theirs" }).ClickAsync();

        // Asked first, with what the overwrite undoes in words.
        var dialog = ada.GetByRole(AriaRole.Alertdialog);
        var undone = dialog.Locator(".review-undone .diff tr");
        await Expect(undone).ToHaveCountAsync(1);
        await Expect(undone.Locator("th")).ToHaveTextAsync("Staging · everyone else");
        await Expect(undone.Locator("del")).ToHaveTextAsync("was: 20% on, 80% off");
        await Expect(undone.Locator("ins")).ToHaveTextAsync("now: 50% on, 50% off");
        await ScreenshotAsync(ada, "flag-merge-overlap");
        Assert.Equal(20, (await Service<FlagService>().GetTargetingAsync(project, "search", "staging")).DefaultServe.Split!.Buckets.Single(b => b.Variation == "on").Weight);
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Save to Staging" }).ClickAsync();
        await Expect(ada.GetByRole(AriaRole.Status).Filter(new() { HasText = "Saved the targeting" })).ToBeVisibleAsync();
        stored = await Service<FlagService>().GetTargetingAsync(project, "search", "staging");
        Assert.Equal(50, stored.DefaultServe.Split!.Buckets.Single(b => b.Variation == "on").Weight);
        Assert.Equal("Beta customers", Assert.Single(stored.Rules).Name);
    }

    [Fact]
    public async Task Saving_targeting_in_a_critical_environment_shows_who_gets_what_before_and_after_and_asks()
    {
        var project = await NewProjectAsync();
        await Service<FlagService>().CreateAsync(project, new CreateFlagRequest
        {
            Key = "checkout",
            Name = "Checkout",
            Environments = new Dictionary<string, EnvironmentTargeting> { ["production"] = new() { Enabled = true, DefaultServe = Split(2) } },
        }, TestActor);
        var page = await SignedInPageAsync();
        await page.GotoAsync($"projects/{project}/flags/checkout?env=production");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Targeting in Production" })).ToBeVisibleAsync();

        await SetShareAsync(page, 100);
        await page.GetByRole(AriaRole.Button, new() { Name = "Save to Production" }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Alertdialog);
        await Expect(dialog).ToContainTextAsync("Production is a critical environment.");
        var line = dialog.Locator(".diff tr");
        await Expect(line).ToHaveCountAsync(1);
        await Expect(line.Locator("th")).ToHaveTextAsync("Production · everyone else");
        await Expect(line.Locator("del")).ToHaveTextAsync("was: 2% on, 98% off");
        await Expect(line.Locator("ins")).ToHaveTextAsync("now: 100% on");
        await ScreenshotAsync(page, "flag-save-critical");

        // Cancelled: nothing saved, the edit still there.
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        await Expect(dialog).ToHaveCountAsync(0);
        Assert.Equal(1, (await Service<FlagService>().GetTargetingAsync(project, "checkout", "production")).Version);
        await Expect(page.GetByRole(AriaRole.Region, new() { Name = "Unsaved changes" })).ToBeVisibleAsync();

        await page.GetByRole(AriaRole.Button, new() { Name = "Save to Production" }).ClickAsync();
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Save to Production" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Saved the targeting in Production" })).ToBeVisibleAsync();
        var stored = await Service<FlagService>().GetTargetingAsync(project, "checkout", "production");
        Assert.Equal(100, stored.DefaultServe.Split!.Buckets.Single(b => b.Variation == "on").Weight);

        // A non-critical environment saves at once.
        await page.GotoAsync($"projects/{project}/flags/checkout?env=staging");
        await page.GetByLabel("Default serve: variation").SelectOptionAsync("on");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save to Staging" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Saved the targeting in Staging" })).ToBeVisibleAsync();
        await Expect(dialog).ToHaveCountAsync(0);
    }

    private static Serve Split(double on) => new() { Split = new Split { Buckets = [new SplitBucket { Variation = "on", Weight = on }, new SplitBucket { Variation = "off", Weight = 100 - on }] } };

    private static async Task SetShareAsync(IPage page, double on)
    {
        var share = page.GetByLabel("Default serve: share for on (%)");
        await share.FillAsync(on.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await share.PressAsync("Tab");
        await Expect(page.GetByLabel("Default serve: share for off (%)")).ToHaveValueAsync((100 - on).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
