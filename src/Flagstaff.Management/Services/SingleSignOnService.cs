using System.Net.Mail;
using Flagstaff.Domain;
using Flagstaff.Management.Security;
using Microsoft.Extensions.Options;

namespace Flagstaff.Management.Services;

/// <summary>A person as an OpenID Connect provider vouched for them in a validated ID token.</summary>
/// <param name="Issuer">The token's issuer.</param>
/// <param name="Subject">The provider's stable id of the person (<c>sub</c>).</param>
/// <param name="Email">The e-mail the provider gives, if any.</param>
/// <param name="EmailVerified">Whether the provider says it verified the e-mail (<c>email_verified</c>).</param>
/// <param name="Name">The display name, if any.</param>
/// <param name="Groups">The values of the configured groups or roles claim.</param>
public sealed record ExternalIdentity(string Issuer, string Subject, string? Email, bool EmailVerified, string? Name, IReadOnlyList<string> Groups);

/// <summary>Why a single sign-on did not let the person in.</summary>
public enum SignInRefusal
{
    /// <summary>Nobody in Flagstaff is linked to the identity and members are not created at sign-in.</summary>
    NotMember,

    /// <summary>The linked member is disabled.</summary>
    Disabled,

    /// <summary>The provider gave no usable e-mail, which a new or linked member needs.</summary>
    NoEmail,

    /// <summary>A member has the e-mail, but the provider does not vouch for it, so the identity is not linked to that member.</summary>
    EmailNotVerified,

    /// <summary>The ID token lacks a usable subject or issuer.</summary>
    Invalid,
}

/// <summary>A single sign-on that was refused; <see cref="Exception.Message"/> says why, for the log.</summary>
public sealed class SignInRefusedException(SignInRefusal reason, string message) : Exception(message)
{
    public SignInRefusal Reason { get; } = reason;
}

/// <summary>
/// Finds (or creates) the member of a person signed in at the OpenID Connect provider. A member is
/// found by the link of its provider identity (issuer and subject); a first sign-in links to the
/// member with the same e-mail only when the provider vouches for the e-mail, or creates a member when
/// configured. With role mappings, the provider's groups decide the role at every sign-in.
/// </summary>
public sealed class SingleSignOnService(ChangeRunner changes, IOptions<SingleSignOnOptions> options)
{
    /// <summary>The member to start a session for; throws <see cref="SignInRefusedException"/> when the person may not sign in.</summary>
    public Task<Account> SignInAsync(ExternalIdentity identity, string? address, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var o = options.Value;
        var actor = new Actor { Name = "single sign-on", Address = address };
        var mapped = MappedRole(identity.Groups, o);
        return changes.WriteAsync(actor, async change =>
        {
            var s = change.Session;
            var linkedId = await s.GetExternalLoginAccountAsync(identity.Issuer, identity.Subject).ConfigureAwait(false);
            var account = linkedId is null ? null : await s.GetAccountAsync(linkedId).ConfigureAwait(false);
            if (account is null)
            {
                account = await LinkAsync(change, identity, mapped ?? o.DefaultRole, o).ConfigureAwait(false);
            }

            if (account.DisabledAt is not null)
            {
                throw new SignInRefusedException(SignInRefusal.Disabled, $"{account.Email} is disabled in Flagstaff.");
            }

            // Owners are never changed by the provider: a group edit there must not lock Flagstaff's owner out.
            var role = o.RoleMappings.Count == 0 ? account.Role : mapped ?? o.DefaultRole;
            if (account.Role != Role.Owner && role != account.Role)
            {
                var updated = account with { Role = role, UpdatedAt = change.Now };
                await s.UpdateAccountAsync(updated, account.Version).ConfigureAwait(false);
                updated = updated with { Version = account.Version + 1 };
                await change.AuditAsync("account", account.Email, "updated", ChangeRecorder.ToJson(account, DomainJson.Default.Account), ChangeRecorder.ToJson(updated, DomainJson.Default.Account),
                    comment: $"role {role} from the identity provider's {o.RoleClaim}").ConfigureAwait(false);
                account = updated;
            }

            return account;
        }, cancellationToken);
    }

    private static async Task<Account> LinkAsync(ChangeRecorder change, ExternalIdentity identity, Role role, SingleSignOnOptions o)
    {
        var s = change.Session;
        var email = identity.Email?.Trim();
        if (email is null || email.Length > 254 || !MailAddress.TryCreate(email, out var parsed) || parsed.Address != email)
        {
            throw new SignInRefusedException(SignInRefusal.NoEmail, $"The provider gave no usable e-mail for subject {identity.Subject}; ask for the email scope and claim.");
        }

        var account = (await s.GetCredentialsAsync(email).ConfigureAwait(false))?.Account;
        if (account is not null)
        {
            // Linking by an e-mail the provider did not check would let anyone who can set that e-mail at the provider take the member over.
            if (!o.LinkByEmail || !(identity.EmailVerified || o.TrustEmail))
            {
                throw new SignInRefusedException(SignInRefusal.EmailNotVerified,
                    $"Member {email} exists, but the provider does not say the e-mail is verified (or {SingleSignOnOptions.Section}:LinkByEmail is off), so subject {identity.Subject} is not linked to it.");
            }
        }
        else
        {
            if (!o.CreateMembers)
            {
                throw new SignInRefusedException(SignInRefusal.NotMember, $"No member has the e-mail {email}, and {SingleSignOnOptions.Section}:CreateMembers is off.");
            }

            var name = string.IsNullOrWhiteSpace(identity.Name) ? email[..email.IndexOf('@', StringComparison.Ordinal)] : identity.Name.Trim();
            if (name.Length > Limits.NameLength)
            {
                name = name[..Limits.NameLength];
            }

            account = new Account { Id = Lookups.NewId(), Email = email, Name = name, Role = role, Version = 1, CreatedAt = change.Now, UpdatedAt = change.Now };
            await s.InsertAccountAsync(account, passwordHash: null).ConfigureAwait(false);
            await change.AuditAsync("account", account.Email, "created", null, ChangeRecorder.ToJson(account, DomainJson.Default.Account), comment: "at the first single sign-on").ConfigureAwait(false);
        }

        await s.InsertExternalLoginAsync(identity.Issuer, identity.Subject, account.Id, change.Now).ConfigureAwait(false);
        await change.AuditAsync("account", account.Email, "linked", null, null, comment: $"to {identity.Subject} at {identity.Issuer}").ConfigureAwait(false);
        return account;
    }

    private static Role? MappedRole(IReadOnlyList<string> groups, SingleSignOnOptions o)
    {
        Role? best = null;
        foreach (var group in groups)
        {
            if (o.RoleMappings.TryGetValue(group, out var role) && (best is null || role > best))
            {
                best = role;
            }
        }

        return best;
    }
}
