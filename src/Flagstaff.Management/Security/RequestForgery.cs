using Flagstaff.Management.Services;
using Microsoft.AspNetCore.Authorization;

namespace Flagstaff.Management.Security;

/// <summary>
/// Refuses cross-site request forgery on the management API. Browsers attach the session cookie to
/// requests that other pages start (a form on another port of the same host is even "same-site", so
/// SameSite=Lax does not stop it), so a change made with the cookie must prove it came from Flagstaff's
/// own pages: it carries <see cref="HeaderName"/>, which a form cannot send and a script on another
/// origin cannot send without a CORS permission Flagstaff never grants, and the browser does not say it
/// came from another origin (<c>Origin</c>, or <c>Sec-Fetch-Site</c> when there is no <c>Origin</c>).
/// Sign-in, setup and sign-out are checked too, with or without a cookie (a forged sign-in would put the
/// victim in the attacker's account). Requests with a personal access token or an API key carry no
/// ambient credential and are not affected; the dashboard's own forms carry anti-forgery tokens.
/// </summary>
public static class RequestForgery
{
    /// <summary>The header a change made with the session cookie must carry (any value; the dashboard sends 1).</summary>
    public const string HeaderName = "X-Flagstaff-Request";

    /// <summary>Adds the check; call it after authentication, before authorisation.</summary>
    public static IApplicationBuilder UseFlagstaffRequestForgeryProtection(this IApplicationBuilder app) =>
        app.Use(static (context, next) =>
        {
            Check(context);
            return next(context);
        });

    private static void Check(HttpContext context)
    {
        var request = context.Request;
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method) || HttpMethods.IsTrace(request.Method)
            || !request.Path.StartsWithSegments("/api")
            || request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        bool bySession = context.User.Identity is { IsAuthenticated: true, AuthenticationType: Authentication.CookieScheme };
        bool anonymous = context.GetEndpoint()?.Metadata.GetMetadata<IAllowAnonymous>() is not null;
        if (!bySession && !anonymous)
        {
            // Neither signed in nor a sign-in route: authorisation refuses it with 401.
            return;
        }

        var what = $"{request.Method} {request.Path}";
        var origin = request.Headers.Origin.ToString();
        if (origin.Length > 0 && !IsThisServer(origin, request))
        {
            throw new ForbiddenException(
                $"{what} was sent by a page at {origin}, not by this server's own pages ({request.Scheme}://{request.Host}): refused as a possible cross-site request forgery.");
        }

        var site = request.Headers["Sec-Fetch-Site"].ToString();
        if (origin.Length == 0 && site is "cross-site" or "same-site")
        {
            throw new ForbiddenException(
                $"{what} was sent by a page on another origin (Sec-Fetch-Site: {site}): refused as a possible cross-site request forgery.");
        }

        if (!request.Headers.ContainsKey(HeaderName))
        {
            throw new ForbiddenException(
                $"{what} made with the session cookie must carry the header {HeaderName}: 1, which Flagstaff's pages send and a page on another site cannot. "
                + "Scripts should authenticate with a personal access token (Authorization: Bearer fs_pat_...) instead.");
        }
    }

    // Same host and port as the request was addressed to. The scheme is not compared: behind a proxy that
    // ends TLS the request arrives over HTTP while the page's origin is https.
    private static bool IsThisServer(string origin, HttpRequest request)
    {
        if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || !request.Host.HasValue)
        {
            return false;
        }

        bool samePort = request.Host.Port is { } port ? uri.Port == port : uri.IsDefaultPort;
        return samePort && string.Equals(uri.Host.Trim('[', ']'), request.Host.Host.Trim('[', ']'), StringComparison.OrdinalIgnoreCase);
    }
}
