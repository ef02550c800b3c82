using System.Security.Claims;
using Flagstaff.Server.Services;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Flagstaff.Server.Security;

/// <summary>
/// Single sign-on with an OpenID Connect provider: the authorization code flow with PKCE, the answer
/// back as a query (a top-level GET, so the Lax cookies that carry its state come along). The handler
/// never signs anyone in itself: once the provider's ID token is validated (issuer, audience, lifetime,
/// nonce, signature), the person's member is found or created and signed in with the session cookie,
/// exactly as a password sign-in is, so the session lives in the database, with the same lifetime,
/// idle timeout and revocation.
/// </summary>
public static partial class SingleSignOn
{
    public const string Scheme = "Oidc";

    /// <summary>Where the sign-in page's "Sign in with ..." button starts the flow (<c>?returnUrl=/path</c>).</summary>
    public const string StartPath = "/login/sso";

    /// <summary>Registers the options (always: the sign-in page reads them) and, when configured, the OpenID Connect handler.</summary>
    public static AuthenticationBuilder AddFlagstaffSingleSignOn(this AuthenticationBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddSingleton<IValidateOptions<SingleSignOnOptions>, SingleSignOnOptionsValidator>();
        services.AddOptions<SingleSignOnOptions>().BindConfiguration(SingleSignOnOptions.Section).ValidateOnStart();
        services.AddSingleton<SingleSignOnService>();
        services.AddSingleton<PasswordLogin>();

        // The handler exists only when configured: every remote handler is asked about every request, and
        // one without a client id would fail them all.
        var sso = configuration.GetSection(SingleSignOnOptions.Section).Get<SingleSignOnOptions>() ?? new();
        if (!sso.IsEnabled)
        {
            return builder;
        }

        builder.AddOpenIdConnect(Scheme, sso.DisplayName, _ => { });
        services.AddOptions<OpenIdConnectOptions>(Scheme).Configure<IOptions<SingleSignOnOptions>>((oidc, options) => Configure(oidc, options.Value));
        return builder;
    }

    private static readonly string[] BaseScopes = ["openid", "profile", "email"];

