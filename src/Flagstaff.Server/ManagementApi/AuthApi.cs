using Flagstaff.Domain;
using Flagstaff.Management.Security;
using Flagstaff.Management.Services;
using Flagstaff.Server.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Flagstaff.Server.ManagementApi;

/// <summary>First-start setup, signing in and out, and the signed-in member.</summary>
public static class AuthApi
{
    public static IEndpointRouteBuilder MapAuthApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api").WithTags("Sign-in");
        group.MapGet("/setup", GetSetupStatus).AllowAnonymous().WithName("GetSetupStatus").ProducesProblems(StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Whether the first owner still has to be created.");
        group.MapPost("/setup", Setup).AllowAnonymous().Accepts<SetupRequest>("application/json").WithName("SetUp")
            .ProducesChangeProblems().ProducesBodyProblems().ProducesProblems(StatusCodes.Status409Conflict, StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Creates the first owner with the one-time token the server printed at start, and signs in.");
        group.MapPost("/auth/login", Login).AllowAnonymous().Accepts<LoginRequest>("application/json").WithName("SignIn")
            .ProducesBodyProblems().ProducesProblems(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status429TooManyRequests, StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Signs in with e-mail and password (sets the session cookie). Repeated failures are slowed down (429 with Retry-After); 403 when password sign-in is switched off (Flagstaff:Sso:PasswordSignIn).");
        group.MapGet("/auth/methods", GetSignInMethods).AllowAnonymous().WithName("GetSignInMethods")
            .WithSummary("How members can sign in: who may use a password (Enabled, OwnersOnly, Disabled), and the single sign-on provider, if configured, with the path that starts its sign-in.");
        group.MapPost("/auth/logout", (Delegate)Logout).AllowAnonymous().WithName("SignOut").ProducesProblems(StatusCodes.Status403Forbidden, StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Signs out: ends the session on the server (the old cookie is refused from now on, on every node) and clears the cookie.");
        group.MapGet("/me", GetMe).RequireRole(Role.Viewer).WithName("GetMe").ProducesSignedInProblems()
            .WithSummary("The signed-in member.");
        group.MapPost("/me/password", ChangePassword).RequireRole(Role.Viewer).Accepts<ChangePasswordRequest>("application/json").WithName("ChangePassword")
            .ProducesSignedInProblems().ProducesChangeProblems().ProducesBodyProblems().ProducesProblems(StatusCodes.Status404NotFound)
            .WithSummary("Changes the signed-in member's password, and ends every other session of the member (this one stays signed in).");
        return app;
    }

    private static async Task<Ok<SetupStatus>> GetSetupStatus(AccountService accounts, CancellationToken cancellationToken) =>
        TypedResults.Ok(new SetupStatus(await accounts.IsSetupRequiredAsync(cancellationToken)));

    private static async Task<Ok<Account>> Setup(HttpContext context, AccountService accounts, CancellationToken cancellationToken)
    {
        var request = await RequestBody.ReadAsync(context, ApiJson.Default.SetupRequest);
        var account = await accounts.SetupAsync(request, context.Connection.RemoteIpAddress?.ToString(), cancellationToken);
        await context.SignInAsync(Authentication.CookieScheme, Principals.Create(account, Authentication.CookieScheme));
        return TypedResults.Ok(account);
    }

    private static async Task<Results<Ok<Account>, ProblemHttpResult>> Login(HttpContext context, PasswordLogin passwords, CancellationToken cancellationToken)
    {
        var request = await RequestBody.ReadAsync(context, ApiJson.Default.LoginRequest);
        var result = await passwords.VerifyAsync(request.Email, request.Password, context.Connection.RemoteIpAddress?.ToString(), cancellationToken);
        if (result.Account is not { } account)
        {
            if (result.RetryAfter > TimeSpan.Zero)
            {
                context.Response.Headers.RetryAfter = ((int)Math.Ceiling(result.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            var title = result.Status switch
            {
                StatusCodes.Status429TooManyRequests => "Too many attempts",
                StatusCodes.Status403Forbidden => "Password sign-in is off",
                _ => "Sign-in failed",
            };
            return TypedResults.Problem(statusCode: result.Status, title: title, detail: result.Error);
        }

        await context.SignInAsync(Authentication.CookieScheme, Principals.Create(account, Authentication.CookieScheme));
        return TypedResults.Ok(account);
    }

    private static Ok<SignInMethods> GetSignInMethods(IOptions<SingleSignOnOptions> sso) =>
        TypedResults.Ok(new SignInMethods(
            sso.Value.PasswordSignIn,
            sso.Value.IsEnabled ? new SingleSignOnMethod(sso.Value.DisplayName, SingleSignOn.StartPath) : null));

    private static async Task<NoContent> Logout(HttpContext context)
    {
        await context.SignOutAsync(Authentication.CookieScheme);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<Account>, UnauthorizedHttpResult>> GetMe(HttpContext context, AccountService accounts, CancellationToken cancellationToken) =>
        await accounts.FindAsync(context.User.AccountId()!, cancellationToken) is { } account ? TypedResults.Ok(account) : TypedResults.Unauthorized();

    private static async Task<NoContent> ChangePassword(HttpContext context, AccountService accounts, CancellationToken cancellationToken)
    {
        var request = await RequestBody.ReadAsync(context, ApiJson.Default.ChangePasswordRequest);
        await accounts.ChangePasswordAsync(context.User.AccountId()!, request, context.ToActor(), Sessions.IdOf(context.User), cancellationToken);
        return TypedResults.NoContent();
    }
}
