using Flagstaff.Domain;
using Flagstaff.Management.Services;
using Microsoft.Extensions.Options;

namespace Flagstaff.Management.Security;

/// <summary>The outcome of a password sign-in: the member, or the HTTP status and sentence to answer with.</summary>
public sealed record PasswordLoginResult(Account? Account, int Status, string? Error, TimeSpan RetryAfter);

/// <summary>
/// Checks an e-mail and password, the one way for the API and the dashboard alike: whether password
/// sign-in is open (<see cref="SingleSignOnOptions.PasswordSignIn"/>), the failed sign-in throttle,
/// then the password.
/// </summary>
public sealed class PasswordLogin(AccountService accounts, LoginThrottle throttle, IOptions<SingleSignOnOptions> sso)
{
    public async Task<PasswordLoginResult> VerifyAsync(string? email, string? password, string? address, CancellationToken cancellationToken = default)
    {
        var o = sso.Value;
        if (o.PasswordSignIn == PasswordSignInMode.Disabled)
        {
            return new(null, StatusCodes.Status403Forbidden, $"Password sign-in is switched off: sign in with {o.DisplayName}.", TimeSpan.Zero);
        }

        email ??= "";
        var wait = throttle.TryBegin(email, address);
        if (wait > TimeSpan.Zero)
        {
            return new(null, StatusCodes.Status429TooManyRequests, $"Too many failed sign-ins: try again in {Math.Ceiling(wait.TotalSeconds)} seconds.", wait);
        }

        var account = await accounts.VerifyPasswordAsync(email, password ?? "", cancellationToken).ConfigureAwait(false);

        // A non-owner's right password fails like a wrong one, so that the limit tells nothing about passwords.
        bool ownersOnly = o.PasswordSignIn == PasswordSignInMode.OwnersOnly;
        if (account is null || (ownersOnly && account.Role != Role.Owner))
        {
            return new(null, StatusCodes.Status401Unauthorized,
                "The e-mail or the password is wrong, or the account is disabled." + (ownersOnly ? $" Password sign-in is open only to owners now: sign in with {o.DisplayName}." : ""),
                TimeSpan.Zero);
        }

        throttle.Succeeded(email, address);
        return new(account, StatusCodes.Status200OK, null, TimeSpan.Zero);
    }
}
