using Flagstaff.Domain;

namespace Flagstaff.Storage;

public sealed partial class StoreSession
{
    private sealed class AccountRow
    {
        public string Id { get; set; } = "";

        public string Email { get; set; } = "";

        public string Name { get; set; } = "";

        public string Role { get; set; } = "";

        public string? PasswordHash { get; set; }

        public long Version { get; set; }

        public long CreatedAt { get; set; }

        public long UpdatedAt { get; set; }

        public long? DisabledAt { get; set; }

        public Account ToAccount() => new()
        {
            Id = Id,
            Email = Email,
            Name = Name,
            Role = Enum.Parse<Role>(Role, ignoreCase: true),
            Version = Version,
            CreatedAt = At(CreatedAt),
            UpdatedAt = At(UpdatedAt),
            DisabledAt = At(DisabledAt),
        };
    }

    private const string AccountColumns = "id, email, name, role, password_hash, version, created_at, updated_at, disabled_at";

    /// <summary>Lists every account, by e-mail.</summary>
    public async Task<IReadOnlyList<Account>> ListAccountsAsync() =>
        [.. (await QueryAsync<AccountRow>($"SELECT {AccountColumns} FROM accounts ORDER BY email_normalized").ConfigureAwait(false)).Select(r => r.ToAccount())];

    /// <summary>Finds an account by id.</summary>
    public async Task<Account?> GetAccountAsync(string id) =>
        (await QuerySingleAsync<AccountRow>($"SELECT {AccountColumns} FROM accounts WHERE id = @id", new { id }).ConfigureAwait(false))?.ToAccount();

    /// <summary>Finds an account and its password hash by e-mail (case-insensitive).</summary>
    public async Task<AccountCredentials?> GetCredentialsAsync(string email)
    {
        var row = await QuerySingleAsync<AccountRow>($"SELECT {AccountColumns} FROM accounts WHERE email_normalized = @email", new { email = Normalize(email) }).ConfigureAwait(false);
        return row is null ? null : new AccountCredentials(row.ToAccount(), row.PasswordHash);
    }

    private static string Normalize(string email) => email.Trim().ToUpperInvariant();

    /// <summary>Creates an account.</summary>
    public Task InsertAccountAsync(Account account, string? passwordHash) => ExecuteAsync(
        "INSERT INTO accounts (id, email, email_normalized, name, role, password_hash, version, created_at, updated_at, disabled_at) " +
        "VALUES (@Id, @Email, @normalized, @Name, @role, @passwordHash, 1, @created, @created, NULL)",
        new { account.Id, account.Email, normalized = Normalize(account.Email), account.Name, role = RoleName(account.Role), passwordHash, created = Ms(account.CreatedAt) });

    /// <summary>Updates an account's name, role and state, if it is still at <paramref name="expectedVersion"/>.</summary>
    public async Task UpdateAccountAsync(Account account, long expectedVersion) => Expect(await ExecuteAsync(
        "UPDATE accounts SET name = @Name, role = @role, disabled_at = @disabled, updated_at = @updated, version = version + 1 WHERE id = @Id AND version = @expectedVersion",
        new { account.Name, role = RoleName(account.Role), disabled = Ms(account.DisabledAt), updated = Ms(account.UpdatedAt), account.Id, expectedVersion }).ConfigureAwait(false), "The account");

    /// <summary>Sets an account's password hash.</summary>
    public Task SetPasswordAsync(string accountId, string passwordHash) => ExecuteAsync(
        "UPDATE accounts SET password_hash = @passwordHash, version = version + 1 WHERE id = @accountId", new { accountId, passwordHash });

    /// <summary>Deletes an account and its tokens.</summary>
    public Task DeleteAccountAsync(string id) => ExecuteAsync("DELETE FROM accounts WHERE id = @id", new { id });

    private static string RoleName(Role role) => role.ToString().ToLowerInvariant();

    // ----------------------------------------------------------------- sign-in sessions

    /// <summary>Starts a sign-in session (stored by the keyed hash of its id) and removes the account's expired ones.</summary>
    public async Task InsertSessionAsync(string idHash, string accountId, DateTimeOffset createdAt, DateTimeOffset expiresAt)
    {
        await ExecuteAsync("DELETE FROM sessions WHERE account_id = @accountId AND expires_at <= @now", new { accountId, now = Ms(createdAt) }).ConfigureAwait(false);
        await ExecuteAsync(
            "INSERT INTO sessions (id_hash, account_id, created_at, expires_at) VALUES (@idHash, @accountId, @created, @expires)",
            new { idHash, accountId, created = Ms(createdAt), expires = Ms(expiresAt) }).ConfigureAwait(false);
    }

