using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using Flagstaff.Domain;
using Flagstaff.Storage;
using Microsoft.Extensions.Options;

namespace Flagstaff.Management.Security;

/// <summary>How long a sign-in lasts (the <c>Flagstaff:Sessions</c> section).</summary>
public sealed class SessionOptions
{
    public const string Section = "Flagstaff:Sessions";

    /// <summary>
    /// A session unused this long ends (default 8 hours: a working day, so a browser left signed in
    /// overnight asks again in the morning). Each request made after half of it renews it.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromHours(8);

    /// <summary>
    /// A session ends this long after signing in however much it is used (default 7 days), so that a
    /// stolen cookie kept busy does not last for ever.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromDays(7);
}

/// <summary>
/// Sign-in sessions kept in the database: the session cookie carries a random session id, and each
/// request it authenticates must find its session, unexpired, and its member, enabled. Signing out, a
/// password change (for the member's other sessions), or a member being disabled or removed deletes the
/// sessions, so the cookie is refused at once on every node, with no cache to wait for.
/// </summary>
public sealed class Sessions(Store store, Secrets secrets, TimeProvider clock, IOptions<SessionOptions> options)
{
    /// <summary>The claim holding the session id in the cookie.</summary>
    public const string SessionClaim = "flagstaff_session";

    /// <summary>The session id of a principal signed in with the cookie, or null.</summary>
    public static string? IdOf(ClaimsPrincipal? principal) => principal?.FindFirstValue(SessionClaim);

    /// <summary>Starts a session for the member and adds its id to the principal that goes into the cookie.</summary>
    public async Task StartAsync(ClaimsPrincipal principal, CancellationToken cancellationToken = default)
    {
        var accountId = principal.AccountId() ?? throw new InvalidOperationException("Only a member can sign in.");
        var id = Secrets.New("");
        var now = clock.GetUtcNow();
        await store.WriteAsync(s => s.InsertSessionAsync(secrets.Hash(id), accountId, now, now + options.Value.Lifetime), cancellationToken).ConfigureAwait(false);
        ((ClaimsIdentity)principal.Identity!).AddClaim(new Claim(SessionClaim, id));
    }

    /// <summary>
    /// The member of a cookie's principal as stored now, or null when the session has ended (signed out,
    /// past its lifetime, ended by a password change) or the member is disabled or removed.
    /// </summary>
    public Task<Account?> MemberAsync(ClaimsPrincipal? principal, CancellationToken cancellationToken = default)
    {
        var id = IdOf(principal);
        var claimed = principal?.AccountId();
        if (id is null || claimed is null)
        {
            return Task.FromResult<Account?>(null);
        }

        var hash = secrets.Hash(id);
        var now = clock.GetUtcNow();
        return store.ReadAsync(async s =>
        {
            var accountId = await s.GetSessionAccountAsync(hash, now).ConfigureAwait(false);
            var account = accountId == claimed ? await s.GetAccountAsync(accountId).ConfigureAwait(false) : null;
            return account is { DisabledAt: null } ? account : null;
        }, cancellationToken);
    }

    /// <summary>Ends the session of a principal (signing out); nothing when it has none.</summary>
    public Task EndAsync(ClaimsPrincipal? principal, CancellationToken cancellationToken = default) =>
        IdOf(principal) is { } id ? store.WriteAsync(s => s.DeleteSessionAsync(secrets.Hash(id)), cancellationToken) : Task.CompletedTask;
}
