using System.Security.Claims;
using System.Text.Encodings.Web;
using Flagstaff.Domain;
using Flagstaff.Management.Telemetry;
using Flagstaff.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Flagstaff.Management.Security;

/// <summary>
/// Who is calling the management API and dashboard: a member signed in with the session cookie, or a
/// personal access token (<c>Authorization: Bearer fs_pat_...</c>). Each route then requires a role.
/// </summary>
public static class Authentication
{
    public const string Scheme = "Flagstaff";
    public const string CookieScheme = "Session";
    public const string TokenScheme = "AccessToken";
    public const string CookieName = "flagstaff_session";

    /// <summary>The policy name requiring at least a role.</summary>
    public static string Policy(Role role) => role.ToString();

    /// <summary>The session cookie's name over HTTPS: the prefix makes browsers accept it only as Secure, for this host, for every path.</summary>
    public const string SecureCookieName = "__Host-" + CookieName;

    public static IServiceCollection AddFlagstaffAuthentication(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SessionOptions>().BindConfiguration(SessionOptions.Section).ValidateDataAnnotations()
            .Validate(o => o.Lifetime >= o.IdleTimeout, "Flagstaff:Sessions:Lifetime must be at least Flagstaff:Sessions:IdleTimeout.").ValidateOnStart();
        services.AddSingleton<Sessions>();
        services.AddAuthentication(Scheme)
            .AddPolicyScheme(Scheme, "Session or access token", options =>
            {
                options.ForwardDefaultSelector = context =>
                    context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? TokenScheme : CookieScheme;
            })
            .AddCookie(CookieScheme, options =>
            {
                options.Cookie.Name = CookieName;
                options.Cookie.Path = "/";
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Lax;
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.CookieManager = new SessionCookieManager();
                options.SlidingExpiration = true;
                options.LoginPath = "/login";
                options.LogoutPath = "/logout";
                options.AccessDeniedPath = "/denied";
                options.Events = new CookieAuthenticationEvents
                {
                    // The API answers 401/403; pages redirect to the sign-in page.
                    OnRedirectToLogin = context => ApiOr(context, StatusCodes.Status401Unauthorized),
                    OnRedirectToAccessDenied = context => ApiOr(context, StatusCodes.Status403Forbidden),
                    OnSigningIn = context => context.HttpContext.RequestServices.GetRequiredService<Sessions>().StartAsync(context.Principal!, context.HttpContext.RequestAborted),
                    OnSigningOut = context => context.HttpContext.RequestServices.GetRequiredService<Sessions>().EndAsync(context.HttpContext.User),
                    OnValidatePrincipal = ValidateMemberAsync,
                };
            })
            .AddScheme<AuthenticationSchemeOptions, AccessTokenHandler>(TokenScheme, null)
            .AddFlagstaffSingleSignOn(configuration);
        services.AddOptions<CookieAuthenticationOptions>(CookieScheme).Configure<IOptions<SessionOptions>>((cookie, sessions) => cookie.ExpireTimeSpan = sessions.Value.IdleTimeout);

        services.AddAuthorizationBuilder()
            .AddPolicy(Policy(Role.Viewer), p => p.RequireAuthenticatedUser().RequireAssertion(c => c.User.HasRole(Role.Viewer)))
            .AddPolicy(Policy(Role.Editor), p => p.RequireAuthenticatedUser().RequireAssertion(c => c.User.HasRole(Role.Editor)))
            .AddPolicy(Policy(Role.Admin), p => p.RequireAuthenticatedUser().RequireAssertion(c => c.User.HasRole(Role.Admin)))
            .AddPolicy(Policy(Role.Owner), p => p.RequireAuthenticatedUser().RequireAssertion(c => c.User.HasRole(Role.Owner)));
        return services;
    }

    private static Task ApiOr(RedirectContext<CookieAuthenticationOptions> context, int status)
    {
        if (context.Request.Path.StartsWithSegments("/api"))
        {
            context.Response.StatusCode = status;
            return Task.CompletedTask;
        }

        context.Response.Redirect(context.RedirectUri);
        return Task.CompletedTask;
    }

    // Every request the cookie authenticates finds its session and member in the database: an ended
    // session or a disabled or removed member is refused at once; a role change applies at once.
    private static async Task ValidateMemberAsync(CookieValidatePrincipalContext context)
    {
        var account = await context.HttpContext.RequestServices.GetRequiredService<Sessions>().MemberAsync(context.Principal, context.HttpContext.RequestAborted).ConfigureAwait(false);
        if (account is null)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(CookieScheme).ConfigureAwait(false);
            return;
        }

        var principal = context.Principal!;
        if (principal.Role() != account.Role || principal.Identity?.Name != account.Name)
        {
            var replaced = Principals.Create(account, CookieScheme);
            ((ClaimsIdentity)replaced.Identity!).AddClaim(new Claim(Sessions.SessionClaim, Sessions.IdOf(principal)!));
            context.ReplacePrincipal(replaced);
            context.ShouldRenew = true;
        }
    }

    // The same cookie is named with the __Host- prefix over HTTPS, where browsers then refuse it unless it
    // is Secure and host-only, so a sibling subdomain or a plain-HTTP page cannot plant or overwrite it.
    private sealed class SessionCookieManager : ICookieManager
    {
        private readonly ChunkingCookieManager _inner = new();

        public string? GetRequestCookie(HttpContext context, string key) => _inner.GetRequestCookie(context, Name(context, key));

        public void AppendResponseCookie(HttpContext context, string key, string? value, CookieOptions options) =>
            _inner.AppendResponseCookie(context, Name(context, key), value, options);

        public void DeleteCookie(HttpContext context, string key, CookieOptions options) => _inner.DeleteCookie(context, Name(context, key), options);

        private static string Name(HttpContext context, string key) => context.Request.IsHttps ? "__Host-" + key : key;
    }
}

