using System.Net.Mail;
using Flagstaff.Domain;
using Flagstaff.Management.Security;
using Flagstaff.Management.Telemetry;
using Flagstaff.Storage;
using Microsoft.AspNetCore.Identity;

namespace Flagstaff.Management.Services;

/// <summary>Members, their passwords and personal access tokens, and the first-start setup.</summary>
public sealed class AccountService(Store store, ChangeRunner changes, Secrets secrets, FlagstaffMetrics metrics)
{
    /// <summary>The setting that holds the hash of the one-time setup token.</summary>
    internal const string SetupTokenSetting = "setup-token-hash";

    public const int MinimumPasswordLength = 10;

    /// <summary>
    /// The account that holds the admin token provisioned from configuration
    /// (<c>Flagstaff:Provisioning:AdminToken</c>, <c>FLAGSTAFF_INIT_ADMIN_TOKEN</c>). It is a principal,
    /// not a member: it does not count as the first account (the setup still creates the human
    /// owner), is not listed among members, and cannot be changed or removed as one.
    /// </summary>
    public const string ProvisioningEmail = "provisioning" + ReservedDomain;

    // .invalid is reserved (RFC 2606), so no member can hold an address in it: refused for members below.
    private const string ReservedDomain = "@flagstaff.invalid";

    /// <summary>Whether an account is a principal made by configuration rather than a member.</summary>
    public static bool IsPrincipal(Account account) =>
        account?.Email.EndsWith(ReservedDomain, StringComparison.OrdinalIgnoreCase) ?? throw new ArgumentNullException(nameof(account));

    /// <summary>Whether any member exists (principals made by configuration are not members).</summary>
    internal static async Task<bool> HasMembersAsync(StoreSession session) =>
        (await session.ListAccountsAsync().ConfigureAwait(false)).Any(a => !IsPrincipal(a));

    private static readonly PasswordHasher<Account> Hasher = new();

    // Verified against when the account does not exist, so that timing does not tell which e-mails exist.
    private static readonly string DummyHash = Hasher.HashPassword(null!, "not a password anyone has");

    private Task<T> WriteAsync<T>(Actor actor, Func<ChangeRecorder, Task<T>> work, CancellationToken cancellationToken) =>
        changes.WriteAsync(actor, work, cancellationToken);

    public Task<bool> IsSetupRequiredAsync(CancellationToken cancellationToken = default) =>
        store.ReadAsync(async s => !await HasMembersAsync(s).ConfigureAwait(false), cancellationToken);

