using Flagstaff.Dashboard.Components;
using Flagstaff.Dashboard.Model;
using Flagstaff.Management.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Flagstaff.Dashboard;

/// <summary>Hosts the dashboard in the Flagstaff server: its services, and its pages at <c>/</c>.</summary>
public static class DashboardExtensions
{
    // Dashboard pages may run only the dashboard's own scripts; they connect back only to the server
    // itself (the interactive pages' WebSocket), and nothing may frame them.
    private const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; "
        + "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>Adds the dashboard's services: Razor components with interactive server rendering.</summary>
    /// <param name="services">The server's services.</param>
    /// <returns>The same services, for chaining.</returns>
    public static IServiceCollection AddFlagstaffDashboard(this IServiceCollection services)
    {
        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddCascadingAuthenticationState();
        services.AddHttpContextAccessor();
        services.AddScoped<DashboardSession>();
        services.AddScoped<PageNotices>();
        return services;
    }

    /// <summary>
    /// Maps the dashboard's pages at <c>/</c> (with anti-forgery protection for every form and a
    /// Content-Security-Policy on every page), its files and its sign-out endpoint. Call it after
    /// authentication and authorization are in the pipeline.
    /// </summary>
    /// <param name="app">The server's application.</param>
    /// <returns>The same application, for chaining.</returns>
    public static WebApplication MapFlagstaffDashboard(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.Use(static (context, next) =>
        {
            if (!IsApi(context.Request.Path))
            {
                var headers = context.Response.Headers;
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "same-origin";
            }

            return next(context);
        });
        app.UseAntiforgery();

        DashboardAssets.Map(app);
        app.MapPost("/logout", SignOutAsync).AllowAnonymous().ExcludeFromDescription();
        app.MapGet(SingleSignOn.StartPath, StartSingleSignOn).AllowAnonymous().WithName("StartSingleSignOn")
            .WithSummary("Starts a sign-in at the single sign-on provider (a browser page, not an API call); returns to returnUrl, a path on this server, once signed in.")
            .WithTags("Sign-in");
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }

    private static bool IsApi(PathString path) =>
        path.StartsWithSegments("/api") || path.StartsWithSegments("/openapi") || path.StartsWithSegments("/health");

    // A GET, as the sign-in page's link: it changes nothing here, and what the provider sends back is
    // bound to this browser by the state and nonce cookies and to this request by PKCE.
    private static IResult StartSingleSignOn(HttpContext context, IOptions<SingleSignOnOptions> sso, [FromQuery] string? returnUrl) =>
        sso.Value.IsEnabled
            ? Results.Challenge(new AuthenticationProperties { RedirectUri = SingleSignOn.LocalUrl(returnUrl) }, [SingleSignOn.Scheme])
            : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: "Single sign-on is not configured (Flagstaff:Sso:Authority).");

    // A form post (so it carries the anti-forgery token, which minimal APIs check for form parameters).
    private static async Task<IResult> SignOutAsync(HttpContext context, [FromForm] string? returnUrl)
    {
        await context.SignOutAsync(Authentication.CookieScheme);
        return Results.LocalRedirect("/login" + (string.IsNullOrEmpty(returnUrl) ? "" : "?signedOut=1"));
    }
}