/// <summary>Authenticates personal access tokens (<c>fs_pat_...</c>) by the keyed hash of the secret.</summary>
public sealed class AccessTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    Store store, Secrets secrets, TimeProvider clock)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private static readonly TimeSpan TouchInterval = TimeSpan.FromMinutes(1);

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.NoResult();
        }

        var secret = header["Bearer ".Length..].Trim();
        if (!secret.StartsWith("fs_pat_", StringComparison.Ordinal))
        {
            // An API key for the evaluation endpoints, which authenticate it themselves.
            return AuthenticateResult.NoResult();
        }

        // The member as stored now, with no cache: a disabled member's tokens stop at once on every node.
        var (token, account) = await store.ReadAsync(async s =>
        {
            var found = await s.FindAccessTokenAsync(secrets.Hash(secret)).ConfigureAwait(false);
            return (found, found is null ? null : await s.GetAccountAsync(found.AccountId).ConfigureAwait(false));
        }).ConfigureAwait(false);
        var now = clock.GetUtcNow();
        if (token is null || token.RevokedAt is not null || token.ExpiresAt <= now)
        {
            return AuthenticateResult.Fail("The access token is unknown, revoked or expired.");
        }

        if (account is null || account.DisabledAt is not null)
        {
            return AuthenticateResult.Fail("The token's member is disabled.");
        }

        if (token.LastUsedAt is null || now - token.LastUsedAt > TouchInterval)
        {
            await store.WriteAsync(s => s.TouchAccessTokenAsync(token.Id, now)).ConfigureAwait(false);
        }

        return AuthenticateResult.Success(new AuthenticationTicket(Principals.Create(account, Scheme.Name, token.Id), Scheme.Name));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        return Task.CompletedTask;
    }
}

/// <summary>
/// Slows down repeated failed sign-ins: per account after a few failures (guessing one password), and
/// per client address after many more (trying many accounts), so that colleagues behind one address
/// are not locked out by one person's typos. An attempt is reserved before its password is checked and
/// counts as a failure until it succeeds, so guesses sent at once are checked no more often than guesses
/// sent one after another.
/// </summary>
public sealed class LoginThrottle(TimeProvider clock, FlagstaffMetrics metrics)
{
    private const int FreeAttemptsPerAccount = 5;
    private const int FreeAttemptsPerAddress = 30;
    private const int PruneAbove = 10_000;
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(15);
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (int Failures, DateTimeOffset Last)> _failures = [];

    /// <summary>
    /// Reserves an attempt to check a password: zero when the caller may check it now (then call
    /// <see cref="Succeeded"/> if it was right), otherwise how long the caller must wait, and nothing is reserved.
    /// </summary>
    public TimeSpan TryBegin(string email, string? address)
    {
        var now = clock.GetUtcNow();
        lock (_lock)
        {
            var wait = TimeSpan.Zero;
            foreach (var (key, free) in Keys(email, address))
            {
                if (_failures.TryGetValue(key, out var entry) && now - entry.Last < Window && entry.Failures >= free)
                {
                    var delay = TimeSpan.FromSeconds(Math.Min(MaxDelay.TotalSeconds, Math.Pow(2, entry.Failures - free)));
                    var remaining = entry.Last + delay - now;
                    if (remaining > wait)
                    {
                        wait = remaining;
                    }
                }
            }

            if (wait > TimeSpan.Zero)
            {
                metrics.LoginThrottled();
                return wait;
            }

            if (_failures.Count > PruneAbove)
            {
                Prune(now);
            }

            foreach (var (key, _) in Keys(email, address))
            {
                _failures[key] = _failures.TryGetValue(key, out var entry) && now - entry.Last < Window ? (entry.Failures + 1, now) : (1, now);
            }

            return TimeSpan.Zero;
        }
    }

    /// <summary>The reserved attempt was right: the account starts afresh, and the address gets its attempt back.</summary>
    public void Succeeded(string email, string? address)
    {
        lock (_lock)
        {
            foreach (var (key, free) in Keys(email, address))
            {
                if (free == FreeAttemptsPerAccount)
                {
                    _failures.Remove(key);
                }
                else if (_failures.TryGetValue(key, out var entry))
                {
                    _failures[key] = (Math.Max(0, entry.Failures - 1), entry.Last);
                }
            }
        }
    }

    // Entries outside the window no longer slow anyone down; many invented e-mails must not grow memory for ever.
    private void Prune(DateTimeOffset now)
    {
        foreach (var (key, entry) in _failures)
        {
            if (now - entry.Last >= Window)
            {
                _failures.Remove(key);
            }
        }
    }

    private static IEnumerable<(string Key, int Free)> Keys(string email, string? address)
    {
        yield return ("email:" + (email ?? "").Trim().ToUpperInvariant(), FreeAttemptsPerAccount);
        if (address is not null)
        {
            yield return ("address:" + address, FreeAttemptsPerAddress);
        }
    }
}

/// <summary>Extension to require a role on an endpoint or group.</summary>
public static class RoleRequirements
{
    public static TBuilder RequireRole<TBuilder>(this TBuilder builder, Role role) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(Authentication.Policy(role));
}
