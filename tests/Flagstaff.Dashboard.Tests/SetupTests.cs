using System.Text.RegularExpressions;
using Flagstaff.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Flagstaff.Dashboard.Tests;

/// <summary>A fresh install: the first owner is created in the browser with the token the server printed.</summary>
public sealed partial class SetupTests
{
    [Fact]
    public async Task The_first_owner_is_created_with_the_setup_token_then_signs_out_and_in()
    {
        await using var server = await ServerHost.StartAsync(DatabaseKind.Sqlite, provisionOwner: false);
        var (playwright, browser) = await Browser.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = server.Address.ToString() });
        var line = Assert.Single(server.Logs.Lines, l => l.Contains("/setup?token=", StringComparison.Ordinal));
        var token = SetupToken().Match(line).Groups[1].Value;

        // Anyone who opens the dashboard is sent to the setup page.
        await page.GotoAsync("");
        await page.WaitForURLAsync("**/setup");
        await page.GetByLabel("Setup token").FillAsync("setup_wrong");
        await page.GetByLabel("Your name").FillAsync("Ada Owner");
        await page.GetByLabel("E-mail").FillAsync("ada@example.com");
        await page.GetByLabel("Password").FillAsync("a long password");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create the owner and sign in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("The setup token is not valid");

        await page.GotoAsync("setup?token=" + token);
        await Expect(page.GetByLabel("Setup token")).ToHaveValueAsync(token);
        await page.GetByLabel("Your name").FillAsync("Ada Owner");
        await page.GetByLabel("E-mail").FillAsync("ada@example.com");
        await page.GetByLabel("Password").FillAsync("a long password");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create the owner and sign in" }).ClickAsync();
        await page.WaitForURLAsync("**/projects");
        await Expect(page.GetByText("No projects yet")).ToBeVisibleAsync();

        // The session cookie is HttpOnly and SameSite.
        var cookie = Assert.Single(await page.Context.CookiesAsync(), c => c.Name == "flagstaff_session");
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Lax, cookie.SameSite);

        // The first project, then sign out and back in.
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("Storefront");
        // The key is suggested by the server as the name is typed, and the form needs it: a click before
        // it arrives would be stopped by the browser's own check of the required field.
        await Expect(page.GetByLabel("Key", new() { Exact = true })).ToHaveValueAsync("storefront");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create project" }).ClickAsync();
        await page.WaitForURLAsync("**/projects/storefront/flags");
        await Expect(page.GetByText("No flags yet")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await page.WaitForURLAsync("**/login?signedOut=1");
        await page.GotoAsync("setup");
        await Expect(page.GetByText("Already set up")).ToBeVisibleAsync();
        await page.GotoAsync("login");
        await page.GetByLabel("E-mail").FillAsync("ada@example.com");
        await page.GetByLabel("Password").FillAsync("wrong password!");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("wrong");
        await page.GetByLabel("Password").FillAsync("a long password");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.WaitForURLAsync("**/projects/storefront/flags");
    }

    [GeneratedRegex("token=(setup_[A-Za-z0-9]+)")]
    private static partial Regex SetupToken();
}
