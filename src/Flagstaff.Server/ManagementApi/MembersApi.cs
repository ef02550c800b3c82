using Flagstaff.Domain;
using Flagstaff.Management.Security;
using Flagstaff.Management.Services;
using Flagstaff.Server.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Flagstaff.Server.ManagementApi;

/// <summary>Members and their roles, and each member's personal access tokens.</summary>
public static class MembersApi
{
    public static IEndpointRouteBuilder MapMembersApi(this IEndpointRouteBuilder app)
    {
        var members = app.MapGroup("/api/members").WithTags("Members").ProducesSignedInProblems();
        members.MapGet("/", List).RequireRole(Role.Viewer).WithName("ListMembers").WithSummary("Lists the members.");
        members.MapPost("/", Create).RequireRole(Role.Admin).Accepts<CreateMemberRequest>("application/json").WithName("CreateMember")
            .ProducesChangeProblems().ProducesBodyProblems().ProducesProblems(StatusCodes.Status409Conflict)
            .WithSummary("Adds a member (admins add up to admin; owners anyone).");
        members.MapPatch("/{id}", Update).RequireRole(Role.Admin).Accepts<UpdateMemberRequest>("application/json").WithName("UpdateMember")
            .ProducesProblems(StatusCodes.Status404NotFound).ProducesChangeProblems().ProducesBodyProblems().ProducesVersionProblems()
            .WithSummary("Changes a member's name, role, or disables them. Needs If-Match.");
        members.MapDelete("/{id}", Delete).RequireRole(Role.Admin).WithName("DeleteMember").ProducesProblems(StatusCodes.Status404NotFound).ProducesChangeProblems().ProducesProblems(StatusCodes.Status409Conflict).WithSummary("Removes a member.");

        var tokens = app.MapGroup("/api/me/tokens").WithTags("Access tokens").RequireRole(Role.Viewer).ProducesSignedInProblems();
        tokens.MapGet("/", ListTokens).WithName("ListAccessTokens").WithSummary("Lists your personal access tokens.");
        tokens.MapPost("/", CreateToken).Accepts<CreateTokenRequest>("application/json").WithName("CreateAccessToken").ProducesChangeProblems().ProducesBodyProblems()
            .WithSummary("Creates a personal access token; its secret is in this response only.");
        tokens.MapDelete("/{id}", RevokeToken).WithName("RevokeAccessToken").ProducesProblems(StatusCodes.Status404NotFound).ProducesChangeProblems().WithSummary("Revokes one of your tokens.");
        return app;
    }

    private static async Task<Ok<IReadOnlyList<Account>>> List(AccountService accounts, CancellationToken cancellationToken) =>
        TypedResults.Ok(await accounts.ListAsync(cancellationToken));

    private static async Task<Created<Account>> Create(HttpContext context, AccountService accounts, CancellationToken cancellationToken)
    {
        var request = await RequestBody.ReadAsync(context, ApiJson.Default.CreateMemberRequest);
        var account = await accounts.CreateAsync(request, context.ToActor(), context.User.Role()!.Value, cancellationToken);
        Versions.SetETag(context, account.Version);
        return TypedResults.Created($"/api/members/{account.Id}", account);
    }

    private static async Task<Ok<Account>> Update(string id, HttpContext context, AccountService accounts, CancellationToken cancellationToken)
    {
        long expected = Versions.Expected(context);
        var request = await RequestBody.ReadAsync(context, ApiJson.Default.UpdateMemberRequest);
        var account = await accounts.UpdateAsync(id, request, expected, context.ToActor(), context.User.Role()!.Value, cancellationToken);
        Versions.SetETag(context, account.Version);
        return TypedResults.Ok(account);
    }

    private static async Task<NoContent> Delete(string id, HttpContext context, AccountService accounts, CancellationToken cancellationToken)
    {
        await accounts.DeleteAsync(id, context.ToActor(), context.User.Role()!.Value, cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<IReadOnlyList<AccessToken>>> ListTokens(HttpContext context, AccountService accounts, CancellationToken cancellationToken) =>
        TypedResults.Ok(await accounts.ListTokensAsync(context.User.AccountId()!, cancellationToken));

    private static async Task<Created<CreatedToken>> CreateToken(HttpContext context, AccountService accounts, CancellationToken cancellationToken)
    {
        var request = await RequestBody.ReadAsync(context, ApiJson.Default.CreateTokenRequest);
        var created = await accounts.CreateTokenAsync(context.User.AccountId()!, request, context.ToActor(), cancellationToken);
        return TypedResults.Created($"/api/me/tokens/{created.Token.Id}", created);
    }

    private static async Task<NoContent> RevokeToken(string id, HttpContext context, AccountService accounts, CancellationToken cancellationToken)
    {
        await accounts.RevokeTokenAsync(context.User.AccountId()!, id, context.ToActor(), cancellationToken);
        return TypedResults.NoContent();
    }
}
