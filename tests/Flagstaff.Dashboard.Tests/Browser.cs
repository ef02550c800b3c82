using Flagstaff.Testing;
using Microsoft.Playwright;

namespace Flagstaff.Dashboard.Tests;

/// <summary>
/// The system's Chromium, headless, driven by Playwright. No browser is ever downloaded: without
/// /usr/bin/chromium (Debian's package <c>chromium</c>, which ./test.sh installs) the tests fail, loudly.
/// </summary>
public static class Browser
{
    public const string ChromiumPath = "/usr/bin/chromium";

    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"The dashboard tests need Chromium at {ChromiumPath}: install Debian's package 'chromium' (./test.sh does).");
        }

        // Assertions wait up to 15 s (Playwright's default is 5): the suite runs on two busy cores.
        Assertions.SetDefaultExpectTimeout(15_000);
        var playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
        });
        return (playwright, browser);
    }
}

/// <summary>One server (SQLite) and one browser shared by the dashboard's tests; each test works in its own projects.</summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    private IPlaywright? _playwright;

    public ServerHost Server { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        // Webhooks may reach the tests' receivers on 127.0.0.1, and retry quickly.
        Server = await ServerHost.StartAsync(DatabaseKind.Sqlite, settings: new Dictionary<string, string?>
        {
            ["Flagstaff:Webhooks:AllowedNetworks:0"] = "127.0.0.1/32",
            ["Flagstaff:Webhooks:FirstRetrySeconds"] = "0.2",
            ["Flagstaff:Webhooks:PollSeconds"] = "0.1",
        });
        (_playwright, Browser) = await Tests.Browser.LaunchAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<DashboardFixture>
{
    public const string Name = "Dashboard";
}
