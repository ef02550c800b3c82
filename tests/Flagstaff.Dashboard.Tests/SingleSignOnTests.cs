using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using System.Web;
using Flagstaff.Domain;
using Flagstaff.Management.Services;
using Flagstaff.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Flagstaff.Dashboard.Tests;

/// <summary>
/// Single sign-on through the whole browser flow, against a real OpenID Connect provider (OpenIddict)
/// on loopback: Flagstaff's sign-in page, the provider's sign-in page, and back to the dashboard,
/// signed in with a server-side session; and every way a sign-in must fail.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed partial class SingleSignOnTests(DashboardFixture dashboard, SingleSignOnFixture sso) : IClassFixture<SingleSignOnFixture>, IAsyncLifetime
{
    private readonly List<IBrowserContext> _contexts = [];
    private readonly ConcurrentQueue<string> _browserErrors = new();

    private OidcProvider Provider => sso.Provider;

    private ServerHost Server => sso.Server;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        var test = TestContext.Current.Test?.TestDisplayName.Split('.')[^1] ?? "test";
        for (int i = 0; i < _contexts.Count; i++)
        {
            foreach (var page in _contexts[i].Pages)
            {
                await Screenshots.SaveAsync(page, Path.Combine("last", $"{test}-{i}"));
            }

            await _contexts[i].DisposeAsync();
        }

        Provider.Clock.Offset = TimeSpan.Zero;
        Assert.True(_browserErrors.IsEmpty, "The browser reported errors:" + Environment.NewLine + string.Join(Environment.NewLine, _browserErrors));
    }

    [Fact]
    public async Task A_new_member_signs_in_with_the_provider_gets_the_role_its_group_maps_to_and_its_session_is_revoked_like_any_other()
    {
        var user = Provider.AddUser(Unique("edna"), Unique("edna") + "@example.com", emailVerified: true, "staff", "flagstaff-editors");
        var page = await NewPageAsync();

        await page.GotoAsync(Server.Address + "login");
        var button = page.GetByRole(AriaRole.Link, new() { Name = "Sign in with Test Provider" });
        await Expect(button).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Password")).ToBeVisibleAsync();
        await Screenshots.SaveAsync(page, "sso-sign-in");
        await button.ClickAsync();
        await SignInAtProviderAsync(page, user);
        await ExpectSignedInAsync(page, Server, "editor");
        await Screenshots.SaveAsync(page, "sso-signed-in");

        // The member was made at this first sign-in, with the role the group maps to, and no password.
        var account = await MemberAsync(Server, user.Email);
        Assert.Equal(Role.Editor, account.Role);
        Assert.Equal(user.Name, account.Name);
        var login = await Server.Anonymous().PostAsJsonAsync("api/auth/login", new { email = user.Email, password = user.Password });
        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);

        // The browser holds Flagstaff's one session cookie, no token of the provider; the session is the server's.
        var cookies = await page.Context.CookiesAsync([Server.Address.ToString()]);
        var session = Assert.Single(cookies, c => c.Name == "flagstaff_session");
        Assert.True(session.HttpOnly);
        Assert.DoesNotContain(cookies, c => c.Name.Contains("Correlation", StringComparison.Ordinal) || c.Name.Contains("Nonce", StringComparison.Ordinal));
        using var copied = WithCookie(Server, session.Value);
        Assert.Equal(HttpStatusCode.OK, (await copied.GetAsync("api/me")).StatusCode);

        // Disabling the member ends the session at once, and the provider cannot sign it in again.
        await Server.Services.GetRequiredService<AccountService>().UpdateAsync(account.Id, new UpdateMemberRequest { Disabled = true }, account.Version, Actor.System("test"), Role.Owner);
        Assert.Equal(HttpStatusCode.Unauthorized, (await copied.GetAsync("api/me")).StatusCode);
        var again = await NewPageAsync();
        await again.GotoAsync(Server.Address + "login/sso");
        await SignInAtProviderAsync(again, user);
        await ExpectRefusedAsync(again, Server, "Your Flagstaff account is disabled.");
    }

    [Fact]
    public async Task An_existing_member_is_linked_by_a_verified_email_and_the_provider_decides_the_role_at_every_sign_in()
    {
        var email = Unique("grace") + "@example.com";
        var existing = await Server.Services.GetRequiredService<AccountService>().CreateAsync(new CreateMemberRequest(email, "Grace Member", Role.Viewer, "member password 1"), Actor.System("test"), Role.Owner);
        var user = Provider.AddUser(Unique("grace"), email, emailVerified: true, "flagstaff-admins");

        var page = await NewPageAsync();
        await page.GotoAsync(Server.Address + "login/sso?returnUrl=%2Fmembers");
        await SignInAtProviderAsync(page, user);
        await page.WaitForURLAsync(Server.Address + "members");
        await ExpectSignedInAsync(page, Server, "admin");
        var linked = await MemberAsync(Server, email);
        Assert.Equal(existing.Id, linked.Id);
        Assert.Equal(Role.Admin, linked.Role);

        // Signing out ends the session on the server: the old cookie is refused.
        var cookie = (await page.Context.CookiesAsync([Server.Address.ToString()])).Single(c => c.Name == "flagstaff_session").Value;
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await page.WaitForURLAsync(url => url.Contains("/login", StringComparison.Ordinal));
        using var copied = WithCookie(Server, cookie);
        Assert.Equal(HttpStatusCode.Unauthorized, (await copied.GetAsync("api/me")).StatusCode);

        // The group changed at the provider: the next sign-in brings the new role, for the same member.
        Provider.Users[user.UserName] = user with { Groups = ["flagstaff-editors"] };
        var next = await NewPageAsync();
        await next.GotoAsync(Server.Address + "login/sso");
        await SignInAtProviderAsync(next, user);
        await ExpectSignedInAsync(next, Server, "editor");
        Assert.Equal(Role.Editor, (await MemberAsync(Server, email)).Role);
        Assert.Single(await Server.Services.GetRequiredService<AccountService>().ListAsync(), a => a.Email == email);

        // Someone at the provider whose e-mail is not verified there is not linked to the member who has it.
        var victim = Unique("victim") + "@example.com";
        await Server.Services.GetRequiredService<AccountService>().CreateAsync(new CreateMemberRequest(victim, "Victim", Role.Admin, "member password 1"), Actor.System("test"), Role.Owner);
        var impostor = Provider.AddUser(Unique("impostor"), victim, emailVerified: false, "flagstaff-editors");
        var third = await NewPageAsync();
        await third.GotoAsync(Server.Address + "login/sso");
        await SignInAtProviderAsync(third, impostor);
        await ExpectRefusedAsync(third, Server, "does not say the e-mail is verified");
        Assert.Equal(Role.Admin, (await MemberAsync(Server, victim)).Role);
    }

    [Fact]
    public async Task Tokens_from_an_issuer_other_than_the_configured_one_are_refused()
    {
        var server = sso.WrongIssuerServer;
        var user = sso.OtherTenant.AddUser(Unique("mallory"), Unique("mallory") + "@example.com", emailVerified: true, "flagstaff-admins");
        int logged = server.Logs.Lines.Count;

        var page = await NewPageAsync();
        await page.GotoAsync(server.Address + "login/sso");
        await SignInAtProviderAsync(page, user);
        await ExpectRefusedAsync(page, server, "Signing in with Test Provider failed");
        Assert.Contains(server.Logs.Lines.Skip(logged), l => l.Contains($"issued by {sso.OtherTenant.Issuer}, not by the configured issuer", StringComparison.Ordinal));
        Assert.DoesNotContain(await server.Services.GetRequiredService<AccountService>().ListAsync(), a => a.Email == user.Email);
    }

    [Fact]
    public async Task An_expired_code_is_refused()
    {
        var user = Provider.AddUser(Unique("ivy"), Unique("ivy") + "@example.com", emailVerified: true);
        var page = await NewPageAsync();
        var callback = await HeldCallbackAsync(page, Server, user);

        // The code lives five minutes at the provider.
        Provider.Clock.Offset = TimeSpan.FromMinutes(6);
        int logged = Server.Logs.Lines.Count;
        await page.GotoAsync(callback);
        await ExpectRefusedAsync(page, Server, "Signing in with Test Provider failed");
        Assert.Contains(Server.Logs.Lines.Skip(logged), l => l.Contains("invalid_grant", StringComparison.Ordinal));
        Assert.DoesNotContain(await Server.Services.GetRequiredService<AccountService>().ListAsync(), a => a.Email == user.Email);
    }

    [Fact]
    public async Task A_code_used_once_is_refused_when_replayed_in_the_same_browser_or_planted_in_another()
    {
        var user = Provider.AddUser(Unique("otto"), Unique("otto") + "@example.com", emailVerified: true);
        var page = await NewPageAsync();
        var callback = await HeldCallbackAsync(page, Server, user);
        await page.GotoAsync(callback);
        await ExpectSignedInAsync(page, Server, "viewer");

        // The same answer again: its state was used up with the sign-in.
        var replay = await NewPageAsync();
        int logged = Server.Logs.Lines.Count;
        await replay.GotoAsync(callback);
        await ExpectRefusedAsync(replay, Server, "Signing in with Test Provider failed");

        // The code planted in another browser's own, valid sign-in: the provider refuses to redeem it twice
        // (and the other browser's PKCE verifier is not the one the code was issued for).
        var victim = await NewPageAsync();
        await victim.GotoAsync(Server.Address + "login/sso");
        await victim.WaitForURLAsync(url => url.StartsWith(Provider.Address.ToString(), StringComparison.Ordinal));
        var authorize = new Uri(Provider.Address, HttpUtility.ParseQueryString(new Uri(victim.Url).Query)["returnUrl"]);
        var state = HttpUtility.ParseQueryString(authorize.Query)["state"];
        var code = HttpUtility.ParseQueryString(new Uri(callback).Query)["code"];
        await victim.GotoAsync($"{Server.Address}signin-oidc?code={Uri.EscapeDataString(code!)}&state={Uri.EscapeDataString(state!)}");
        await ExpectRefusedAsync(victim, Server, "Signing in with Test Provider failed");
        Assert.Contains(Server.Logs.Lines.Skip(logged), l => l.Contains("invalid_grant", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_tampered_state_is_refused()
    {
        var user = Provider.AddUser(Unique("tam"), Unique("tam") + "@example.com", emailVerified: true);
        var page = await NewPageAsync();
        var callback = await HeldCallbackAsync(page, Server, user);
        var query = HttpUtility.ParseQueryString(new Uri(callback).Query);
        var state = query["state"]!;
        int middle = state.Length / 2;
        var tampered = state[..middle] + (state[middle] == 'A' ? 'B' : 'A') + state[(middle + 1)..];

        int logged = Server.Logs.Lines.Count;
        await page.GotoAsync($"{Server.Address}signin-oidc?code={Uri.EscapeDataString(query["code"]!)}&state={Uri.EscapeDataString(tampered)}");
        await ExpectRefusedAsync(page, Server, "Signing in with Test Provider failed");
        Assert.Contains(Server.Logs.Lines.Skip(logged), l => l.Contains("state", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(await Server.Services.GetRequiredService<AccountService>().ListAsync(), a => a.Email == user.Email);
    }

    [Fact]
    public async Task Without_members_made_at_sign_in_a_stranger_is_refused_and_password_sign_in_switched_off_has_a_way_back_for_owners()
    {
        // Password sign-in off needs single sign-on: without it the server does not start.
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => ServerHost.StartAsync(DatabaseKind.Sqlite, settings: new Dictionary<string, string?> { ["Flagstaff:Sso:PasswordSignIn"] = "Disabled" }));
        Assert.Contains("no one could sign in", refused.Message, StringComparison.Ordinal);

        await using var database = await TestDatabase.CreateAsync(DatabaseKind.Sqlite);
        int port = ServerHost.FreePort();
        var closed = SingleSignOnFixture.Settings(Provider, "flagstaff-closed", createMembers: false);
        closed["Flagstaff:Sso:PasswordSignIn"] = "Disabled";
        var server = await ServerHost.StartAsync(DatabaseKind.Sqlite, database, closed, port: port);
        await Provider.RegisterClientAsync("flagstaff-closed", SingleSignOnFixture.ClientSecret, new Uri(server.Address, "signin-oidc"));
        var member = await server.Services.GetRequiredService<AccountService>().CreateAsync(new CreateMemberRequest(Unique("nora") + "@example.com", "Nora", Role.Admin, "member password 1"), Actor.System("test"), Role.Owner);
        var page = await NewPageAsync();
        try
        {
            var stranger = Provider.AddUser(Unique("stranger"), Unique("stranger") + "@example.com", emailVerified: true, "flagstaff-admins");
            await page.GotoAsync(server.Address + "login");
            await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Sign in with Test Provider" })).ToBeVisibleAsync();
            await Expect(page.GetByLabel("Password")).ToHaveCountAsync(0);
            await Screenshots.SaveAsync(page, "sso-only");
            await page.GetByRole(AriaRole.Link, new() { Name = "Sign in with Test Provider" }).ClickAsync();
            await SignInAtProviderAsync(page, stranger);
            await ExpectRefusedAsync(page, server, "you are not a member of Flagstaff yet");
            Assert.DoesNotContain(await server.Services.GetRequiredService<AccountService>().ListAsync(), a => a.Email == stranger.Email);

            // Neither the API nor anyone else signs in with a password, not even the owner.
            var owner = await server.Anonymous().PostAsJsonAsync("api/auth/login", new { email = ServerHost.OwnerEmail, password = ServerHost.OwnerPassword });
            Assert.Equal(HttpStatusCode.Forbidden, owner.StatusCode);
            Assert.Contains("Password sign-in is switched off", await owner.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            var methods = await server.Anonymous().GetStringAsync("api/auth/methods");
            Assert.Contains("\"password\":\"Disabled\"", methods, StringComparison.Ordinal);
            Assert.Contains("\"name\":\"Test Provider\"", methods, StringComparison.Ordinal);
        }
        finally
        {
            // Closed first: a page left open would report its lost connection to the stopped server.
            await page.CloseAsync();
            await server.DisposeAsync();
        }

        // The way back in: the same server started with PasswordSignIn=OwnersOnly lets the owner, and only the owner, use a password.
        closed["Flagstaff:Sso:PasswordSignIn"] = "OwnersOnly";
        await using var recovered = await ServerHost.StartAsync(DatabaseKind.Sqlite, database, closed, port: port);
        var admin = await recovered.Anonymous().PostAsJsonAsync("api/auth/login", new { email = member.Email, password = "member password 1" });
        Assert.Equal(HttpStatusCode.Unauthorized, admin.StatusCode);
        Assert.Contains("open only to owners", await admin.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var recovery = await NewPageAsync();
        await recovery.GotoAsync(recovered.Address + "login");
        await Expect(recovery.GetByText("or, for owners only, with a password")).ToBeVisibleAsync();
        await recovery.GetByLabel("E-mail").FillAsync(ServerHost.OwnerEmail);
        await recovery.GetByLabel("Password").FillAsync(ServerHost.OwnerPassword);
        await recovery.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await ExpectSignedInAsync(recovery, recovered, "owner");
        await Screenshots.SaveAsync(recovery, "sso-owner-recovery");
        await recovery.CloseAsync();
    }

    // Flagstaff has sent the browser to the provider: sign in there and continue back.
    private static async Task SignInAtProviderAsync(IPage page, ProviderUser user)
    {
        await page.GetByLabel("User name").FillAsync(user.UserName);
        await page.GetByLabel("Provider password").FillAsync(user.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in at the provider" }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Continue" }).ClickAsync();
    }

    // Signs in at the provider, but holds its answer (the redirect back to Flagstaff with the code and
    // state) instead of following it, and returns it.
    private static async Task<string> HeldCallbackAsync(IPage page, ServerHost server, ProviderUser user)
    {
        var held = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await page.RouteAsync("**/connect/authorize**", async route =>
        {
            var answer = await route.FetchAsync(new() { MaxRedirects = 0 });
            held.TrySetResult(answer.Headers["location"]);
            await route.FulfillAsync(new() { Status = 200, ContentType = "text/html", Body = "<p>held</p>" });
        });
        await page.GotoAsync(server.Address + "login/sso");
        await SignInAtProviderAsync(page, user);
        var callback = await held.Task.WaitAsync(TimeSpan.FromSeconds(20));
        await page.UnrouteAllAsync();
        Assert.StartsWith(server.Address + "signin-oidc?", callback, StringComparison.Ordinal);
        return callback;
    }

    private static async Task ExpectSignedInAsync(IPage page, ServerHost server, string role)
    {
        await page.WaitForURLAsync(url => url.StartsWith(server.Address.ToString(), StringComparison.Ordinal) && !url.Contains("/login", StringComparison.Ordinal), new() { WaitUntil = WaitUntilState.Commit });
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToBeVisibleAsync();
        await Expect(page.Locator(".badge-role")).ToHaveTextAsync(new Regex(role, RegexOptions.IgnoreCase));
    }

    private static async Task ExpectRefusedAsync(IPage page, ServerHost server, string message)
    {
        await page.WaitForURLAsync(url => url.StartsWith(server.Address + "login?sso=", StringComparison.Ordinal));
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync(message);
        var me = await page.Context.APIRequest.GetAsync(server.Address + "api/me");
        Assert.Equal(401, me.Status);
        Assert.DoesNotContain(await page.Context.CookiesAsync([server.Address.ToString()]), c => c.Name == "flagstaff_session");
    }

    private static async Task<Account> MemberAsync(ServerHost server, string email) =>
        Assert.Single(await server.Services.GetRequiredService<AccountService>().ListAsync(), a => a.Email == email);

    private static HttpClient WithCookie(ServerHost server, string session)
    {
        var client = new HttpClient { BaseAddress = server.Address };
        client.DefaultRequestHeaders.Add("Cookie", "flagstaff_session=" + session);
        return client;
    }

    private static string Unique(string prefix) => prefix + Guid.NewGuid().ToString("N")[..6];

    private async Task<IPage> NewPageAsync()
    {
        var context = await dashboard.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 }, Locale = "en-GB" });
        _contexts.Add(context);
        context.SetDefaultTimeout(20_000);
        var page = await context.NewPageAsync();
        page.PageError += (_, error) => _browserErrors.Enqueue($"page error: {error}");
        page.Console += (_, message) =>
        {
            // Flagstaff's pages must not log errors; the test provider's bare pages (no favicon) are not under test.
            if (message.Type == "error" && message.Location.StartsWith("http://127.0.0.1", StringComparison.Ordinal))
            {
                _browserErrors.Enqueue($"console: {message.Text} ({message.Location})");
            }
        };
        return page;
    }
}

/// <summary>The providers and the Flagstaff servers that trust them, shared by the single sign-on tests.</summary>
public sealed class SingleSignOnFixture : IAsyncLifetime
{
    public const string ClientId = "flagstaff";
    public const string ClientSecret = "client secret for the tests";

    /// <summary>The provider Flagstaff is configured with.</summary>
    public OidcProvider Provider { get; private set; } = null!;

    /// <summary>A provider whose tokens name another issuer than the address it is configured at.</summary>
    public OidcProvider OtherTenant { get; private set; } = null!;

    /// <summary>Members made at sign-in (Viewer by default), and the provider's groups mapped to roles.</summary>
    public ServerHost Server { get; private set; } = null!;

    /// <summary>A server configured with <see cref="OtherTenant"/>'s address as its issuer.</summary>
    public ServerHost WrongIssuerServer { get; private set; } = null!;

    public static Dictionary<string, string?> Settings(OidcProvider provider, string clientId, bool createMembers) => new()
    {
        ["Flagstaff:Sso:Authority"] = provider.Address.ToString(),
        ["Flagstaff:Sso:ClientId"] = clientId,
        ["Flagstaff:Sso:ClientSecret"] = ClientSecret,
        ["Flagstaff:Sso:DisplayName"] = "Test Provider",
        ["Flagstaff:Sso:RequireHttpsMetadata"] = "false",
        ["Flagstaff:Sso:Scopes:0"] = "groups",
        ["Flagstaff:Sso:CreateMembers"] = createMembers ? "true" : "false",
        ["Flagstaff:Sso:RoleMappings:flagstaff-editors"] = "Editor",
        ["Flagstaff:Sso:RoleMappings:flagstaff-admins"] = "Admin",
    };

    public async ValueTask InitializeAsync()
    {
        Provider = await OidcProvider.StartAsync();
        OtherTenant = await OidcProvider.StartAsync(tenant: "other-tenant");
        Server = await ServerHost.StartAsync(DatabaseKind.Sqlite, settings: Settings(Provider, ClientId, createMembers: true));
        await Provider.RegisterClientAsync(ClientId, ClientSecret, new Uri(Server.Address, "signin-oidc"));
        WrongIssuerServer = await ServerHost.StartAsync(DatabaseKind.Sqlite, settings: Settings(OtherTenant, ClientId, createMembers: true));
        await OtherTenant.RegisterClientAsync(ClientId, ClientSecret, new Uri(WrongIssuerServer.Address, "signin-oidc"));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var server in new[] { Server, WrongIssuerServer })
        {
            if (server is not null)
            {
                await server.DisposeAsync();
            }
        }

        foreach (var provider in new[] { Provider, OtherTenant })
        {
            if (provider is not null)
            {
                await provider.DisposeAsync();
            }
        }
    }
}