    /// <summary>Creates the first owner with the one-time token printed at start; the token then stops working.</summary>
    public Task<Account> SetupAsync(SetupRequest request, string? address, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var account = NewAccount(request.Email, request.Name, Role.Owner, request.Password, changes.Now, out var hash);
        var actor = new Actor { AccountId = account.Id, Name = account.Name, Address = address };
        return WriteAsync(actor, async change =>
        {
            var s = change.Session;
            if (await HasMembersAsync(s).ConfigureAwait(false))
            {
                throw new ConflictException("Flagstaff is already set up: sign in instead.");
            }

            var expected = await s.GetSettingAsync(SetupTokenSetting).ConfigureAwait(false);
            if (expected is null || string.IsNullOrEmpty(request.Token)
                || !System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                    System.Text.Encoding.UTF8.GetBytes(expected), System.Text.Encoding.UTF8.GetBytes(secrets.Hash(request.Token))))
            {
                throw new ForbiddenException("The setup token is not valid. Use the one the server printed when it started.");
            }

            await s.InsertAccountAsync(account, hash).ConfigureAwait(false);
            await s.DeleteSettingAsync(SetupTokenSetting).ConfigureAwait(false);
            await change.AuditAsync("account", account.Email, "created", null, ChangeRecorder.ToJson(account, DomainJson.Default.Account), comment: "first owner, by setup token").ConfigureAwait(false);
            return account;
        }, cancellationToken);
    }

    /// <summary>Checks a password; returns the account, or null when the e-mail or password is wrong or the account is disabled.</summary>
    public async Task<Account?> VerifyPasswordAsync(string email, string password, CancellationToken cancellationToken = default)
    {
        var account = await store.ReadAsync(async s =>
        {
            var credentials = await s.GetCredentialsAsync(email ?? "").ConfigureAwait(false);
            if (credentials is not { PasswordHash: { } hash } || credentials.Account.DisabledAt is not null)
            {
                Hasher.VerifyHashedPassword(null!, DummyHash, password ?? "");
                return null;
            }

            return Hasher.VerifyHashedPassword(credentials.Account, hash, password ?? "") == PasswordVerificationResult.Failed ? null : credentials.Account;
        }, cancellationToken).ConfigureAwait(false);
        if (account is null)
        {
            metrics.LoginFailed();
        }

        return account;
    }

    public Task<Account?> FindAsync(string id, CancellationToken cancellationToken = default) =>
        store.ReadAsync(s => s.GetAccountAsync(id), cancellationToken);

    /// <summary>The members (not the principals made by configuration).</summary>
    public Task<IReadOnlyList<Account>> ListAsync(CancellationToken cancellationToken = default) =>
        store.ReadAsync(async s => (IReadOnlyList<Account>)[.. (await s.ListAccountsAsync().ConfigureAwait(false)).Where(a => !IsPrincipal(a))], cancellationToken);

    public Task<Account> CreateAsync(CreateMemberRequest request, Actor actor, Role actorRole, CancellationToken cancellationToken = default) =>
        WriteAsync(actor, async change =>
        {
            if (request.Role > actorRole)
            {
                throw new ForbiddenException($"You cannot add a member with a higher role ({request.Role}) than yours ({actorRole}).");
            }

            var account = NewAccount(request.Email, request.Name, request.Role, request.Password, change.Now, out var hash);
            if (await change.Session.GetCredentialsAsync(account.Email).ConfigureAwait(false) is not null)
            {
                throw new ConflictException($"A member with e-mail {account.Email} already exists.");
            }

            await change.Session.InsertAccountAsync(account, hash).ConfigureAwait(false);
            await change.AuditAsync("account", account.Email, "created", null, ChangeRecorder.ToJson(account, DomainJson.Default.Account)).ConfigureAwait(false);
            return account;
        }, cancellationToken);

    public Task<Account> UpdateAsync(string id, UpdateMemberRequest request, long expectedVersion, Actor actor, Role actorRole, CancellationToken cancellationToken = default) =>
        WriteAsync(actor, async change =>
        {
            var s = change.Session;
            var account = await MemberAsync(s, id).ConfigureAwait(false);
            Lookups.CheckVersion(account.Version, expectedVersion, $"Member {account.Email}", account);
            if (account.Role > actorRole || request.Role > actorRole)
            {
                throw new ForbiddenException("You cannot change a member above your role, or give a role above yours.");
            }

            var updated = account with
            {
                Name = request.Name ?? account.Name,
                Role = request.Role ?? account.Role,
                DisabledAt = request.Disabled switch { true => account.DisabledAt ?? change.Now, false => null, null => account.DisabledAt },
                UpdatedAt = change.Now,
            };
            var errors = new ValidationErrors();
            Limits.CheckName(updated.Name, "name", errors);
            errors.ThrowIfAny();
            if (account.Role == Role.Owner && (updated.Role != Role.Owner || updated.DisabledAt is not null))
            {
                var owners = (await s.ListAccountsAsync().ConfigureAwait(false)).Count(a => a.Role == Role.Owner && a.DisabledAt is null);
                if (owners <= 1)
                {
                    throw new ConflictException("This is the last owner: make someone else owner first.", account);
                }
            }

            await s.UpdateAccountAsync(updated, account.Version).ConfigureAwait(false);
            if (updated.DisabledAt is not null)
            {
                await s.DeleteSessionsAsync(account.Id).ConfigureAwait(false);
            }

            updated = updated with { Version = account.Version + 1 };
            await change.AuditAsync("account", account.Email, "updated", ChangeRecorder.ToJson(account, DomainJson.Default.Account), ChangeRecorder.ToJson(updated, DomainJson.Default.Account)).ConfigureAwait(false);
            return updated;
        }, cancellationToken);

    public Task DeleteAsync(string id, Actor actor, Role actorRole, CancellationToken cancellationToken = default) =>
        WriteAsync(actor, async change =>
        {
            var s = change.Session;
            var account = await MemberAsync(s, id).ConfigureAwait(false);
            if (account.Role > actorRole)
            {
                throw new ForbiddenException("You cannot remove a member above your role.");
            }

            if (account.Role == Role.Owner && (await s.ListAccountsAsync().ConfigureAwait(false)).Count(a => a.Role == Role.Owner && a.DisabledAt is null) <= 1)
            {
                throw new ConflictException("This is the last owner: make someone else owner first.", account);
            }

            await s.DeleteAccountAsync(account.Id).ConfigureAwait(false);
            await change.AuditAsync("account", account.Email, "deleted", ChangeRecorder.ToJson(account, DomainJson.Default.Account), null).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    /// <summary>Changes a member's password and ends every session of theirs but <paramref name="keepSession"/> (the one changing it).</summary>
    public Task ChangePasswordAsync(string accountId, ChangePasswordRequest request, Actor actor, string? keepSession, CancellationToken cancellationToken = default) =>
        WriteAsync(actor, async change =>
        {
            var account = await change.Session.GetAccountAsync(accountId).ConfigureAwait(false) ?? throw new NotFoundException("There is no such member.");
            var credentials = await change.Session.GetCredentialsAsync(account.Email).ConfigureAwait(false);
            if (credentials?.PasswordHash is not { } hash || Hasher.VerifyHashedPassword(account, hash, request.CurrentPassword ?? "") == PasswordVerificationResult.Failed)
            {
                throw new DomainValidationException("currentPassword", "is not your current password");
            }

            CheckPassword(request.NewPassword, "newPassword");
            await change.Session.SetPasswordAsync(account.Id, Hasher.HashPassword(account, request.NewPassword)).ConfigureAwait(false);
            await change.Session.DeleteSessionsAsync(account.Id, keepSession is null ? null : secrets.Hash(keepSession)).ConfigureAwait(false);
            await change.AuditAsync("account", account.Email, "password-changed", null, null).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    public Task<IReadOnlyList<AccessToken>> ListTokensAsync(string accountId, CancellationToken cancellationToken = default) =>
        store.ReadAsync(s => s.ListAccessTokensAsync(accountId), cancellationToken);

    public Task<CreatedToken> CreateTokenAsync(string accountId, CreateTokenRequest request, Actor actor, CancellationToken cancellationToken = default) =>
        WriteAsync(actor, async change =>
        {
            var errors = new ValidationErrors();
            Limits.CheckName(request.Name, "name", errors);
            if (request.ExpiresAt is { } expires && expires <= change.Now)
            {
                errors.Add("expiresAt", "must be in the future");
            }

            errors.ThrowIfAny();
            var secret = Secrets.NewAccessToken();
            var token = new AccessToken
            {
                Id = Lookups.NewId(),
                AccountId = accountId,
                Name = request.Name,
                Prefix = Secrets.PrefixOf(secret),
                CreatedAt = change.Now,
                ExpiresAt = request.ExpiresAt,
            };
            await change.Session.InsertAccessTokenAsync(token, secrets.Hash(secret)).ConfigureAwait(false);
            await change.AuditAsync("access-token", token.Name, "created", null, ChangeRecorder.ToJson(token, DomainJson.Default.AccessToken)).ConfigureAwait(false);
            return new CreatedToken(token, secret);
        }, cancellationToken);

    public Task RevokeTokenAsync(string accountId, string tokenId, Actor actor, CancellationToken cancellationToken = default) =>
        WriteAsync(actor, async change =>
        {
            if (!await change.Session.RevokeAccessTokenAsync(accountId, tokenId, change.Now).ConfigureAwait(false))
            {
                throw new NotFoundException($"You have no active token {tokenId}.");
            }

            await change.AuditAsync("access-token", tokenId, "revoked", null, null).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    // The provisioning principal is no member: changing it is a matter of configuration.
    private static async Task<Account> MemberAsync(StoreSession session, string id) =>
        await session.GetAccountAsync(id).ConfigureAwait(false) is { } account && !IsPrincipal(account)
            ? account
            : throw new NotFoundException($"There is no member {id}.");

    internal static Account NewAccount(string email, string name, Role role, string password, DateTimeOffset now, out string hash)
    {
        var errors = new ValidationErrors();
        if (string.IsNullOrWhiteSpace(email) || email.Length > 254 || !MailAddress.TryCreate(email.Trim(), out var parsed) || parsed.Address != email.Trim())
        {
            errors.Add("email", "is not an e-mail address");
        }
        else if (email.Trim().EndsWith(ReservedDomain, StringComparison.OrdinalIgnoreCase))
        {
            errors.Add("email", $"addresses ending in {ReservedDomain} are reserved for accounts made by configuration");
        }

        Limits.CheckName(name, "name", errors);
        if (password is null || password.Length < MinimumPasswordLength)
        {
            errors.Add("password", $"must be at least {MinimumPasswordLength} characters");
        }
        else if (password.Length > 200)
        {
            errors.Add("password", "must be at most 200 characters");
        }

        errors.ThrowIfAny();
        var account = new Account { Id = Lookups.NewId(), Email = email.Trim(), Name = name.Trim(), Role = role, Version = 1, CreatedAt = now, UpdatedAt = now };
        hash = Hasher.HashPassword(account, password!);
        return account;
    }

    private static void CheckPassword(string? password, string field)
    {
        if (password is null || password.Length < MinimumPasswordLength || password.Length > 200)
        {
            throw new DomainValidationException(field, $"must be {MinimumPasswordLength} to 200 characters");
        }
    }
}
