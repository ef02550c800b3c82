using System.Collections.Concurrent;
using Flagstaff.Domain;
using Flagstaff.Management.Services;
using Flagstaff.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Flagstaff.Dashboard.Tests;

/// <summary>
/// The base of the dashboard's tests: pages signed in as a member, in a laptop-sized window, whose
/// browser errors (a script error, a request the Content-Security-Policy blocked) fail the test.
/// </summary>
[Collection(DashboardCollection.Name)]
public abstract class DashboardTest(DashboardFixture fixture) : IAsyncLifetime
{
    private readonly List<IBrowserContext> _contexts = [];
    private readonly ConcurrentQueue<string> _browserErrors = new();

    protected ServerHost Server => fixture.Server;

    protected T Service<T>() where T : notnull => Server.Services.GetRequiredService<T>();

    protected static Actor TestActor { get; } = Actor.System("test");

    protected static string UniqueKey(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        // The last state of every page, to see why a test failed.
        var test = TestContext.Current.Test?.TestDisplayName.Split('.')[^1] ?? "test";
        for (int i = 0; i < _contexts.Count; i++)
        {
            foreach (var page in _contexts[i].Pages)
            {
                await Screenshots.SaveAsync(page, Path.Combine("last", $"{test}-{i}"));
            }

            await _contexts[i].DisposeAsync();
        }

        GC.SuppressFinalize(this);
        Assert.True(_browserErrors.IsEmpty, "The browser reported errors:" + Environment.NewLine + string.Join(Environment.NewLine, _browserErrors));
    }

    /// <summary>A new browser context (its own cookies) with one page, not signed in.</summary>
    protected async Task<IPage> NewPageAsync(int width = 1440, int height = 900)
    {
        var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Server.Address.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
            Locale = "en-GB",
        });
        _contexts.Add(context);
        context.SetDefaultTimeout(20_000);
        var page = await context.NewPageAsync();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                _browserErrors.Enqueue($"console: {message.Text}");
            }
        };
        page.PageError += (_, error) => _browserErrors.Enqueue($"page error: {error}");
        return page;
    }

    /// <summary>A page signed in through the sign-in form.</summary>
    protected async Task<IPage> SignedInPageAsync(string email = ServerHost.OwnerEmail, string password = ServerHost.OwnerPassword, int width = 1440, int height = 900)
    {
        var page = await NewPageAsync(width, height);
        await page.GotoAsync("login");
        await page.GetByLabel("E-mail").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        // Leaving the sign-in page is enough; the page's "load" event can lag well behind what is
        // shown on a busy machine, so what proves the sign-in is the signed-in page's heading.
        await page.WaitForURLAsync(url => !url.Contains("/login", StringComparison.Ordinal), new() { WaitUntil = WaitUntilState.Commit });
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToBeVisibleAsync();
        return page;
    }

    /// <summary>Creates a project (development, staging, production) through the service and returns its key.</summary>
    protected async Task<string> NewProjectAsync(string? name = null)
    {
        var key = UniqueKey("p");
        await Service<ProjectService>().CreateAsync(new CreateProjectRequest { Key = key, Name = name ?? "Project " + key }, TestActor);
        return key;
    }

    /// <summary>Creates a member with a role and returns the e-mail (the password is <see cref="MemberPassword"/>).</summary>
    protected async Task<string> NewMemberAsync(Role role, string? name = null)
    {
        var email = UniqueKey(role.ToString().ToLowerInvariant()) + "@example.com";
        await Service<AccountService>().CreateAsync(new CreateMemberRequest(email, name ?? "Member " + role, role, MemberPassword), TestActor, Role.Owner);
        return email;
    }

    protected const string MemberPassword = "member password 1";

    /// <summary>Saves a screenshot of the page under a name (see <see cref="Screenshots"/>).</summary>
    protected static Task ScreenshotAsync(IPage page, string name) => Screenshots.SaveAsync(page, name);
}

/// <summary>
/// Where screenshots go: the folder named by FLAGSTAFF_SCREENSHOTS (the README's images come from
/// <c>FLAGSTAFF_SCREENSHOTS=docs/screenshots</c>), else <c>screenshots/</c> beside the tests.
/// </summary>
public static class Screenshots
{
    public static string Folder { get; } = Path.GetFullPath(Environment.GetEnvironmentVariable("FLAGSTAFF_SCREENSHOTS") is { Length: > 0 } folder
        ? folder
        : Path.Combine(AppContext.BaseDirectory, "screenshots"));

    public static async Task SaveAsync(IPage page, string name)
    {
        var path = Path.Combine(Folder, name + ".png");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = false });
    }
}
