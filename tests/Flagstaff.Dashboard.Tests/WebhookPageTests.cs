using Flagstaff.Management.Services;
using Flagstaff.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Flagstaff.Dashboard.Tests;

/// <summary>The webhooks page: creating one, its delivery log, and sending a delivery again.</summary>
public sealed class WebhookPageTests(DashboardFixture fixture) : DashboardTest(fixture)
{
    [Fact]
    public async Task A_webhook_is_created_and_its_delivery_log_shows_attempts_and_body_and_sends_again()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        int requests = 0;
        receiver.Answer = _ => Interlocked.Increment(ref requests) == 1 ? (500, null) : (200, null);
        var project = await NewProjectAsync("Hooked shop");
        var page = await SignedInPageAsync();
        await page.GotoAsync($"projects/{project}/webhooks");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Webhooks", Level = 1 })).ToBeVisibleAsync();

        // An internal address is refused at the field, and nothing is created.
        await page.GetByLabel("Name").FillAsync("release channel");
        await page.GetByLabel("URL").FillAsync("http://169.254.169.254/latest/meta-data/");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create webhook" }).ClickAsync();
        await Expect(page.Locator("#webhook-url-error")).ToContainTextAsync("link-local");
        await Expect(page.GetByText("No webhooks yet")).ToBeVisibleAsync();

        await page.GetByLabel("URL").FillAsync(new Uri(receiver.Address, "hook").ToString());
        await page.GetByRole(AriaRole.Button, new() { Name = "Create webhook" }).ClickAsync();
        var secret = (await page.Locator("#new-secret").TextContentAsync())!.Trim();
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);

        await Service<FlagService>().CreateAsync(project, new CreateFlagRequest { Key = "checkout", Name = "Checkout" }, TestActor);
        var first = (await receiver.WaitForAsync(r => r.Any(x => x.Accepted), "the event")).Single(x => x.Accepted);
        Assert.True(WebhookReceiver.Verify(secret, first.Signature, first.Body));

        var log = page.GetByRole(AriaRole.Region, new() { Name = "Deliveries of release channel" });
        await log.GetByRole(AriaRole.Button, new() { Name = "Refresh" }).ClickAsync();
        var row = log.GetByRole(AriaRole.Row).Filter(new() { HasText = "flag.created" });
        await Expect(row).ToContainTextAsync("delivered");
        await Expect(row.GetByRole(AriaRole.Cell).Nth(3)).ToHaveTextAsync("2");
        await row.GetByText("Body").ClickAsync();
        await Expect(row.Locator("pre")).ToContainTextAsync("\"key\":\"checkout\"");
        Assert.DoesNotContain(WebhookReceiver.ErrorBody, await page.ContentAsync(), StringComparison.Ordinal);
        await ScreenshotAsync(page, "webhooks");

        await row.GetByRole(AriaRole.Button, new() { Name = "Send flag.created again" }).ClickAsync();
        var again = await receiver.WaitForAsync(r => r.Count(x => x.Accepted) >= 2, "the event sent again");
        Assert.Equal(first.EventId, again.Where(x => x.Accepted).Last().EventId);
        await log.GetByRole(AriaRole.Button, new() { Name = "Refresh" }).ClickAsync();
        await Expect(log.GetByRole(AriaRole.Row).Filter(new() { HasText = "flag.created" })).ToHaveCountAsync(2);
    }
}
