using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Flagstaff.Dashboard.Tests;

public sealed class SmokeTests(DashboardFixture fixture) : DashboardTest(fixture)
{
    [Fact]
    public async Task A_member_signs_in_and_creates_a_project()
    {
        var page = await SignedInPageAsync();
        await page.GotoAsync("projects");
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("Checkout");
        await Expect(page.GetByLabel("Key")).ToHaveValueAsync("checkout");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create project" }).ClickAsync();
        await page.WaitForURLAsync("**/projects/checkout/flags");
        await ScreenshotAsync(page, "smoke");
    }
}
