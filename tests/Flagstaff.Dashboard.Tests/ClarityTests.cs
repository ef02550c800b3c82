using System.Text.RegularExpressions;
using Flagstaff.Domain;
using Flagstaff.Management.Services;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Flagstaff.Dashboard.Tests;

/// <summary>
/// What people misread at 3 a.m.: what is not served is never called served, where a new flag starts
/// is asked, deleting says what goes, errors are said at the field in the screen's own numbering, and
/// one notice is on screen at a time.
/// </summary>
public sealed class ClarityTests(DashboardFixture fixture) : DashboardTest(fixture)
{
    [Fact]
    public async Task Off_and_archived_flags_are_never_described_as_served()
    {
        var project = await NewProjectAsync("Incidents");
        var flags = Service<FlagService>();
        await flags.CreateAsync(project, new CreateFlagRequest
        {
            Key = "kill-payments",
            Name = "Payments kill switch",
            Kind = FlagKind.KillSwitch,
            Environments = new Dictionary<string, EnvironmentTargeting>
            {
                ["staging"] = new() { Enabled = true, DefaultServe = Serve.Of("on") },
                ["production"] = new() { Enabled = true, DefaultServe = Serve.Of("on") },
            },
        }, TestActor);
        await flags.SetEnabledAsync(project, "kill-payments", "production", false, TestActor);
        await flags.CreateAsync(project, new CreateFlagRequest
        {
            Key = "old-banner",
            Name = "Old banner",
            Environments = new Dictionary<string, EnvironmentTargeting> { ["production"] = new() { Enabled = true, DefaultServe = Serve.Of("on") } },
        }, TestActor);
        await flags.ArchiveAsync(project, "old-banner", TestActor);

        var page = await SignedInPageAsync();
        await page.GotoAsync($"projects/{project}/flags");
        var row = page.Locator(".flags-table tbody tr:not([aria-hidden])").Filter(new() { HasText = "kill-payments" });
        var cells = row.Locator(".env-cell");
        await Expect(cells.Nth(1)).ToContainTextAsync("serves on");
        await Expect(cells.Nth(2).Locator(".rollout")).ToHaveTextAsync("not served");
        await Expect(cells.Nth(2).Locator(".rollout")).ToHaveAttributeAsync("title", "Off: applications get the default in their code. Once on: serves on");
        await Expect(cells.Nth(2)).Not.ToContainTextAsync("serves");
        await ScreenshotAsync(page, Path.Combine("clarity", "killed-in-the-list"));

        // Archived: "Off", served to no one, whatever its switches were; the header counts it apart.
        await page.GetByLabel("State").SelectOptionAsync("archived");
        var archived = page.Locator(".flags-table tbody tr:not([aria-hidden])").Filter(new() { HasText = "old-banner" });
        await Expect(archived.Locator(".env-cell").Nth(2)).ToContainTextAsync("archived: not served");
        await Expect(archived.Locator(".env-cell").Nth(2).Locator(".pill")).ToHaveTextAsync("Off");
        Assert.DoesNotContain("serves", await archived.InnerTextAsync(), StringComparison.Ordinal);
        await Expect(page.Locator(".page-head .muted")).ToContainTextAsync("1 flag in use, 1 archived");
        await Expect(page.Locator(".result-count")).ToHaveTextAsync("1 archived flag shown");
        await ScreenshotAsync(page, Path.Combine("clarity", "archived-in-the-list"));

        // The flag page's production card says the same beside its off switch.
        await page.GotoAsync($"projects/{project}/flags/kill-payments");
        var production = page.Locator(".env-card").Filter(new() { HasText = "Production" });
        await Expect(production.GetByRole(AriaRole.Switch, new() { Name = "Production: off" })).ToBeVisibleAsync();
        await Expect(production.Locator(".rollout")).ToHaveTextAsync("not served");
        await Expect(production.Locator(".rollout")).ToHaveAttributeAsync("title", "Off: applications get the default in their code. Once on: serves on");
        await ScreenshotAsync(page, Path.Combine("clarity", "killed-card"));
        await page.GotoAsync($"projects/{project}/flags/old-banner");
        await Expect(page.Locator(".env-card").Filter(new() { HasText = "Production" }).Locator(".rollout")).ToHaveTextAsync("archived: not served");
    }

