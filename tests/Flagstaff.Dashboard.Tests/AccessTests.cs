using System.Text.RegularExpressions;
using Flagstaff.Domain;
using Flagstaff.Management.Services;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Flagstaff.Dashboard.Tests;

/// <summary>The dashboard in a phone-sized window, by keyboard alone, and with the server's validation shown at the fields.</summary>
public sealed class AccessTests(DashboardFixture fixture) : DashboardTest(fixture)
{
    [Fact]
    public async Task Every_page_fits_a_narrow_window()
    {
        var project = await NewProjectAsync("Narrow shop");
        await Service<FlagService>().CreateAsync(project, new CreateFlagRequest
        {
            Key = "a-rather-long-flag-key-for-a-narrow-window",
            Name = "A flag with a long name that has to wrap somewhere",
            Tags = ["checkout", "q3"],
            Environments = new Dictionary<string, EnvironmentTargeting>
            {
                ["production"] = new()
                {
                    Enabled = true,
                    Rules = [new TargetingRule { Name = "Staff", Clauses = [new Clause { Property = "email", Operator = "STR_ENDS_WITH", Values = ["@example.com"] }], Serve = Serve.Of("on") }],
                    DefaultServe = new Serve { Split = new Split { Buckets = [new() { Variation = "on", Weight = 20 }, new() { Variation = "off", Weight = 80 }] } },
                },
            },
        }, TestActor);
        await Service<SegmentService>().CreateAsync(project, new SegmentRequest { Key = "staff", Name = "Staff", Ids = ["u-1", "u-2"] }, TestActor);
        await Service<ApiKeyService>().CreateAsync(project, "production", new CreateApiKeyRequest("checkout-service", ApiKeyKind.Server), TestActor);

        var page = await SignedInPageAsync(width: 390, height: 844);
        var flag = $"projects/{project}/flags/a-rather-long-flag-key-for-a-narrow-window";
        var pages = new (string Path, string Name)[]
        {
            ($"projects/{project}/flags", "flags"),
            ($"projects/{project}/flags/new", "new-flag"),
            ($"{flag}?env=production", "flag-targeting"),
            ($"{flag}?tab=variations", "flag-variations"),
            ($"{flag}?tab=test", "flag-test"),
            ($"{flag}?tab=usage&env=production", "flag-usage"),
            ($"{flag}?tab=history", "flag-history"),
            ($"{flag}?tab=code", "flag-code"),
            ($"projects/{project}/segments", "segments"),
            ($"projects/{project}/properties", "properties"),
            ($"projects/{project}/environments", "environments"),
            ($"projects/{project}/keys", "keys"),
            ($"projects/{project}/audit", "audit"),
            ("projects", "projects"),
            ("members", "members"),
            ("account/tokens", "tokens"),
        };
        var overflowing = new List<string>();
        foreach (var (path, name) in pages)
        {
            await page.GotoAsync(path);
            await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToBeVisibleAsync();
            await Expect(page.Locator(".loading")).ToHaveCountAsync(0);
            await ScreenshotAsync(page, Path.Combine("narrow", name));
            var widths = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, window.innerWidth]");
            if (widths[0] > widths[1])
            {
                var widest = await page.EvaluateAsync<string>("""
                    () => {
                      const over = e => e.getBoundingClientRect().right > window.innerWidth + 1;
                      const clipped = e => { for (let a = e.parentElement; a; a = a.parentElement) { if (getComputedStyle(a).overflowX !== 'visible' && !over(a)) return true; } return false; };
                      return [...document.querySelectorAll('body *')].filter(e => over(e) && !clipped(e) && !over(e.parentElement))
                        .slice(0, 4).map(e => e.tagName.toLowerCase() + '.' + [...e.classList].join('.') + ' ' + Math.round(e.getBoundingClientRect().right)).join(', ');
                    }
                    """);
                overflowing.Add($"{name}: {widths[0]}px wide ({widest})");
            }
        }

        Assert.True(overflowing.Count == 0, "Wider than a 390px window: " + string.Join("; ", overflowing));

