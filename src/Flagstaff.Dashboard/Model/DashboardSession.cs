using Flagstaff.Domain;
using Flagstaff.Management.Security;
using Flagstaff.Management.Services;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Http;

namespace Flagstaff.Dashboard.Model;

/// <summary>
/// The signed-in member, for one page or circuit. The dashboard calls the server's services directly, so
/// this is where it enforces roles, as the HTTP API does with its policies: every change first asks for
/// the role it needs, checked against the member as stored now (a role changed or a member disabled
/// meanwhile counts at once), not against the claims the page was opened with.
/// </summary>
public sealed class DashboardSession(AuthenticationStateProvider authentication, Sessions sessions, IHttpContextAccessor http)
{
    // Captured when the page or circuit starts: the address of the browser, for the audit log.
    private readonly string? _address = http.HttpContext?.Connection.RemoteIpAddress?.ToString();

    /// <summary>
    /// The signed-in member as stored now, or null when signed out (here or in another tab), when the
    /// session has ended, or when the member is removed or disabled: an open page stops at once too.
    /// </summary>
    public async Task<Account?> MemberAsync()
    {
        var state = await authentication.GetAuthenticationStateAsync().ConfigureAwait(false);
        return await sessions.MemberAsync(state.User).ConfigureAwait(false);
    }

    /// <summary>The id of the page's sign-in session (kept when the member changes their password).</summary>
    public async Task<string?> SessionIdAsync() => Sessions.IdOf((await authentication.GetAuthenticationStateAsync().ConfigureAwait(false)).User);

    /// <summary>Who is acting, after checking the member holds <paramref name="role"/>; otherwise throws <see cref="ForbiddenException"/>.</summary>
    public async Task<(Actor Actor, Role Role)> ActAsync(Role role)
    {
        var account = await MemberAsync().ConfigureAwait(false) ?? throw new ForbiddenException("You are signed out: sign in again.");
        if (account.Role < role)
        {
            throw new ForbiddenException($"This needs the {Labels.Role(role)} role; you are {Labels.Role(account.Role)}.");
        }

        return (new Actor { AccountId = account.Id, Name = account.Name, Address = _address }, account.Role);
    }
}