    [Fact]
    public async Task A_new_flag_asks_where_it_starts_on_with_the_templates_default_shown()
    {
        var project = await NewProjectAsync();
        var page = await SignedInPageAsync();
        await page.GotoAsync($"projects/{project}/flags/new");
        var development = page.GetByLabel("Starts on in Development");
        var staging = page.GetByLabel("Starts on in Staging");
        var production = page.GetByLabel("Starts on in Production");

        // A release starts off everywhere.
        await Expect(production).Not.ToBeCheckedAsync();
        await Expect(development).Not.ToBeCheckedAsync();

        // A kill switch: on where the code path should run, but the critical environment waits for a decision.
        await page.GetByText("Kill switch", new() { Exact = true }).ClickAsync();
        await Expect(development).ToBeCheckedAsync();
        await Expect(staging).ToBeCheckedAsync();
        await Expect(production).Not.ToBeCheckedAsync();
        await Expect(page.Locator("#flag-start-hint")).ToContainTextAsync("Critical environments start off unless you tick them");
        await ScreenshotAsync(page, Path.Combine("clarity", "new-kill-switch"));
        await staging.UncheckAsync();
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("Search kill switch");
        await Expect(page.GetByLabel("Key", new() { Exact = true })).ToHaveValueAsync("search-kill-switch");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create flag" }).ClickAsync();
        await page.WaitForURLAsync($"**/projects/{project}/flags/search-kill-switch");
        var flags = Service<FlagService>();
        Assert.True((await flags.GetTargetingAsync(project, "search-kill-switch", "development")).Enabled);
        Assert.False((await flags.GetTargetingAsync(project, "search-kill-switch", "staging")).Enabled);
        Assert.False((await flags.GetTargetingAsync(project, "search-kill-switch", "production")).Enabled);

        // A scheduled release starts on everywhere, so that the launch happens by itself.
        await page.GotoAsync($"projects/{project}/flags/new");
        await page.GetByText("Scheduled release", new() { Exact = true }).ClickAsync();
        await Expect(production).ToBeCheckedAsync();
        await Expect(development).ToBeCheckedAsync();
        await Expect(page.Locator("#flag-start-hint")).ToContainTextAsync("the launch happens by itself");
        await ScreenshotAsync(page, Path.Combine("clarity", "new-scheduled-release"));
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("Winter sale");
        await Expect(page.GetByLabel("Key", new() { Exact = true })).ToHaveValueAsync("winter-sale");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create flag" }).ClickAsync();
        await page.WaitForURLAsync($"**/projects/{project}/flags/winter-sale");
        foreach (var environment in new[] { "development", "staging", "production" })
        {
            Assert.True((await flags.GetTargetingAsync(project, "winter-sale", environment)).Enabled, environment);
        }

        // Until the date, on means everyone still gets off.
        var view = await flags.GetTargetingAsync(project, "winter-sale", "production");
        Assert.Equal("off", view.DefaultServe.Variation);
        Assert.True(Assert.Single(view.Rules).Schedule!.From > DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task Archived_flags_and_projects_are_deleted_after_a_question_naming_them_and_what_goes()
    {
        var project = await NewProjectAsync("Clean-up");
        var flags = Service<FlagService>();
        await flags.CreateAsync(project, new CreateFlagRequest { Key = "legacy-search", Name = "Legacy search" }, TestActor);
        var page = await SignedInPageAsync();

        // A flag in use offers no delete; archived, it does.
        await page.GotoAsync($"projects/{project}/flags/legacy-search");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Archive" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Delete" })).ToHaveCountAsync(0);
        await page.GetByRole(AriaRole.Button, new() { Name = "Archive" }).ClickAsync();
        await page.GetByRole(AriaRole.Alertdialog).GetByRole(AriaRole.Button, new() { Name = "Archive" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Alertdialog);
        await Expect(dialog.GetByRole(AriaRole.Heading)).ToHaveTextAsync("Delete legacy-search for good?");
        await Expect(dialog).ToContainTextAsync("Legacy search");
        await Expect(dialog).ToContainTextAsync("its 2 variations and its targeting in 3 environments");
        await Expect(dialog).ToContainTextAsync("cannot be restored");
        await ScreenshotAsync(page, Path.Combine("clarity", "delete-flag"));

        // Cancel changes nothing; confirming deletes it.
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        Assert.NotNull((await flags.GetAsync(project, "legacy-search")).Flag.ArchivedAt);
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();
        await page.GetByRole(AriaRole.Alertdialog).GetByRole(AriaRole.Button, new() { Name = "Delete legacy-search" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"/projects/{project}/flags\\?deleted=legacy-search$"));
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Deleted legacy-search." })).ToBeVisibleAsync();
        await Assert.ThrowsAsync<NotFoundException>(() => flags.GetAsync(project, "legacy-search"));

        // An archived project: restored by an admin, deleted by an owner only.
        await flags.CreateAsync(project, new CreateFlagRequest { Key = "other", Name = "Other" }, TestActor);
        await Service<SegmentService>().CreateAsync(project, new SegmentRequest { Key = "staff", Name = "Staff", Ids = ["u-1"] }, TestActor);
        await page.GotoAsync($"projects/{project}/environments");
        await page.GetByRole(AriaRole.Button, new() { Name = "Archive the project" }).ClickAsync();
        await page.GetByRole(AriaRole.Alertdialog).GetByRole(AriaRole.Button, new() { Name = "Archive" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/projects$"));
        Assert.NotNull((await Service<ProjectService>().GetAsync(project)).ArchivedAt);
        var admin = await SignedInPageAsync(await NewMemberAsync(Role.Admin), MemberPassword);
        await admin.GotoAsync("projects");
        await Expect(admin.GetByRole(AriaRole.Button, new() { Name = $"Restore {project}" })).ToBeVisibleAsync();
        await Expect(admin.GetByRole(AriaRole.Button, new() { Name = $"Delete {project}" })).ToHaveCountAsync(0);

        await page.GotoAsync("projects");
        await page.GetByRole(AriaRole.Button, new() { Name = $"Delete {project}" }).ClickAsync();
        dialog = page.GetByRole(AriaRole.Alertdialog);
        await Expect(dialog.GetByRole(AriaRole.Heading)).ToHaveTextAsync($"Delete the project {project} for good?");
        await Expect(dialog).ToContainTextAsync("Clean-up");
        await Expect(dialog).ToContainTextAsync("1 flag with their targeting, 1 segment, its context properties, 3 environments (Development, Staging, Production) and their API keys");
        await ScreenshotAsync(page, Path.Combine("clarity", "delete-project"));
        await dialog.GetByRole(AriaRole.Button, new() { Name = $"Delete {project}" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = $"Deleted the project {project}." })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = $"Delete {project}" })).ToHaveCountAsync(0);
        await Assert.ThrowsAsync<NotFoundException>(() => Service<ProjectService>().GetAsync(project));
    }

    [Fact]
    public async Task Errors_are_said_at_the_field_in_the_screens_numbering_and_one_at_a_time()
    {
        var project = await NewProjectAsync();
        var flags = Service<FlagService>();
        await flags.CreateAsync(project, new CreateFlagRequest { Key = "checkout", Name = "Checkout" }, TestActor);
        var page = await SignedInPageAsync();

        // A key already taken is said at the key field, which gets the focus.
        await page.GotoAsync($"projects/{project}/flags/new");
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("Checkout");
        await Expect(page.GetByLabel("Key", new() { Exact = true })).ToHaveValueAsync("checkout");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create flag" }).ClickAsync();
        var key = page.GetByLabel("Key", new() { Exact = true });
        await Expect(page.Locator("#flag-key-error")).ToContainTextAsync("is already used");
        await Expect(key).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(key).ToBeFocusedAsync();
        await ScreenshotAsync(page, Path.Combine("clarity", "duplicate-key"));

        // Rule 2 on screen is Rule 2 in the message.
        await page.GotoAsync($"projects/{project}/flags/checkout?env=staging");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
        await page.GetByLabel("Rule 2 name").FillAsync("Pilot");
        await page.Locator(".rule").Nth(1).GetByRole(AriaRole.Button, new() { Name = "ID list" }).ClickAsync();
        await page.GetByLabel("Rule 2 condition 1: property").FillAsync("account<id>");
        await page.GetByLabel("Rule 2 condition 1: values, one per line").FillAsync("acct-1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save to Staging" }).ClickAsync();
        var banner = page.Locator(".page > [role=alert]");
        await Expect(banner).ToContainTextAsync("Rule 2 condition 1 property: a property name is");
        Assert.DoesNotContain("rules[", await banner.InnerTextAsync(), StringComparison.Ordinal);
        await ScreenshotAsync(page, Path.Combine("clarity", "rule-numbering"));

        // A share typed over 100 is not silently made 100.
        await page.GetByRole(AriaRole.Group, new() { Name = "Default serve" }).GetByRole(AriaRole.Radio, new() { Name = "A percentage split" }).ClickAsync();
        await page.GetByLabel("Default serve: share for on (%)").FillAsync("150");
        await page.GetByLabel("Default serve: share for on (%)").PressAsync("Tab");
        await Expect(page.Locator(".split-adjusted")).ToHaveTextAsync("150% is more than everyone: the share for on is set to 100% and the other shares to 0%.");
        await Expect(page.GetByLabel("Default serve: share for on (%)")).ToHaveValueAsync("100");
        await page.Locator(".split-adjusted").EvaluateAsync("e => e.scrollIntoView({ block: 'center' })");
        await ScreenshotAsync(page, Path.Combine("clarity", "split-over-100"));
        await page.GetByLabel("Default serve: share for on (%)").FillAsync("30");
        await page.GetByLabel("Default serve: share for on (%)").PressAsync("Tab");
        await Expect(page.Locator(".split-adjusted")).ToHaveCountAsync(0);

        // An error in one tab, then a change elsewhere on the page: the earlier error goes.
        await page.GetByRole(AriaRole.Button, new() { Name = "Discard" }).ClickAsync();
        await page.GetByRole(AriaRole.Tab, new() { Name = "Variations & settings" }).ClickAsync();
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save settings" }).ClickAsync();
        var panelBanner = page.Locator(".tab-panel .notice-error");
        await Expect(panelBanner).ToContainTextAsync("Name: is required");
        await page.GetByRole(AriaRole.Switch, new() { Name = "Development: off" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Switch, new() { Name = "Development: on" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Turned on in Development." })).ToBeVisibleAsync();
        await Expect(panelBanner).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task Account_pages_keep_the_current_project_in_the_sidebar()
    {
        var project = await NewProjectAsync("Sidebar shop");
        var page = await SignedInPageAsync();
        await page.GotoAsync($"projects/{project}/flags");
        var sidebar = page.Locator("nav.sidebar");
        await Expect(sidebar.Locator(".switcher-name")).ToHaveTextAsync("Sidebar shop");

        await sidebar.GetByRole(AriaRole.Link, new() { Name = "Members" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Members", Level = 1 })).ToBeVisibleAsync();
        await Expect(sidebar.Locator(".switcher-name")).ToHaveTextAsync("Sidebar shop");
        await Expect(sidebar.GetByRole(AriaRole.Link, new() { Name = "API keys" })).ToHaveAttributeAsync("href", $"projects/{project}/keys");
        await ScreenshotAsync(page, Path.Combine("clarity", "members-sidebar"));

        await sidebar.GetByRole(AriaRole.Link, new() { Name = "Access tokens" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync("token");
        await Expect(sidebar.Locator(".switcher-name")).ToHaveTextAsync("Sidebar shop");
        await sidebar.GetByRole(AriaRole.Link, new() { Name = "Segments" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"/projects/{project}/segments$"));
    }

    [Fact]
    public async Task A_json_array_variation_warns_that_openfeature_clients_cannot_read_it()
    {
        var project = await NewProjectAsync();
        var page = await SignedInPageAsync();
        await page.GotoAsync($"projects/{project}/flags/new");
        await page.GetByText("Remote configuration", new() { Exact = true }).ClickAsync();
        var value = page.GetByLabel("Value (JSON)");
        await Expect(page.Locator(".ofrep-warning")).ToHaveCountAsync(0);
        await value.FillAsync("""["eu-west", "us-east"]""");
        await Expect(page.Locator(".ofrep-warning")).ToContainTextAsync("OpenFeature (OFREP) clients cannot read an array");
        await ScreenshotAsync(page, Path.Combine("clarity", "ofrep-array-new"));
        await value.FillAsync("""{"regions": ["eu-west", "us-east"]}""");
        await Expect(page.Locator(".ofrep-warning")).ToHaveCountAsync(0);
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("Regions");
        await Expect(page.GetByLabel("Key", new() { Exact = true })).ToHaveValueAsync("regions");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create flag" }).ClickAsync();
        await page.WaitForURLAsync($"**/projects/{project}/flags/regions");

        // Editing a variation to an array warns too.
        await page.GetByRole(AriaRole.Tab, new() { Name = "Variations & settings" }).ClickAsync();
        await Expect(page.Locator(".ofrep-warning")).ToHaveCountAsync(0);
        await page.GetByLabel("Variation 1 value").FillAsync("[1, 2, 3]");
        await Expect(page.Locator(".ofrep-warning")).ToContainTextAsync("wrap it in an object");
        await ScreenshotAsync(page, Path.Combine("clarity", "ofrep-array-variation"));
    }
}