        // The navigation folds behind a menu button, which opens it.
        await page.GotoAsync($"projects/{project}/flags");
        var keys = page.GetByRole(AriaRole.Link, new() { Name = "API keys" });
        await Expect(keys).ToBeHiddenAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Menu" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Menu" })).ToHaveAttributeAsync("aria-expanded", "true");
        await keys.ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"/projects/{project}/keys$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "API keys" })).ToBeVisibleAsync();
        await Expect(keys).ToBeHiddenAsync();
    }

    [Fact]
    public async Task The_main_tasks_work_by_keyboard_alone()
    {
        var project = await NewProjectAsync();
        await Service<FlagService>().CreateAsync(project, new CreateFlagRequest
        {
            Key = "search",
            Name = "Search",
            Environments = new Dictionary<string, EnvironmentTargeting> { ["production"] = new() { Enabled = true, DefaultServe = Serve.Of("on") } },
        }, TestActor);
        var page = await SignedInPageAsync();
        await page.GotoAsync($"projects/{project}/flags");

        // A switch is a button: Space turns it on.
        var staging = page.GetByRole(AriaRole.Switch, new() { Name = "search in Staging: off" });
        await staging.FocusAsync();
        await page.Keyboard.PressAsync("Space");
        await Expect(page.GetByRole(AriaRole.Switch, new() { Name = "search in Staging: on" })).ToBeFocusedAsync();

        // Off in production asks first: the dialog takes the focus and keeps it, Escape cancels and gives it back.
        var production = page.GetByRole(AriaRole.Switch, new() { Name = "search in Production: on" });
        await production.FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        var dialog = page.GetByRole(AriaRole.Alertdialog);
        await Expect(dialog.GetByRole(AriaRole.Button, new() { Name = "Turn off in Production" })).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Tab");
        await Expect(dialog.GetByRole(AriaRole.Button, new() { Name = "Cancel" })).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Shift+Tab");
        await Expect(dialog.GetByRole(AriaRole.Button, new() { Name = "Turn off in Production" })).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Escape");
        await Expect(dialog).ToHaveCountAsync(0);
        await Expect(production).ToBeFocusedAsync();
        Assert.True((await Service<FlagService>().GetTargetingAsync(project, "search", "production")).Enabled);

        // The flag page's tabs: one tab stop, the arrow keys move between them.
        await page.GotoAsync($"projects/{project}/flags/search");
        var targeting = page.GetByRole(AriaRole.Tab, new() { Name = "Targeting" });
        await targeting.FocusAsync();
        await page.Keyboard.PressAsync("ArrowRight");
        await Expect(page.GetByRole(AriaRole.Tab, new() { Name = "Variations & settings" })).ToBeFocusedAsync();
        await Expect(page.GetByRole(AriaRole.Tab, new() { Name = "Variations & settings" })).ToHaveAttributeAsync("aria-selected", "true");
        await page.Keyboard.PressAsync("End");
        await Expect(page.GetByRole(AriaRole.Tab, new() { Name = "Code" })).ToBeFocusedAsync();
        await Expect(page.GetByRole(AriaRole.Tabpanel)).ToContainTextAsync("new FlagstaffClient");
        await page.Keyboard.PressAsync("ArrowRight");
        await Expect(targeting).ToBeFocusedAsync();
        Assert.Equal(1, await page.Locator("[role=tab][tabindex='0']").CountAsync());
    }

    [Fact]
    public async Task What_the_server_refuses_is_said_at_the_field()
    {
        var project = await NewProjectAsync();
        var page = await SignedInPageAsync();
        await page.GotoAsync($"projects/{project}/flags/new");
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("Checkout");
        await page.GetByLabel("Key", new() { Exact = true }).FillAsync("Checkout v2!");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create flag" }).ClickAsync();

        var key = page.GetByLabel("Key", new() { Exact = true });
        await Expect(key).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(key).ToBeFocusedAsync();
        var message = page.Locator("#flag-key-error");
        await Expect(message).ToBeVisibleAsync();
        await Expect(key).ToHaveAttributeAsync("aria-describedby", "flag-key-hint flag-key-error");
        await Expect(page.GetByLabel("Name", new() { Exact = true })).Not.ToHaveAttributeAsync("aria-invalid", "true");
        await ScreenshotAsync(page, "new-flag-invalid");

        await key.FillAsync("checkout-v2");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create flag" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"/projects/{project}/flags/checkout-v2$"));

        // Every form says it at the field, and a refused save puts the focus on the first field named:
        // here the project's key.
        await page.GotoAsync("projects");
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("Storefront two");
        var projectKey = page.GetByLabel("Key", new() { Exact = true });
        await Expect(projectKey).ToHaveValueAsync("storefront-two");
        await projectKey.FillAsync("Not a key!");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create project" }).ClickAsync();
        await Expect(page.Locator("#project-key-error")).ToBeVisibleAsync();
        await Expect(projectKey).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(projectKey).ToHaveAttributeAsync("aria-describedby", "project-key-hint project-key-error");
        await Expect(projectKey).ToBeFocusedAsync();
        await Expect(page.GetByLabel("Name", new() { Exact = true })).Not.ToHaveAttributeAsync("aria-invalid", "true");
    }
}
