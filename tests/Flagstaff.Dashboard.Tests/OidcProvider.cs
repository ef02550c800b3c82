using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Security.Claims;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Flagstaff.Dashboard.Tests;

/// <summary>
/// A real OpenID Connect provider (OpenIddict, its store in SQLite in memory) on its own loopback
/// address (127.0.0.2, so its cookies and Flagstaff's are another site's), with a sign-in page and a
/// "continue" page that a browser fills in and clicks, as at a company's provider.
/// </summary>
public sealed class OidcProvider : IAsyncDisposable
{
    public const string LoginCookie = "provider_login";

    private readonly WebApplication _app;
    private readonly SqliteConnection _keepAlive;

    private OidcProvider(WebApplication app, SqliteConnection keepAlive, Uri issuer, Uri address, ShiftedClock clock, ConcurrentDictionary<string, ProviderUser> users)
    {
        _app = app;
        _keepAlive = keepAlive;
        Issuer = issuer;
        Address = address;
        Clock = clock;
        Users = users;
    }

    /// <summary>The issuer its tokens name.</summary>
    public Uri Issuer { get; }

    /// <summary>Where it listens (its discovery document is at <c>{Address}.well-known/openid-configuration</c>).</summary>
    public Uri Address { get; }

    /// <summary>The provider's clock, which a test moves on to make its codes expire.</summary>
    public ShiftedClock Clock { get; }

    /// <summary>The people who can sign in, by user name; a test may change their groups.</summary>
    public ConcurrentDictionary<string, ProviderUser> Users { get; }

