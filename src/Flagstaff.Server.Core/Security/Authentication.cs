using System.Collections.Concurrent;
using System.Text.Encodings.Web;
using Flagstaff.Domain;
using Flagstaff.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;

namespace Flagstaff.Server.Security;

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

    public static IServiceCollection AddFlagstaffAuthentication(this IServiceCollection services)
    {
        services.AddSingleton<MemberCache>();
        services.AddAuthentication(Scheme)
            .AddPolicyScheme(Scheme, "Session or access token", options =>
            {
                options.ForwardDefaultSelector = context =>
                    context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? TokenScheme : CookieScheme;
            })
            .AddCookie(CookieScheme, options =>
            {
                options.Cookie.Name = CookieName;
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Lax;
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.ExpireTimeSpan = TimeSpan.FromDays(7);
                options.SlidingExpiration = true;
                options.LoginPath = "/login";
                options.LogoutPath = "/logout";
                options.AccessDeniedPath = "/denied";
                options.Events = new CookieAuthenticationEvents
                {
                    // The API answers 401/403; pages redirect to the sign-in page.
                    OnRedirectToLogin = context => ApiOr(context, StatusCodes.Status401Unauthorized),
                    OnRedirectToAccessDenied = context => ApiOr(context, StatusCodes.Status403Forbidden),
                    OnValidatePrincipal = ValidateMemberAsync,
                };
            })
            .AddScheme<AuthenticationSchemeOptions, AccessTokenHandler>(TokenScheme, null);

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

    // A disabled or deleted member loses the session at once; a role change applies at once.
    private static async Task ValidateMemberAsync(CookieValidatePrincipalContext context)
    {
        var id = context.Principal?.AccountId();
        var account = id is null ? null : await context.HttpContext.RequestServices.GetRequiredService<MemberCache>().GetAsync(id).ConfigureAwait(false);
        if (account is null || account.DisabledAt is not null)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(CookieScheme).ConfigureAwait(false);
            return;
        }

        var principal = context.Principal!;
        if (principal.Role() != account.Role || principal.Identity?.Name != account.Name)
        {
            context.ReplacePrincipal(Principals.Create(account, CookieScheme));
            context.ShouldRenew = true;
        }
    }
}

/// <summary>Members by id, cached for a few seconds so that each request does not read the database.</summary>
public sealed class MemberCache(Store store, TimeProvider clock)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<string, (Account? Account, DateTimeOffset At)> _entries = new();

    public async Task<Account?> GetAsync(string id)
    {
        var now = clock.GetUtcNow();
        if (_entries.TryGetValue(id, out var entry) && now - entry.At < Lifetime)
        {
            return entry.Account;
        }

        var account = await store.ReadAsync(s => s.GetAccountAsync(id)).ConfigureAwait(false);
        _entries[id] = (account, now);
        return account;
    }

    public void Forget(string id) => _entries.TryRemove(id, out _);
}

/// <summary>Authenticates personal access tokens (<c>fs_pat_...</c>) by the keyed hash of the secret.</summary>
public sealed class AccessTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    Store store, Secrets secrets, MemberCache members, TimeProvider clock)
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

        var token = await store.ReadAsync(s => s.FindAccessTokenAsync(secrets.Hash(secret))).ConfigureAwait(false);
        var now = clock.GetUtcNow();
        if (token is null || token.RevokedAt is not null || token.ExpiresAt <= now)
        {
            return AuthenticateResult.Fail("The access token is unknown, revoked or expired.");
        }

        var account = await members.GetAsync(token.AccountId).ConfigureAwait(false);
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
/// are not locked out by one person's typos.
/// </summary>
public sealed class LoginThrottle(TimeProvider clock)
{
    private const int FreeAttemptsPerAccount = 5;
    private const int FreeAttemptsPerAddress = 30;
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(15);
    private readonly ConcurrentDictionary<string, (int Failures, DateTimeOffset Last)> _failures = new();

    /// <summary>How long the caller must wait before trying again, or zero.</summary>
    public TimeSpan RetryAfter(string email, string? address)
    {
        var now = clock.GetUtcNow();
        var wait = TimeSpan.Zero;
        foreach (var key in Keys(email, address))
        {
            int free = key.StartsWith("email:", StringComparison.Ordinal) ? FreeAttemptsPerAccount : FreeAttemptsPerAddress;
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

        return wait;
    }

    public void Failed(string email, string? address)
    {
        var now = clock.GetUtcNow();
        foreach (var key in Keys(email, address))
        {
            _failures.AddOrUpdate(key, (1, now), (_, e) => (now - e.Last < Window ? e.Failures + 1 : 1, now));
        }
    }

    public void Succeeded(string email) => _failures.TryRemove("email:" + email.Trim().ToUpperInvariant(), out _);

    private static IEnumerable<string> Keys(string email, string? address)
    {
        yield return "email:" + (email ?? "").Trim().ToUpperInvariant();
        if (address is not null)
        {
            yield return "address:" + address;
        }
    }
}

/// <summary>Extension to require a role on an endpoint or group.</summary>
public static class RoleRequirements
{
    public static TBuilder RequireRole<TBuilder>(this TBuilder builder, Role role) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(Authentication.Policy(role));
}