    /// <summary>The account of a session that has not ended at <paramref name="now"/>, or null.</summary>
    public Task<string?> GetSessionAccountAsync(string idHash, DateTimeOffset now) => QuerySingleAsync<string>(
        "SELECT account_id FROM sessions WHERE id_hash = @idHash AND expires_at > @now", new { idHash, now = Ms(now) });

    /// <summary>Ends a session.</summary>
    public Task DeleteSessionAsync(string idHash) => ExecuteAsync("DELETE FROM sessions WHERE id_hash = @idHash", new { idHash });

    /// <summary>Ends every session of an account except <paramref name="keepIdHash"/>; returns how many ended.</summary>
    public Task<int> DeleteSessionsAsync(string accountId, string? keepIdHash = null) => ExecuteAsync(
        "DELETE FROM sessions WHERE account_id = @accountId AND id_hash <> @keep", new { accountId, keep = keepIdHash ?? "" });

    // ----------------------------------------------------------------- external sign-in identities

    /// <summary>The account linked to an identity at an OpenID Connect provider (its issuer and subject), or null.</summary>
    public Task<string?> GetExternalLoginAccountAsync(string issuer, string subject) => QuerySingleAsync<string>(
        "SELECT account_id FROM external_logins WHERE issuer = @issuer AND subject = @subject", new { issuer, subject });

    /// <summary>Links an identity at an OpenID Connect provider to an account; a second link of the same identity is a <see cref="DuplicateKeyException"/>.</summary>
    public Task InsertExternalLoginAsync(string issuer, string subject, string accountId, DateTimeOffset createdAt) => ExecuteAsync(
        "INSERT INTO external_logins (issuer, subject, account_id, created_at) VALUES (@issuer, @subject, @accountId, @created)",
        new { issuer, subject, accountId, created = Ms(createdAt) });

    // ----------------------------------------------------------------- access tokens

    private sealed class AccessTokenRow
    {
        public string Id { get; set; } = "";

        public string AccountId { get; set; } = "";

        public string Name { get; set; } = "";

        public string Prefix { get; set; } = "";

        public long CreatedAt { get; set; }

        public long? LastUsedAt { get; set; }

        public long? ExpiresAt { get; set; }

        public long? RevokedAt { get; set; }

        public AccessToken ToToken() => new()
        {
            Id = Id,
            AccountId = AccountId,
            Name = Name,
            Prefix = Prefix,
            CreatedAt = At(CreatedAt),
            LastUsedAt = At(LastUsedAt),
            ExpiresAt = At(ExpiresAt),
            RevokedAt = At(RevokedAt),
        };
    }

    private const string TokenColumns = "id, account_id, name, prefix, created_at, last_used_at, expires_at, revoked_at";

    /// <summary>Creates a personal access token (only its hash is stored).</summary>
    public Task InsertAccessTokenAsync(AccessToken token, string tokenHash) => ExecuteAsync(
        "INSERT INTO access_tokens (id, account_id, name, token_hash, prefix, created_at, expires_at) VALUES (@Id, @AccountId, @Name, @tokenHash, @Prefix, @created, @expires)",
        new { token.Id, token.AccountId, token.Name, tokenHash, token.Prefix, created = Ms(token.CreatedAt), expires = Ms(token.ExpiresAt) });

    /// <summary>Lists an account's tokens, newest first.</summary>
    public async Task<IReadOnlyList<AccessToken>> ListAccessTokensAsync(string accountId) =>
        [.. (await QueryAsync<AccessTokenRow>($"SELECT {TokenColumns} FROM access_tokens WHERE account_id = @accountId ORDER BY created_at DESC, id", new { accountId }).ConfigureAwait(false)).Select(r => r.ToToken())];

    /// <summary>Finds a token by the hash of its secret.</summary>
    public async Task<AccessToken?> FindAccessTokenAsync(string tokenHash) =>
        (await QuerySingleAsync<AccessTokenRow>($"SELECT {TokenColumns} FROM access_tokens WHERE token_hash = @tokenHash", new { tokenHash }).ConfigureAwait(false))?.ToToken();

    /// <summary>Revokes a token of an account; false when it has no such token.</summary>
    public async Task<bool> RevokeAccessTokenAsync(string accountId, string id, DateTimeOffset at) => await ExecuteAsync(
        "UPDATE access_tokens SET revoked_at = @at WHERE id = @id AND account_id = @accountId AND revoked_at IS NULL", new { id, accountId, at = Ms(at) }).ConfigureAwait(false) > 0;

    /// <summary>Records when a token was last used.</summary>
    public Task TouchAccessTokenAsync(string id, DateTimeOffset at) => ExecuteAsync("UPDATE access_tokens SET last_used_at = @at WHERE id = @id", new { id, at = Ms(at) });
}
