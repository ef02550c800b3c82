using Flagstaff.Domain;
using Flagstaff.Management.Services;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Flagstaff.Dashboard.Tests;

/// <summary>The Migration tab moves cohorts one stage at a time, and offers the emergency rollback only when it has something to do.</summary>
public sealed class MigrationStageTests(DashboardFixture fixture) : DashboardTest(fixture)
{
    [Fact]
    public async Task Cohorts_advance_and_go_back_one_stage_and_reads_go_back_to_old_only_from_live_or_rampdown()
    {
        var project = await NewProjectAsync("Shop");
        var flags = Service<FlagService>();
        await flags.CreateAsync(project, new CreateFlagRequest { Key = "orders-store", Name = "Orders store", Kind = FlagKind.Migration, Migration = new MigrationSettings { Path = MigrationPath.Full } }, TestActor);
        var targeting = new TargetingRequest
        {
            Enabled = true,
            Rules = [new TargetingRule { Id = "beta", Name = "Beta accounts", Clauses = [new Clause { Property = "plan", Operator = "STR_EQUAL", Values = ["beta"] }], Serve = Serve.Of("dualwrite") }],
            DefaultServe = Serve.Of("off"),
        };
        await flags.PutTargetingAsync(project, "orders-store", "staging", targeting, 1, TestActor);
        await flags.PutTargetingAsync(project, "orders-store", "production", targeting with { Rules = [targeting.Rules[0] with { Serve = Serve.Of("rampdown") }] }, 1, TestActor);

        var page = await SignedInPageAsync();
        await page.GotoAsync($"projects/{project}/flags/orders-store?tab=migration&env=staging");
        var rollback = page.GetByRole(AriaRole.Button, new() { Name = "Send all reads back to old" });
        await Expect(rollback).ToBeDisabledAsync();
        await Expect(rollback).ToHaveAccessibleDescriptionAsync("No cohort is at live or rampdown: reads already come from old (cohorts at complete stay, old no longer has their writes).");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Everyone else: back one stage, to off" })).ToHaveCountAsync(0);
        await ScreenshotAsync(page, "flag-migration-stages");

        // One stage at a time, in a non-critical environment without a question.
        await page.GetByRole(AriaRole.Button, new() { Name = "Beta accounts: advance to shadow" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Beta accounts moved to shadow in Staging." })).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Beta accounts: advance to live" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Beta accounts: advance to rampdown" })).ToBeVisibleAsync();
        Assert.Equal("live", (await flags.GetTargetingAsync(project, "orders-store", "staging")).Rules[0].Serve.Variation);
        await Expect(rollback).ToBeEnabledAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Beta accounts: back one stage, to shadow" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Beta accounts: advance to live" })).ToBeVisibleAsync();
        var stored = await flags.GetTargetingAsync(project, "orders-store", "staging");
        Assert.Equal("shadow", stored.Rules[0].Serve.Variation);
        Assert.Equal("off", stored.DefaultServe.Variation);
        Assert.Equal(5, stored.Version);
        await Expect(rollback).ToBeDisabledAsync();

        // In production, into complete: asked first, with what cannot be undone.
        await page.GetByLabel("Migration in environment").SelectOptionAsync("production");
        await page.GetByRole(AriaRole.Button, new() { Name = "Beta accounts: advance to complete" }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Alertdialog);
        await Expect(dialog).ToContainTextAsync("After complete, old stops receiving writes.");
        await Expect(dialog.Locator(".diff")).ToContainTextAsync("serve complete");
        await ScreenshotAsync(page, "flag-migration-complete");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Move to complete" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Beta accounts moved to complete in Production." })).ToBeVisibleAsync();
        Assert.Equal("complete", (await flags.GetTargetingAsync(project, "orders-store", "production")).Rules[0].Serve.Variation);

        // At complete: no way back from here, and nothing for the rollback to do.
        await Expect(page.GetByRole(AriaRole.Button, new() { NameRegex = new System.Text.RegularExpressions.Regex("^Beta accounts: back") })).ToHaveCountAsync(0);
        await Expect(rollback).ToBeDisabledAsync();
    }
}
