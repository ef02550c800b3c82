using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Flagstaff.Domain;
using Flagstaff.Management.Services;
using Flagstaff.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Flagstaff.Dashboard.Tests;

/// <summary>The dashboard end to end: a person in a browser, the real server, and applications asking it for flags.</summary>
public sealed partial class DashboardTests(DashboardFixture fixture) : DashboardTest(fixture)
{
    [Fact]
    public async Task A_flag_is_created_from_a_template_targeted_turned_on_killed_and_restored_from_history()
    {
        var project = await NewProjectAsync("Checkout");
        var key = (await Service<ApiKeyService>().CreateAsync(project, "production", new CreateApiKeyRequest("e2e", ApiKeyKind.Server), TestActor)).Secret;
        var page = await SignedInPageAsync();

        // A release flag from its template.
        await page.GotoAsync($"projects/{project}/flags/new");
        await page.GetByText("Release", new() { Exact = true }).ClickAsync();
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("New search cluster");
        await Expect(page.GetByLabel("Key", new() { Exact = true })).ToHaveValueAsync("new-search-cluster");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create flag" }).ClickAsync();
        await page.WaitForURLAsync($"**/projects/{project}/flags/new-search-cluster");

        // In production: hand-picked accounts, then 20% of everyone else.
        await page.GetByRole(AriaRole.Button, new() { Name = "Production", Exact = false }).First.ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Targeting in Production" })).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
        await page.GetByLabel("Rule 1 name").FillAsync("Hand-picked accounts");
        await page.GetByRole(AriaRole.Button, new() { Name = "ID list" }).ClickAsync();
        await page.GetByLabel("Rule 1 condition 1: values, one per line").FillAsync("acct-1\nacct-2");
        await page.GetByLabel("Default serve: share for on (%)").FillAsync("20");
        await page.GetByLabel("Default serve: share for on (%)").PressAsync("Tab");
        await Expect(page.GetByLabel("Default serve: share for off (%)")).ToHaveValueAsync("80");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save to Production" }).ClickAsync();
        await page.GetByRole(AriaRole.Alertdialog).GetByRole(AriaRole.Button, new() { Name = "Save to Production" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Saved the targeting in Production" })).ToBeVisibleAsync();
        Assert.Empty(await FlagsAsync(key, "acct-1"));

        // On in production: applications see it at once.
        await page.GetByRole(AriaRole.Switch, new() { Name = "Production: off" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Switch, new() { Name = "Production: on" })).ToBeVisibleAsync();
        Assert.True((await FlagsAsync(key, "acct-1"))["new-search-cluster"]!.GetValue<bool>());
        var shares = await Task.WhenAll(Enumerable.Range(0, 400).Select(i => FlagsAsync(key, "user-" + i)));
        Assert.InRange(shares.Count(f => f.ContainsKey("new-search-cluster")), 40, 120);
        await ScreenshotAsync(page, "flag-targeting");

        // The test panel says which rule decided.
        await page.GetByRole(AriaRole.Tab, new() { Name = "Test" }).ClickAsync();
        await page.GetByLabel("Context (JSON: the properties your application sends)").FillAsync("""{"userId": "acct-2"}""");
        await page.GetByLabel("Environment to test").SelectOptionAsync("production");
        await Expect(page.Locator(".decided")).ToContainTextAsync("rule 1 “Hand-picked accounts”");

        // The kill switch: off in production, after confirming, at once.
        await page.GetByRole(AriaRole.Switch, new() { Name = "Production: on" }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Alertdialog);
        await Expect(dialog).ToContainTextAsync("critical environment");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Turn off in Production" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Switch, new() { Name = "Production: off" })).ToBeVisibleAsync();
        Assert.Empty(await FlagsAsync(key, "acct-1"));

        // History: the change that turned it off, in words, and the version before it restored.
        await page.GetByRole(AriaRole.Tab, new() { Name = "History" }).ClickAsync();
        var latest = page.Locator(".revision").First;
        await Expect(latest).ToContainTextAsync("turned off in Production");
        await Expect(latest.Locator(".diff")).ToContainTextAsync("Production · main switch");
        await ScreenshotAsync(page, "flag-history");
        await page.Locator(".revision").Nth(1).GetByRole(AriaRole.Button, new() { NameRegex = new Regex("Restore revision") }).ClickAsync();
        await page.GetByRole(AriaRole.Alertdialog).GetByRole(AriaRole.Button, new() { Name = "Restore" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Switch, new() { Name = "Production: on" })).ToBeVisibleAsync();
        await Expect(page.Locator(".revision").First).ToContainTextAsync("restored an earlier version");
        Assert.True((await FlagsAsync(key, "acct-1"))["new-search-cluster"]!.GetValue<bool>());

        // The flags list, with a few more flags around it.
        await Service<FlagService>().CreateAsync(project, new CreateFlagRequest { Key = "kill-payments", Name = "Payments kill switch", Kind = FlagKind.KillSwitch, Tags = ["payments"], Environments = new Dictionary<string, EnvironmentTargeting> { ["production"] = new() { Enabled = true, DefaultServe = Serve.Of("on") }, ["staging"] = new() { Enabled = true, DefaultServe = Serve.Of("on") } } }, TestActor);
        await Service<FlagService>().CreateAsync(project, new CreateFlagRequest { Key = "checkout-v2", Name = "Checkout v2", Description = "The new one-page checkout", Tags = ["checkout", "q3"] }, TestActor);
        await page.GotoAsync($"projects/{project}/flags");
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Payments kill switch" })).ToBeVisibleAsync();
        await ScreenshotAsync(page, "flags");
        await page.GetByLabel("Search flags").FillAsync("payments");
        await Expect(page.Locator(".flags-table tbody tr:not([aria-hidden])").Filter(new() { HasText = "kill-payments" })).ToHaveCountAsync(1);
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Checkout v2" })).ToHaveCountAsync(0);

        // Segments.
        await Service<SegmentService>().CreatePropertyAsync(project, new ContextPropertyRequest { Key = "email", Type = PropertyType.String }, TestActor);
        await Service<SegmentService>().CreateAsync(project, new SegmentRequest { Key = "staff", Name = "Staff", Description = "Everyone at the company", Clauses = [new Clause { Property = "email", Operator = "STR_ENDS_WITH", Values = ["@checkout.example"] }] }, TestActor);
        await Service<SegmentService>().CreateAsync(project, new SegmentRequest { Key = "pilot-accounts", Name = "Pilot accounts", Description = "Customers in the migration pilot", IdProperty = "accountId", Ids = ["acct-1", "acct-2", "acct-7", "acct-19", "acct-23"] }, TestActor);
        await page.GotoAsync($"projects/{project}/segments");
        await Expect(page.GetByText("Pilot accounts")).ToBeVisibleAsync();
        await ScreenshotAsync(page, "segments");

        // An API key: its secret shown once, with a copy button.
        await page.GotoAsync($"projects/{project}/keys");
        await page.GetByLabel("Environment", new() { Exact = true }).SelectOptionAsync("production");
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("checkout-service");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        var secret = await page.Locator(".secret-value code").TextContentAsync();
        Assert.StartsWith("fs_server_", secret, StringComparison.Ordinal);
        await page.Context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"]);
        await page.GetByRole(AriaRole.Button, new() { Name = "Copy" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Copied" })).ToBeVisibleAsync();
        Assert.Equal(secret, await page.EvaluateAsync<string>("() => navigator.clipboard.readText()"));
        await ScreenshotAsync(page, "api-keys");
        Assert.True((await FlagsAsync(secret!, "acct-1"))["new-search-cluster"]!.GetValue<bool>());
        await page.ReloadAsync();
        await Expect(page.Locator(".secret-value")).ToHaveCountAsync(0);
        await page.GetByRole(AriaRole.Button, new() { Name = "Revoke checkout-service" }).ClickAsync();
        await page.GetByRole(AriaRole.Alertdialog).GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();
        await Expect(page.GetByText("revoked", new() { Exact = true })).ToBeVisibleAsync();
    }

    [Fact]
    public async Task A_viewer_sees_everything_and_is_offered_no_edit_controls()
    {
        var project = await NewProjectAsync();
        await Service<FlagService>().CreateAsync(project, new CreateFlagRequest
        {
            Key = "beta",
            Name = "Beta",
            Environments = new Dictionary<string, EnvironmentTargeting>
            {
                ["production"] = new() { Enabled = true, Rules = [new TargetingRule { Name = "Staff", Clauses = [new Clause { Property = "email", Operator = "STR_ENDS_WITH", Values = ["@example.com"] }], Serve = Serve.Of("on") }], DefaultServe = Serve.Of("off") },
            },
        }, TestActor);
        var page = await SignedInPageAsync(await NewMemberAsync(Role.Viewer), MemberPassword);

        await page.GotoAsync($"projects/{project}/flags");
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Beta" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "New flag" })).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Switch)).ToHaveCountAsync(0);

        await page.GotoAsync($"projects/{project}/flags/beta?env=production");
        await Expect(page.GetByText("email ends with any of @example.com")).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Switch)).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Add rule" })).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Archive" })).ToHaveCountAsync(0);
        await page.GetByRole(AriaRole.Tab, new() { Name = "History" }).ClickAsync();
        await Expect(page.Locator(".revision")).ToHaveCountAsync(1);
        await Expect(page.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("Restore") })).ToHaveCountAsync(0);

        foreach (var path in new[] { "segments", "properties", "keys", "environments" })
        {
            await page.GotoAsync($"projects/{project}/{path}");
            await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToBeVisibleAsync();
            // Search fields and filters only read; nothing that edits.
            await Expect(page.Locator("main form, main input:not([type=search]), main select:not(.filter)")).ToHaveCountAsync(0);
        }
    }

    [Fact]
    public async Task A_stale_edit_never_overwrites_and_shows_what_changed_meanwhile()
    {
        var project = await NewProjectAsync();
        await Service<FlagService>().CreateAsync(project, new CreateFlagRequest { Key = "search", Name = "Search" }, TestActor);
        var ada = await SignedInPageAsync();
        var bob = await SignedInPageAsync(await NewMemberAsync(Role.Editor, "Bob Editor"), MemberPassword);
        foreach (var page in new[] { ada, bob })
        {
            await page.GotoAsync($"projects/{project}/flags/search?env=production");
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Targeting in Production" })).ToBeVisibleAsync();
        }

        // Ada starts an edit; Bob saves a change to the same targeting first.
        await ada.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
        await ada.GetByLabel("Rule 1 name").FillAsync("Ada's rule");
        await bob.GetByLabel("Default serve: variation").SelectOptionAsync("on");
        await bob.GetByRole(AriaRole.Button, new() { Name = "Save to Production" }).ClickAsync();
        await bob.GetByRole(AriaRole.Alertdialog).GetByRole(AriaRole.Button, new() { Name = "Save to Production" }).ClickAsync();
        await Expect(bob.GetByRole(AriaRole.Status).Filter(new() { HasText = "Saved the targeting" })).ToBeVisibleAsync();

        // Ada's page shows Bob's change as it happens, and her save is refused with what changed.
        await Expect(ada.GetByText("Bob Editor changed this flag")).ToBeVisibleAsync();
        var conflict = ada.Locator(".notice-conflict");
        await Expect(conflict).ToContainTextAsync("changed in Production while you were editing");
        await Expect(conflict.Locator(".diff")).ToContainTextAsync("Production · everyone else");
        await ada.GetByRole(AriaRole.Button, new() { Name = "Save to Production" }).ClickAsync();
        await Expect(conflict).ToBeVisibleAsync();
        var stored = await Service<FlagService>().GetTargetingAsync(project, "search", "production");
        Assert.Empty(stored.Rules);
        Assert.Equal("on", stored.DefaultServe.Variation);
        await ScreenshotAsync(ada, "flag-conflict");

        // Asked explicitly, her edit goes on top of his.
        await conflict.GetByRole(AriaRole.Button, new() { Name = "Save mine over theirs" }).ClickAsync();
        await ada.GetByRole(AriaRole.Alertdialog).GetByRole(AriaRole.Button, new() { Name = "Save to Production" }).ClickAsync();
        await Expect(ada.GetByRole(AriaRole.Status).Filter(new() { HasText = "Saved the targeting" })).ToBeVisibleAsync();
        Assert.Equal("Ada's rule", Assert.Single((await Service<FlagService>().GetTargetingAsync(project, "search", "production")).Rules).Name);
    }

    [Fact]
    public async Task Text_typed_by_people_is_always_shown_as_text()
    {
        const string Payload = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">\"'&";
        var project = await NewProjectAsync(Payload);
        await Service<SegmentService>().CreatePropertyAsync(project, new ContextPropertyRequest { Key = "plan", Name = Payload, Description = Payload, Type = PropertyType.Select, Options = [Payload] }, TestActor);
        await Service<SegmentService>().CreateAsync(project, new SegmentRequest { Key = "evil", Name = Payload, Description = Payload, Ids = [Payload] }, TestActor);
        await Service<FlagService>().CreateAsync(project, new CreateFlagRequest
        {
            Key = "evil",
            Name = Payload,
            Description = Payload,
            Tags = [Payload[..40]],
            ValueType = FlagValueType.String,
            Variations = [new Variation { Key = "v", Name = Payload, Value = JsonValues(Payload) }, new Variation { Key = "off", Fallback = true }],
            Environments = new Dictionary<string, EnvironmentTargeting>
            {
                ["production"] = new() { Rules = [new TargetingRule { Name = Payload, Clauses = [new Clause { Property = "plan", Operator = "STR_EQUAL", Values = [Payload] }], Serve = Serve.Of("v") }], DefaultServe = Serve.Of("off") },
            },
        }, TestActor);
        await Service<ProjectService>().UpdateEnvironmentAsync(project, "staging", new UpdateEnvironmentRequest { Name = Payload }, 1, TestActor);
        await Service<ApiKeyService>().CreateAsync(project, "production", new CreateApiKeyRequest(Payload, ApiKeyKind.Client), TestActor);
        await NewMemberAsync(Role.Editor, Payload);

        var page = await SignedInPageAsync();
        var dialogs = 0;
        page.Dialog += (_, dialog) => { dialogs++; _ = dialog.DismissAsync(); };
        foreach (var path in new[] { "flags", "flags/evil?env=production", "flags/evil?tab=history", "flags/evil?tab=variations", "segments", "properties", "keys" })
        {
            await page.GotoAsync($"projects/{project}/{path}");
            await Expect(page.Locator("main").GetByText(Payload).First).ToBeVisibleAsync(new() { Timeout = 5000 }).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(t => t.IsFaulted ? throw new InvalidOperationException("On " + path, t.Exception) : t);
            Assert.Equal(0, await page.Locator("main script, main img").CountAsync());
        }

        await page.GotoAsync($"projects/{project}/environments");
        await Expect(page.GetByLabel("staging name")).ToHaveValueAsync(Payload);
        await page.GotoAsync($"projects/{project}/audit");
        await Expect(page.Locator("main summary").First).ToBeVisibleAsync();
        foreach (var summary in await page.Locator("main summary").AllAsync())
        {
            await summary.ClickAsync();
        }

        Assert.True(await page.Locator("main details[open]").CountAsync() > 0);
        Assert.Equal(0, await page.Locator("main script, main img").CountAsync());
        await page.GotoAsync("members");
        await Expect(page.Locator("main").GetByText(Payload).First).ToBeVisibleAsync();
        Assert.Equal(0, dialogs);
        Assert.Null(await page.EvaluateAsync<int?>("() => window.pwned ?? null"));
    }

    private static System.Text.Json.JsonElement JsonValues(string text) => System.Text.Json.JsonSerializer.SerializeToElement(text);

    /// <summary>What an application gets from <c>POST /flags</c> for a context with this user id.</summary>
    private async Task<JsonObject> FlagsAsync(string apiKey, string userId)
    {
        using var client = Server.Anonymous();
        client.DefaultRequestHeaders.Add("X-Tggl-Api-Key", apiKey);
        return (await (await client.PostJsonAsync("flags", new JsonObject { ["userId"] = userId })).ReadJsonAsync()).AsObject();
    }
}