    private static void Configure(OpenIdConnectOptions oidc, SingleSignOnOptions o)
    {
        var issuer = o.Authority!.TrimEnd('/');
        oidc.Authority = issuer;
        oidc.ClientId = o.ClientId;
        oidc.ClientSecret = string.IsNullOrEmpty(o.ClientSecret) ? null : o.ClientSecret;
        oidc.ResponseType = OpenIdConnectResponseType.Code;
        oidc.ResponseMode = OpenIdConnectResponseMode.Query;
        oidc.UsePkce = true;
        oidc.Scope.Clear();
        foreach (var scope in BaseScopes.Concat(o.Scopes).Distinct(StringComparer.Ordinal))
        {
            oidc.Scope.Add(scope);
        }

        oidc.CallbackPath = o.CallbackPath;
        oidc.SignInScheme = Authentication.CookieScheme;
        oidc.SaveTokens = false;
        oidc.MapInboundClaims = false;
        oidc.GetClaimsFromUserInfoEndpoint = o.GetClaimsFromUserInfoEndpoint;
        oidc.RequireHttpsMetadata = o.RequireHttpsMetadata;
        oidc.DisableTelemetry = true;
        oidc.BackchannelTimeout = TimeSpan.FromSeconds(15);
        oidc.RemoteAuthenticationTimeout = TimeSpan.FromMinutes(10);

        // The tokens must come from the configured issuer itself. The handler would also accept whatever
        // issuer the metadata found at that address names (it adds it to the valid issuers), so that a
        // provider's other tenant, or anything else serving metadata there, could sign people in.
        oidc.TokenValidationParameters.IssuerValidator = (tokenIssuer, _, _) =>
            string.Equals(tokenIssuer?.TrimEnd('/'), issuer, StringComparison.Ordinal)
                ? tokenIssuer!
                : throw new SecurityTokenInvalidIssuerException($"The ID token was issued by {tokenIssuer}, not by the configured issuer {issuer} ({SingleSignOnOptions.Section}:Authority).") { InvalidIssuer = tokenIssuer };
        oidc.TokenValidationParameters.NameClaimType = "name";
        foreach (var cookie in new[] { oidc.CorrelationCookie, oidc.NonceCookie })
        {
            cookie.SameSite = SameSiteMode.Lax;
            cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            cookie.HttpOnly = true;
        }

        oidc.Events = new OpenIdConnectEvents
        {
            OnTicketReceived = SignInMemberAsync,
            OnRemoteFailure = context =>
            {
                var logger = Logger(context.HttpContext);
                var reason = context.Failure?.Message ?? "unknown";
                LogFailed(logger, reason);
                context.Response.Redirect(FailurePath("failed"));
                context.HandleResponse();
                return Task.CompletedTask;
            },
            OnAccessDenied = context =>
            {
                context.Response.Redirect(FailurePath("cancelled"));
                context.HandleResponse();
                return Task.CompletedTask;
            },

            // Front-channel sign-out by the provider is not supported: a GET that another site can trigger must not end sessions.
            OnRemoteSignOut = context =>
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                context.HandleResponse();
                return Task.CompletedTask;
            },
        };
    }

    // The end of the flow: the same session cookie, and the same server-side session, as a password sign-in.
    private static async Task SignInMemberAsync(TicketReceivedContext context)
    {
        var http = context.HttpContext;
        var options = http.RequestServices.GetRequiredService<IOptions<SingleSignOnOptions>>().Value;
        context.HandleResponse();
        try
        {
            var identity = ReadIdentity(context.Principal!, options);
            var account = await http.RequestServices.GetRequiredService<SingleSignOnService>()
                .SignInAsync(identity, http.Connection.RemoteIpAddress?.ToString(), http.RequestAborted).ConfigureAwait(false);
            await http.SignInAsync(Authentication.CookieScheme, Principals.Create(account, Authentication.CookieScheme)).ConfigureAwait(false);
            var logger = Logger(http);
            LogSignedIn(logger, account.Email, identity.Issuer);
            context.Response.Redirect(LocalUrl(context.ReturnUri));
        }
        catch (SignInRefusedException e)
        {
            var logger = Logger(http);
            if (logger.IsEnabled(LogLevel.Warning))
            {
                LogRefused(logger, e.Reason, e.Message);
            }

            context.Response.Redirect(FailurePath(e.Reason switch
            {
                SignInRefusal.NotMember => "not-member",
                SignInRefusal.Disabled => "disabled",
                SignInRefusal.EmailNotVerified => "email-not-verified",
                SignInRefusal.NoEmail => "no-email",
                _ => "failed",
            }));
        }
    }

    internal static ExternalIdentity ReadIdentity(ClaimsPrincipal principal, SingleSignOnOptions options)
    {
        var subject = principal.FindFirst("sub");
        var issuer = principal.FindFirstValue("iss") ?? subject?.Issuer;
        if (subject is null || issuer is null || subject.Value.Length is 0 or > SingleSignOnOptions.MaxClaimLength || issuer.Length > SingleSignOnOptions.MaxClaimLength)
        {
            throw new SignInRefusedException(SignInRefusal.Invalid, "The ID token has no usable sub or iss claim.");
        }

        static string? Bounded(string? value) => value is { Length: > 0 and <= SingleSignOnOptions.MaxClaimLength } ? value : null;

        // Beyond the bound, groups are ignored rather than read: fewer groups can only mean a lower role.
        var groups = principal.FindAll(options.RoleClaim).Select(c => c.Value).Where(v => v.Length <= SingleSignOnOptions.MaxClaimLength).Take(SingleSignOnOptions.MaxGroups).ToList();
        return new ExternalIdentity(
            issuer.TrimEnd('/'),
            subject.Value,
            Bounded(principal.FindFirstValue("email")),
            string.Equals(principal.FindFirstValue("email_verified"), "true", StringComparison.OrdinalIgnoreCase),
            Bounded(principal.FindFirstValue("name")),
            groups);
    }

    private static string FailurePath(string reason) => "/login?sso=" + reason;

    /// <summary>Only a path on this server: never a redirect to another site.</summary>
    public static string LocalUrl(string? url) =>
        url is { Length: > 0 } && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\')) ? url : "/";

    private static ILogger Logger(HttpContext context) => context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Flagstaff.SingleSignOn");

    [LoggerMessage(EventId = LogEvents.SingleSignOnSignedIn, Level = LogLevel.Information, Message = "Signed in {Email} with single sign-on from {Issuer}")]
    private static partial void LogSignedIn(ILogger logger, string email, string issuer);

    [LoggerMessage(EventId = LogEvents.SingleSignOnRefused, Level = LogLevel.Warning, Message = "Single sign-on refused ({Reason}): {Detail}")]
    private static partial void LogRefused(ILogger logger, SignInRefusal reason, string detail);

    [LoggerMessage(EventId = LogEvents.SingleSignOnFailed, Level = LogLevel.Warning, Message = "Single sign-on failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}