    /// <summary>
    /// Starts the provider. With <paramref name="tenant"/>, it claims to be the issuer
    /// <c>{address}{tenant}/</c> while serving its discovery document at the bare address too, as a
    /// provider whose address is not its issuer.
    /// </summary>
    public static async Task<OidcProvider> StartAsync(string? tenant = null)
    {
        var port = FreePort();
        var address = new Uri($"http://127.0.0.2:{port}/");
        var issuer = tenant is null ? address : new Uri(address, tenant + "/");
        var clock = new ShiftedClock();
        var users = new ConcurrentDictionary<string, ProviderUser>(StringComparer.Ordinal);
        var keepAlive = new SqliteConnection($"Data Source=provider-{Guid.NewGuid():N};Mode=Memory;Cache=Shared");
        await keepAlive.OpenAsync();

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing", ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseUrls(address.ToString());
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<TimeProvider>(clock);
        builder.Services.AddDbContext<ProviderDb>(options => options.UseSqlite(keepAlive.ConnectionString).UseOpenIddict());
        builder.Services.AddAuthentication(LoginCookie).AddCookie(LoginCookie, options =>
        {
            options.Cookie.Name = LoginCookie;
            options.LoginPath = "/account/login";
        });
        builder.Services.AddOpenIddict()
            .AddCore(options => options.UseEntityFrameworkCore().UseDbContext<ProviderDb>())
            .AddServer(options =>
            {
                options.SetIssuer(issuer);
                options.SetAuthorizationEndpointUris("connect/authorize").SetTokenEndpointUris("connect/token");
                options.AllowAuthorizationCodeFlow().RequireProofKeyForCodeExchange();
                options.RegisterScopes(Scopes.OpenId, Scopes.Profile, Scopes.Email, "groups");
                options.AddEphemeralEncryptionKey().AddEphemeralSigningKey().DisableAccessTokenEncryption();
                options.UseAspNetCore().EnableAuthorizationEndpointPassthrough().DisableTransportSecurityRequirement();
            });

        var app = builder.Build();
        if (tenant is not null)
        {
            app.UsePathBase("/" + tenant);
        }

        app.UseAuthentication();
        app.MapGet("/account/login", (string? returnUrl) => Html(LoginPage(returnUrl, null)));
        app.MapPost("/account/login", async (HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync();
            var returnUrl = form["returnUrl"].ToString();
            if (!users.TryGetValue(form["username"].ToString(), out var user) || user.Password != form["password"].ToString())
            {
                return Html(LoginPage(returnUrl, "Wrong user name or password."));
            }

            await context.SignInAsync(LoginCookie, new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, user.UserName)], LoginCookie)));

            // A page to continue from, as a provider's consent page: the browser then opens the
            // authorization endpoint itself, which a test can hold to keep the code it answers with.
            return Html($"""<h1>Signed in as {WebUtility.HtmlEncode(user.Name)}</h1><p><a href="{WebUtility.HtmlEncode(returnUrl)}">Continue</a></p>""");
        });
        app.MapMethods("/connect/authorize", [HttpMethods.Get, HttpMethods.Post], async (HttpContext context) =>
        {
            var request = context.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("Not an OpenID Connect request.");
            var signedIn = await context.AuthenticateAsync(LoginCookie);
            if (!signedIn.Succeeded || !users.TryGetValue(signedIn.Principal!.Identity!.Name!, out var user))
            {
                return Results.Challenge(new AuthenticationProperties { RedirectUri = context.Request.PathBase + context.Request.Path + context.Request.QueryString }, [LoginCookie]);
            }

            var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, Claims.Name, Claims.Role);
            identity.SetClaim(Claims.Subject, user.Subject)
                .SetClaim(Claims.Email, user.Email)
                .SetClaim(Claims.EmailVerified, user.EmailVerified)
                .SetClaim(Claims.Name, user.Name)
                .SetClaims("groups", [.. user.Groups]);
            identity.SetScopes(request.GetScopes());
            identity.SetDestinations(_ => [Destinations.IdentityToken, Destinations.AccessToken]);
            return Results.SignIn(new ClaimsPrincipal(identity), null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        });

        await using (var scope = app.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<ProviderDb>().Database.EnsureCreatedAsync();
        }

        await app.StartAsync();
        return new OidcProvider(app, keepAlive, issuer, address, clock, users);
    }

    /// <summary>Registers a confidential client that must use PKCE and may be sent back only to <paramref name="redirectUri"/>.</summary>
    public async Task RegisterClientAsync(string clientId, string secret, Uri redirectUri)
    {
        await using var scope = _app.Services.CreateAsyncScope();
        var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
        await applications.CreateAsync(new OpenIddictApplicationDescriptor
        {
            ClientId = clientId,
            ClientSecret = secret,
            ClientType = ClientTypes.Confidential,
            RedirectUris = { redirectUri },
            Permissions =
            {
                Permissions.Endpoints.Authorization,
                Permissions.Endpoints.Token,
                Permissions.GrantTypes.AuthorizationCode,
                Permissions.ResponseTypes.Code,
                Permissions.Scopes.Email,
                Permissions.Scopes.Profile,
                Permissions.Prefixes.Scope + "groups",
            },
            Requirements = { Requirements.Features.ProofKeyForCodeExchange },
        });
    }

    /// <summary>Adds (or replaces) a person who can sign in.</summary>
    public ProviderUser AddUser(string userName, string email, bool emailVerified = true, params string[] groups)
    {
        var user = new ProviderUser(userName, "provider password", "sub-" + Guid.NewGuid().ToString("N")[..12], email, emailVerified, "User " + userName, [.. groups]);
        Users[userName] = user;
        return user;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _keepAlive.DisposeAsync();
    }

    private static IResult Html(string body) =>
        Results.Content($"<!doctype html><html><head><title>Test provider</title></head><body>{body}</body></html>", "text/html");

    private static string LoginPage(string? returnUrl, string? error) => $"""
        <h1>Test provider</h1>
        {(error is null ? "" : $"<p role=\"alert\">{WebUtility.HtmlEncode(error)}</p>")}
        <form method="post" action="login">
          <input type="hidden" name="returnUrl" value="{WebUtility.HtmlEncode(returnUrl)}">
          <label for="username">User name</label> <input id="username" name="username">
          <label for="password">Provider password</label> <input id="password" name="password" type="password">
          <button type="submit">Sign in at the provider</button>
        </form>
        """;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Parse("127.0.0.2"), 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class ProviderDb(DbContextOptions<ProviderDb> options) : DbContext(options);
}

/// <summary>A person at the provider.</summary>
public sealed record ProviderUser(string UserName, string Password, string Subject, string Email, bool EmailVerified, string Name, ImmutableArray<string> Groups);

/// <summary>The system clock moved on by <see cref="Offset"/>.</summary>
public sealed class ShiftedClock : TimeProvider
{
    private long _offsetTicks;

    public TimeSpan Offset
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));
        set => Interlocked.Exchange(ref _offsetTicks, value.Ticks);
    }

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
}
