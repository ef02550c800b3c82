using System.Security.Claims;
using Flagstaff.Domain;

namespace Flagstaff.Management.Security;

/// <summary>The claims Flagstaff puts on a signed-in member, and how to read them.</summary>
public static class Principals
{
    public const string AccountIdClaim = "sub";
    public const string RoleClaim = "flagstaff_role";
    public const string VersionClaim = "flagstaff_account_version";

    public static ClaimsPrincipal Create(Account account, string scheme, string? tokenId = null)
    {
        var claims = new List<Claim>
        {
            new(AccountIdClaim, account.Id),
            new(ClaimTypes.Name, account.Name),
            new(ClaimTypes.Email, account.Email),
            new(RoleClaim, account.Role.ToString()),
            new(VersionClaim, account.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        };
        if (tokenId is not null)
        {
            claims.Add(new Claim("flagstaff_token", tokenId));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, scheme, ClaimTypes.Name, RoleClaim));
    }

    public static string? AccountId(this ClaimsPrincipal principal) => principal.FindFirstValue(AccountIdClaim);

    public static Role? Role(this ClaimsPrincipal principal) =>
        Enum.TryParse<Role>(principal.FindFirstValue(RoleClaim), out var role) ? role : null;

    public static bool HasRole(this ClaimsPrincipal principal, Role atLeast) => principal.Role() is { } role && role >= atLeast;

    /// <summary>Who is acting, for the audit log.</summary>
    public static Actor ToActor(this HttpContext context) => new()
    {
        AccountId = context.User.AccountId(),
        Name = context.User.Identity?.Name ?? "anonymous",
        Address = context.Connection.RemoteIpAddress?.ToString(),
    };
}
