using System.Globalization;
using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Dapper;
using Flagstaff.Domain;

namespace Flagstaff.Storage;

/// <summary>A page of results and the total number that matched.</summary>
/// <typeparam name="T">The item type.</typeparam>
/// <param name="Items">This page's items.</param>
/// <param name="Total">How many items matched in all.</param>
public sealed record Page<T>(IReadOnlyList<T> Items, long Total);

/// <summary>What to list of a project's flags.</summary>
public sealed record FlagQuery
{
    /// <summary>Text found in the key, name or description (case-insensitive).</summary>
    public string? Search { get; init; }

    /// <summary>Only flags with this tag.</summary>
    public string? Tag { get; init; }

    /// <summary>Only flags of this kind.</summary>
    public FlagKind? Kind { get; init; }

    /// <summary>True: archived flags only; false: active flags only; null: both.</summary>
    public bool? Archived { get; init; } = false;

    /// <summary>How many to skip.</summary>
    public int Offset { get; init; }

    /// <summary>How many to return at most.</summary>
    public int Limit { get; init; } = 50;
}

/// <summary>Which of a project's context properties to list.</summary>
public sealed record PropertyQuery
{
    /// <summary>Text found in the key, name or description (case-insensitive).</summary>
    public string? Search { get; init; }

    /// <summary>True: only those learned from reports; false: only those defined by hand; null: both.</summary>
    public bool? Learned { get; init; }

    /// <summary>Only these keys (null: any).</summary>
    public IReadOnlyList<string>? Keys { get; init; }

    /// <summary>How many to skip.</summary>
    public int Offset { get; init; }

    /// <summary>How many to return at most.</summary>
    public int Limit { get; init; } = 100;
}

/// <summary>Which audit entries to list, newest first.</summary>
public sealed record AuditQuery
{
    /// <summary>Only this project's.</summary>
    public string? ProjectId { get; init; }

    /// <summary>Only this flag's.</summary>
    public string? FlagId { get; init; }

    /// <summary>Only this environment's.</summary>
    public string? EnvironmentId { get; init; }

    /// <summary>Only this account's.</summary>
    public string? ActorId { get; init; }

    /// <summary>Only entries at or after this instant.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Only entries before this instant.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>Only entries older than this id (the next page after an entry).</summary>
    public long? BeforeId { get; init; }

    /// <summary>How many to return at most.</summary>
    public int Limit { get; init; } = 50;
}

/// <summary>Evaluations of one flag that returned one value, for one client, in one minute.</summary>
public sealed record UsageCount
{
    /// <summary>The environment.</summary>
    public required string EnvironmentId { get; init; }

    /// <summary>The flag.</summary>
    public required string FlagKey { get; init; }

    /// <summary>Minutes since the Unix epoch.</summary>
    public long Minute { get; init; }

    /// <summary>The value returned, as JSON text.</summary>
    public required string Value { get; init; }

    /// <summary>The SDK client that reported it ("" when unnamed).</summary>
    public string Client { get; init; } = "";

    /// <summary>How many evaluations.</summary>
    public long Count { get; init; }
}

/// <summary>The measurements of one migration flag, stage and operation in one 10-second window of an environment.</summary>
public sealed record MigrationWindow
{
    /// <summary>The environment.</summary>
    public required string EnvironmentId { get; init; }

    /// <summary>The flag's key.</summary>
    public required string FlagKey { get; init; }

    /// <summary>The window's start in Unix seconds (a multiple of 10).</summary>
    public long WindowStart { get; init; }

    /// <summary>The stage the calls ran at.</summary>
    public required string Stage { get; init; }

    /// <summary><c>read</c> or <c>write</c>.</summary>
    public required string Operation { get; init; }

    /// <summary>Calls to the old side.</summary>
    public long OldInvoked { get; init; }

    /// <summary>Calls to the old side that threw.</summary>
    public long OldErrors { get; init; }

    /// <summary>Calls to the new side.</summary>
    public long NewInvoked { get; init; }

    /// <summary>Calls to the new side that threw.</summary>
    public long NewErrors { get; init; }

    /// <summary>Reads whose two results were compared.</summary>
    public long Compared { get; init; }

    /// <summary>Compared reads whose results differed.</summary>
    public long Inconsistent { get; init; }

    /// <summary>Non-authoritative writes that failed.</summary>
    public long FailedWrites { get; init; }
}

/// <summary>One bucket of a latency histogram of a migration window (bucket i: up to 10 µs × 1.25^i).</summary>
public sealed record MigrationLatency
{
    /// <summary>The environment.</summary>
    public required string EnvironmentId { get; init; }

    /// <summary>The flag's key.</summary>
    public required string FlagKey { get; init; }

    /// <summary>The window's start in Unix seconds.</summary>
    public long WindowStart { get; init; }

    /// <summary>The stage.</summary>
    public required string Stage { get; init; }

    /// <summary><c>read</c> or <c>write</c>.</summary>
    public required string Operation { get; init; }

    /// <summary><c>old</c> or <c>new</c>.</summary>
    public required string Side { get; init; }

    /// <summary>The bucket (0 to 79).</summary>
    public int Bucket { get; init; }

    /// <summary>Calls in the bucket.</summary>
    public long Count { get; init; }
}

/// <summary>An account with its password hash, for signing in.</summary>
/// <param name="Account">The account.</param>
/// <param name="PasswordHash">The hash, or null when no password was ever set.</param>
public sealed record AccountCredentials(Account Account, string? PasswordHash);

/// <summary>A change to an environment's compiled configuration.</summary>
/// <param name="EnvironmentId">The environment.</param>
/// <param name="Version">Its configuration version after the change.</param>
/// <param name="Changed">The keys of the flags that changed (added, updated or removed).</param>
/// <param name="At">When.</param>
public sealed record ConfigChange(string EnvironmentId, long Version, IReadOnlyList<string> Changed, DateTimeOffset At);

/// <summary>
/// One unit of work against the store: reads, and (inside <see cref="Store.WriteAsync{T}"/>) writes
/// in one transaction. All SQL is shared by SQLite and PostgreSQL.
/// </summary>
public sealed partial class StoreSession
{
    private readonly DbConnection _connection;
    private readonly DbTransaction? _transaction;
    private readonly CancellationToken _cancellationToken;
    private List<Action>? _afterCommit;

    static StoreSession()
    {
        DefaultTypeMap.MatchNamesWithUnderscores = true;
    }

    internal StoreSession(Store store, DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        Store = store;
        _connection = connection;
        _transaction = transaction;
        _cancellationToken = cancellationToken;
    }

    /// <summary>The store this session belongs to.</summary>
    public Store Store { get; }

    /// <summary>Channel of notifications that an environment's configuration changed ("environmentId:version").</summary>
    public const string ConfigChannel = "flagstaff_config";

    /// <summary>Channel of notifications that API keys changed (the payload is a revoked key's id, or empty).</summary>
    public const string KeysChannel = "flagstaff_keys";

    /// <summary>Notifies the other server nodes when this transaction commits.</summary>
    public Task NotifyAsync(string channel, string payload) => Store.Dialect.NotifyAsync(_connection, _transaction, channel, payload, _cancellationToken);

    /// <summary>Registers an action to run once this session's transaction has committed.</summary>
    public void AfterCommit(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        (_afterCommit ??= []).Add(action);
    }

    internal void RunAfterCommit()
    {
        foreach (var action in _afterCommit ?? [])
        {
            action();
        }
    }

    private static long Ms(DateTimeOffset at) => at.ToUnixTimeMilliseconds();

    private static long? Ms(DateTimeOffset? at) => at?.ToUnixTimeMilliseconds();

    private static DateTimeOffset At(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private static DateTimeOffset? At(long? ms) => ms is { } value ? DateTimeOffset.FromUnixTimeMilliseconds(value) : null;

    private static string Json<T>(T value, JsonTypeInfo<T> info) => JsonSerializer.Serialize(value, info);

    private static T FromJson<T>(string json, JsonTypeInfo<T> info) => JsonSerializer.Deserialize(json, info)!;

    private CommandDefinition Command(string sql, object? parameters = null) =>
        new(sql, parameters, _transaction, cancellationToken: _cancellationToken);

    private Task<int> ExecuteAsync(string sql, object? parameters = null) => _connection.ExecuteAsync(Command(sql, parameters));

    private async Task<List<T>> QueryAsync<T>(string sql, object? parameters = null) =>
        [.. await _connection.QueryAsync<T>(Command(sql, parameters)).ConfigureAwait(false)];

    private Task<T?> QuerySingleAsync<T>(string sql, object? parameters = null) =>
        _connection.QuerySingleOrDefaultAsync<T>(Command(sql, parameters));

    private Task<T?> ScalarAsync<T>(string sql, object? parameters = null) => _connection.ExecuteScalarAsync<T>(Command(sql, parameters));

    private static void Expect(int rows, string what)
    {
        if (rows == 0)
        {
            throw new ConcurrencyConflictException($"{what} was changed by someone else (or removed) since it was read.");
        }
    }

    // ----------------------------------------------------------------- settings

    /// <summary>Reads a server setting.</summary>
    public Task<string?> GetSettingAsync(string key) => QuerySingleAsync<string>("SELECT value FROM settings WHERE key = @key", new { key });

    /// <summary>Sets a server setting.</summary>
    public Task SetSettingAsync(string key, string value) => ExecuteAsync(
        "INSERT INTO settings (key, value) VALUES (@key, @value) ON CONFLICT (key) DO UPDATE SET value = excluded.value", new { key, value });

    /// <summary>Sets a server setting unless it is set, and returns the value in force.</summary>
    public async Task<string> GetOrAddSettingAsync(string key, string value)
    {
        await ExecuteAsync("INSERT INTO settings (key, value) VALUES (@key, @value) ON CONFLICT (key) DO NOTHING", new { key, value }).ConfigureAwait(false);
        return (await GetSettingAsync(key).ConfigureAwait(false))!;
    }

    /// <summary>Deletes a server setting.</summary>
    public Task DeleteSettingAsync(string key) => ExecuteAsync("DELETE FROM settings WHERE key = @key", new { key });

    // ----------------------------------------------------------------- accounts

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

    // ----------------------------------------------------------------- projects

    private sealed class ProjectRow
    {
        public string Id { get; set; } = "";

        public string Key { get; set; } = "";

        public string Name { get; set; } = "";

        public string? Description { get; set; }

        public string StickinessProperty { get; set; } = "";

        public long Version { get; set; }

        public long CreatedAt { get; set; }

        public long UpdatedAt { get; set; }

        public long? ArchivedAt { get; set; }

        public Project ToProject() => new()
        {
            Id = Id,
            Key = Key,
            Name = Name,
            Description = Description,
            StickinessProperty = StickinessProperty,
            Version = Version,
            CreatedAt = At(CreatedAt),
            UpdatedAt = At(UpdatedAt),
            ArchivedAt = At(ArchivedAt),
        };
    }

    private const string ProjectColumns = "id, key, name, description, stickiness_property, version, created_at, updated_at, archived_at";

    /// <summary>Lists projects by name (archived ones only when asked).</summary>
    public async Task<IReadOnlyList<Project>> ListProjectsAsync(bool includeArchived = false) =>
        [.. (await QueryAsync<ProjectRow>($"SELECT {ProjectColumns} FROM projects {(includeArchived ? "" : "WHERE archived_at IS NULL")} ORDER BY name, key").ConfigureAwait(false)).Select(r => r.ToProject())];

    /// <summary>Finds a project by key.</summary>
    public async Task<Project?> GetProjectAsync(string key) =>
        (await QuerySingleAsync<ProjectRow>($"SELECT {ProjectColumns} FROM projects WHERE key = @key", new { key }).ConfigureAwait(false))?.ToProject();

    /// <summary>Finds a project by id.</summary>
    public async Task<Project?> GetProjectByIdAsync(string id) =>
        (await QuerySingleAsync<ProjectRow>($"SELECT {ProjectColumns} FROM projects WHERE id = @id", new { id }).ConfigureAwait(false))?.ToProject();

    /// <summary>Creates a project.</summary>
    public Task InsertProjectAsync(Project project) => ExecuteAsync(
        $"INSERT INTO projects ({ProjectColumns}) VALUES (@Id, @Key, @Name, @Description, @StickinessProperty, 1, @created, @created, NULL)",
        new { project.Id, project.Key, project.Name, project.Description, project.StickinessProperty, created = Ms(project.CreatedAt) });

    /// <summary>Updates a project if it is still at <paramref name="expectedVersion"/>.</summary>
    public async Task UpdateProjectAsync(Project project, long expectedVersion) => Expect(await ExecuteAsync(
        "UPDATE projects SET name = @Name, description = @Description, stickiness_property = @StickinessProperty, archived_at = @archived, updated_at = @updated, version = version + 1 WHERE id = @Id AND version = @expectedVersion",
        new { project.Name, project.Description, project.StickinessProperty, archived = Ms(project.ArchivedAt), updated = Ms(project.UpdatedAt), project.Id, expectedVersion }).ConfigureAwait(false), $"Project \"{project.Key}\"");

    /// <summary>Deletes a project and everything in it.</summary>
    public Task DeleteProjectAsync(string id) => ExecuteAsync("DELETE FROM projects WHERE id = @id", new { id });

    // ----------------------------------------------------------------- environments

    private sealed class EnvironmentRow
    {
        public string Id { get; set; } = "";

        public string ProjectId { get; set; } = "";

        public string Key { get; set; } = "";

        public string Name { get; set; } = "";

        public string Color { get; set; } = "";

        public long Position { get; set; }

        public long Critical { get; set; }

        public long Version { get; set; }

        public long ConfigVersion { get; set; }

        public long CreatedAt { get; set; }

        public long UpdatedAt { get; set; }

        public ProjectEnvironment ToEnvironment() => new()
        {
            Id = Id,
            ProjectId = ProjectId,
            Key = Key,
            Name = Name,
            Color = Color,
            Position = (int)Position,
            Critical = Critical != 0,
            Version = Version,
            ConfigVersion = ConfigVersion,
            CreatedAt = At(CreatedAt),
            UpdatedAt = At(UpdatedAt),
        };
    }

    private const string EnvironmentColumns = "id, project_id, key, name, color, position, critical, version, config_version, created_at, updated_at";

    /// <summary>Lists a project's environments in display order.</summary>
    public async Task<IReadOnlyList<ProjectEnvironment>> ListEnvironmentsAsync(string projectId) =>
        [.. (await QueryAsync<EnvironmentRow>($"SELECT {EnvironmentColumns} FROM environments WHERE project_id = @projectId ORDER BY position, key", new { projectId }).ConfigureAwait(false)).Select(r => r.ToEnvironment())];

    /// <summary>Lists every environment of every project.</summary>
    public async Task<IReadOnlyList<ProjectEnvironment>> ListAllEnvironmentsAsync() =>
        [.. (await QueryAsync<EnvironmentRow>($"SELECT {EnvironmentColumns} FROM environments ORDER BY project_id, position").ConfigureAwait(false)).Select(r => r.ToEnvironment())];

    /// <summary>Finds an environment of a project by key.</summary>
    public async Task<ProjectEnvironment?> GetEnvironmentAsync(string projectId, string key) =>
        (await QuerySingleAsync<EnvironmentRow>($"SELECT {EnvironmentColumns} FROM environments WHERE project_id = @projectId AND key = @key", new { projectId, key }).ConfigureAwait(false))?.ToEnvironment();

    /// <summary>Finds an environment by id.</summary>
    public async Task<ProjectEnvironment?> GetEnvironmentByIdAsync(string id) =>
        (await QuerySingleAsync<EnvironmentRow>($"SELECT {EnvironmentColumns} FROM environments WHERE id = @id", new { id }).ConfigureAwait(false))?.ToEnvironment();

    /// <summary>Creates an environment.</summary>
    public Task InsertEnvironmentAsync(ProjectEnvironment environment) => ExecuteAsync(
        $"INSERT INTO environments ({EnvironmentColumns}) VALUES (@Id, @ProjectId, @Key, @Name, @Color, @Position, @critical, 1, 0, @created, @created)",
        new { environment.Id, environment.ProjectId, environment.Key, environment.Name, environment.Color, environment.Position, critical = environment.Critical ? 1 : 0, created = Ms(environment.CreatedAt) });

    /// <summary>Updates an environment if it is still at <paramref name="expectedVersion"/>.</summary>
    public async Task UpdateEnvironmentAsync(ProjectEnvironment environment, long expectedVersion) => Expect(await ExecuteAsync(
        "UPDATE environments SET name = @Name, color = @Color, position = @Position, critical = @critical, updated_at = @updated, version = version + 1 WHERE id = @Id AND version = @expectedVersion",
        new { environment.Name, environment.Color, environment.Position, critical = environment.Critical ? 1 : 0, updated = Ms(environment.UpdatedAt), environment.Id, expectedVersion }).ConfigureAwait(false), $"Environment \"{environment.Key}\"");

    /// <summary>Deletes an environment with its targeting and keys.</summary>
    public Task DeleteEnvironmentAsync(string id) => ExecuteAsync("DELETE FROM environments WHERE id = @id", new { id });

    /// <summary>
    /// Records that flags of an environment's compiled configuration changed: increments its
    /// configuration version and keeps the list (for streams that resume), in this transaction.
    /// </summary>
    public async Task<ConfigChange> RecordConfigChangeAsync(string environmentId, IReadOnlyList<string> changedFlagKeys, DateTimeOffset at)
    {
        long version = (await ScalarAsync<long>(
            "UPDATE environments SET config_version = config_version + 1 WHERE id = @environmentId RETURNING config_version", new { environmentId }).ConfigureAwait(false));
        await ExecuteAsync("INSERT INTO config_changes (environment_id, version, changed, at) VALUES (@environmentId, @version, @changed, @at)",
            new { environmentId, version, changed = Json(changedFlagKeys, DomainJson.Default.IReadOnlyListString), at = Ms(at) }).ConfigureAwait(false);
        return new ConfigChange(environmentId, version, changedFlagKeys, at);
    }

    private sealed class ConfigChangeRow
    {
        public string EnvironmentId { get; set; } = "";

        public long Version { get; set; }

        public string Changed { get; set; } = "[]";

        public long At { get; set; }
    }

    /// <summary>Lists an environment's configuration changes after a version, oldest first.</summary>
    public async Task<IReadOnlyList<ConfigChange>> ListConfigChangesAsync(string environmentId, long afterVersion) =>
        [.. (await QueryAsync<ConfigChangeRow>("SELECT environment_id, version, changed, at FROM config_changes WHERE environment_id = @environmentId AND version > @afterVersion ORDER BY version",
            new { environmentId, afterVersion }).ConfigureAwait(false))
            .Select(r => new ConfigChange(r.EnvironmentId, r.Version, FromJson(r.Changed, DomainJson.Default.IReadOnlyListString), At(r.At)))];

    /// <summary>Deletes configuration changes older than an instant (keeping each environment's history bounded).</summary>
    public Task PruneConfigChangesAsync(DateTimeOffset olderThan) => ExecuteAsync("DELETE FROM config_changes WHERE at < @at", new { at = Ms(olderThan) });

    // ----------------------------------------------------------------- flags

    private sealed class FlagRow
    {
        public string Id { get; set; } = "";

        public string ProjectId { get; set; } = "";

        public string Key { get; set; } = "";

        public string Name { get; set; } = "";

        public string? Description { get; set; }

        public string Kind { get; set; } = "";

        public string ValueType { get; set; } = "";

        public string Tags { get; set; } = "[]";

        public string Variations { get; set; } = "[]";

        public long Seed { get; set; }

        public long Version { get; set; }

        public long Revision { get; set; }

        public long CreatedAt { get; set; }

        public long UpdatedAt { get; set; }

        public long? ArchivedAt { get; set; }

        public string? Migration { get; set; }

        public Flag ToFlag() => new()
        {
            Id = Id,
            ProjectId = ProjectId,
            Key = Key,
            Name = Name,
            Description = Description,
            Kind = ParseEnum(Kind, DomainJson.Default.FlagKind),
            ValueType = ParseEnum(ValueType, DomainJson.Default.FlagValueType),
            Tags = FromJson(Tags, DomainJson.Default.IReadOnlyListString),
            Variations = FromJson(Variations, DomainJson.Default.IReadOnlyListVariation),
            Migration = Migration is null ? null : FromJson(Migration, DomainJson.Default.MigrationSettings),
            Seed = (uint)Seed,
            Version = Version,
            Revision = Revision,
            CreatedAt = At(CreatedAt),
            UpdatedAt = At(UpdatedAt),
            ArchivedAt = At(ArchivedAt),
        };
    }

    // Enums are stored as their JSON names ("kill-switch"), the same text the API shows.
    private static string EnumName<T>(T value, JsonTypeInfo<T> info) => JsonSerializer.Serialize(value, info).Trim('"');

    private static T ParseEnum<T>(string name, JsonTypeInfo<T> info) => JsonSerializer.Deserialize("\"" + name + "\"", info)!;

    private const string FlagColumns = "id, project_id, key, name, description, kind, value_type, tags, variations, seed, version, revision, created_at, updated_at, archived_at, migration";

    /// <summary>Lists a project's flags by key, filtered and paged.</summary>
    public async Task<Page<Flag>> ListFlagsAsync(string projectId, FlagQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var where = new List<string> { "project_id = @projectId" };
        if (!string.IsNullOrWhiteSpace(query.Search))
        {
            where.Add("(lower(key) LIKE @search ESCAPE '\\' OR lower(name) LIKE @search ESCAPE '\\' OR lower(coalesce(description, '')) LIKE @search ESCAPE '\\')");
        }

        if (query.Tag is not null)
        {
            where.Add("tags LIKE @tag ESCAPE '\\'");
        }

        if (query.Kind is not null)
        {
            where.Add("kind = @kind");
        }

        if (query.Archived is bool archived)
        {
            where.Add(archived ? "archived_at IS NOT NULL" : "archived_at IS NULL");
        }

        var parameters = new
        {
            projectId,
            search = "%" + EscapeLike(query.Search?.Trim().ToLowerInvariant() ?? "") + "%",
            tag = "%" + EscapeLike(JsonSerializer.Serialize(query.Tag ?? "", DomainJson.Default.String)) + "%",
            kind = query.Kind is { } k ? EnumName(k, DomainJson.Default.FlagKind) : null,
            offset = query.Offset,
            limit = query.Limit,
        };
        string filter = string.Join(" AND ", where);
        long total = await ScalarAsync<long>($"SELECT COUNT(*) FROM flags WHERE {filter}", parameters).ConfigureAwait(false);
        var rows = await QueryAsync<FlagRow>($"SELECT {FlagColumns} FROM flags WHERE {filter} ORDER BY key LIMIT @limit OFFSET @offset", parameters).ConfigureAwait(false);
        return new Page<Flag>([.. rows.Select(r => r.ToFlag())], total);
    }

    private static string EscapeLike(string text) => text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);

    /// <summary>Lists every flag of a project (archived included).</summary>
    public async Task<IReadOnlyList<Flag>> ListAllFlagsAsync(string projectId) =>
        [.. (await QueryAsync<FlagRow>($"SELECT {FlagColumns} FROM flags WHERE project_id = @projectId ORDER BY key", new { projectId }).ConfigureAwait(false)).Select(r => r.ToFlag())];

    /// <summary>Finds a flag of a project by key.</summary>
    public async Task<Flag?> GetFlagAsync(string projectId, string key) =>
        (await QuerySingleAsync<FlagRow>($"SELECT {FlagColumns} FROM flags WHERE project_id = @projectId AND key = @key", new { projectId, key }).ConfigureAwait(false))?.ToFlag();

    /// <summary>Finds a flag by id.</summary>
    public async Task<Flag?> GetFlagByIdAsync(string id) =>
        (await QuerySingleAsync<FlagRow>($"SELECT {FlagColumns} FROM flags WHERE id = @id", new { id }).ConfigureAwait(false))?.ToFlag();

    /// <summary>Creates a flag (at version 1, revision 1).</summary>
    public Task InsertFlagAsync(Flag flag) => ExecuteAsync(
        $"INSERT INTO flags ({FlagColumns}) VALUES (@Id, @ProjectId, @Key, @Name, @Description, @kind, @valueType, @tags, @variations, @seed, 1, 1, @created, @created, @archived, @migration)",
        new
        {
            flag.Id, flag.ProjectId, flag.Key, flag.Name, flag.Description,
            kind = EnumName(flag.Kind, DomainJson.Default.FlagKind),
            valueType = EnumName(flag.ValueType, DomainJson.Default.FlagValueType),
            tags = Json(flag.Tags, DomainJson.Default.IReadOnlyListString),
            variations = Json(flag.Variations, DomainJson.Default.IReadOnlyListVariation),
            seed = (long)flag.Seed,
            created = Ms(flag.CreatedAt),
            archived = Ms(flag.ArchivedAt),
            migration = MigrationJson(flag.Migration),
        });

    private static string? MigrationJson(MigrationSettings? settings) => settings is null ? null : Json(settings, DomainJson.Default.MigrationSettings);

    /// <summary>
    /// Updates a flag's settings if they are still at <paramref name="expectedVersion"/>; the version and
    /// the revision both go up.
    /// </summary>
    public async Task UpdateFlagAsync(Flag flag, long expectedVersion) => Expect(await ExecuteAsync(
        "UPDATE flags SET name = @Name, description = @Description, kind = @kind, value_type = @valueType, tags = @tags, variations = @variations, archived_at = @archived, migration = @migration, " +
        "updated_at = @updated, version = version + 1, revision = revision + 1 WHERE id = @Id AND version = @expectedVersion",
        new
        {
            flag.Name, flag.Description,
            kind = EnumName(flag.Kind, DomainJson.Default.FlagKind),
            valueType = EnumName(flag.ValueType, DomainJson.Default.FlagValueType),
            tags = Json(flag.Tags, DomainJson.Default.IReadOnlyListString),
            variations = Json(flag.Variations, DomainJson.Default.IReadOnlyListVariation),
            archived = Ms(flag.ArchivedAt),
            migration = MigrationJson(flag.Migration),
            updated = Ms(flag.UpdatedAt),
            flag.Id,
            expectedVersion,
        }).ConfigureAwait(false), $"Flag \"{flag.Key}\"");

    /// <summary>Increments a flag's revision (its targeting changed somewhere) and returns the new one.</summary>
    public async Task<long> BumpFlagRevisionAsync(string flagId, DateTimeOffset at) =>
        await ScalarAsync<long>("UPDATE flags SET revision = revision + 1, updated_at = @at WHERE id = @flagId RETURNING revision", new { flagId, at = Ms(at) }).ConfigureAwait(false);

    /// <summary>Deletes a flag with its targeting.</summary>
    public Task DeleteFlagAsync(string id) => ExecuteAsync("DELETE FROM flags WHERE id = @id", new { id });

    // ----------------------------------------------------------------- targeting

    private sealed class TargetingRow
    {
        public string FlagId { get; set; } = "";

        public string EnvironmentId { get; set; } = "";

        public long Enabled { get; set; }

        public string Rules { get; set; } = "[]";

        public string DefaultServe { get; set; } = "{}";

        public long Version { get; set; }

        public long UpdatedAt { get; set; }

        public Targeting ToTargeting() => new()
        {
            FlagId = FlagId,
            EnvironmentId = EnvironmentId,
            Enabled = Enabled != 0,
            Rules = FromJson(Rules, DomainJson.Default.IReadOnlyListTargetingRule),
            DefaultServe = FromJson(DefaultServe, DomainJson.Default.Serve),
            Version = Version,
            UpdatedAt = At(UpdatedAt),
        };
    }

    private const string TargetingColumns = "flag_id, environment_id, enabled, rules, default_serve, version, updated_at";

    /// <summary>Finds a flag's targeting in an environment.</summary>
    public async Task<Targeting?> GetTargetingAsync(string flagId, string environmentId) =>
        (await QuerySingleAsync<TargetingRow>($"SELECT {TargetingColumns} FROM targetings WHERE flag_id = @flagId AND environment_id = @environmentId", new { flagId, environmentId }).ConfigureAwait(false))?.ToTargeting();

    /// <summary>Lists a flag's targeting in every environment.</summary>
    public async Task<IReadOnlyList<Targeting>> ListTargetingsOfFlagAsync(string flagId) =>
        [.. (await QueryAsync<TargetingRow>($"SELECT {TargetingColumns} FROM targetings WHERE flag_id = @flagId", new { flagId }).ConfigureAwait(false)).Select(r => r.ToTargeting())];

    /// <summary>Lists every flag's targeting in an environment.</summary>
    public async Task<IReadOnlyList<Targeting>> ListTargetingsOfEnvironmentAsync(string environmentId) =>
        [.. (await QueryAsync<TargetingRow>($"SELECT {TargetingColumns} FROM targetings WHERE environment_id = @environmentId", new { environmentId }).ConfigureAwait(false)).Select(r => r.ToTargeting())];

    /// <summary>Lists every targeting of a project's flags.</summary>
    public async Task<IReadOnlyList<Targeting>> ListTargetingsOfProjectAsync(string projectId) =>
        [.. (await QueryAsync<TargetingRow>(
            "SELECT t.flag_id, t.environment_id, t.enabled, t.rules, t.default_serve, t.version, t.updated_at FROM targetings t JOIN flags f ON f.id = t.flag_id WHERE f.project_id = @projectId",
            new { projectId }).ConfigureAwait(false)).Select(r => r.ToTargeting())];

    /// <summary>The targetings of some flags in every environment (a page of the flag list).</summary>
    public async Task<IReadOnlyList<Targeting>> ListTargetingsOfFlagsAsync(IReadOnlyList<string> flagIds)
    {
        ArgumentNullException.ThrowIfNull(flagIds);
        if (flagIds.Count == 0)
        {
            return [];
        }

        // One parameter per id: the same SQL on both databases (a page has at most a few hundred).
        var parameters = new DynamicParameters();
        for (int i = 0; i < flagIds.Count; i++)
        {
            parameters.Add("id" + i.ToString(CultureInfo.InvariantCulture), flagIds[i]);
        }

        var list = string.Join(", ", Enumerable.Range(0, flagIds.Count).Select(i => "@id" + i.ToString(CultureInfo.InvariantCulture)));
        return [.. (await QueryAsync<TargetingRow>(
            $"SELECT flag_id, environment_id, enabled, rules, default_serve, version, updated_at FROM targetings WHERE flag_id IN ({list})",
            parameters).ConfigureAwait(false)).Select(r => r.ToTargeting())];
    }

    /// <summary>Creates a flag's targeting in an environment.</summary>
    public Task InsertTargetingAsync(Targeting targeting) => ExecuteAsync(
        $"INSERT INTO targetings ({TargetingColumns}) VALUES (@FlagId, @EnvironmentId, @enabled, @rules, @defaultServe, 1, @updated)",
        new
        {
            targeting.FlagId, targeting.EnvironmentId,
            enabled = targeting.Enabled ? 1 : 0,
            rules = Json(targeting.Rules, DomainJson.Default.IReadOnlyListTargetingRule),
            defaultServe = Json(targeting.DefaultServe, DomainJson.Default.Serve),
            updated = Ms(targeting.UpdatedAt),
        });

    /// <summary>Updates a targeting if it is still at <paramref name="expectedVersion"/>.</summary>
    public async Task UpdateTargetingAsync(Targeting targeting, long expectedVersion) => Expect(await ExecuteAsync(
        "UPDATE targetings SET enabled = @enabled, rules = @rules, default_serve = @defaultServe, updated_at = @updated, version = version + 1 " +
        "WHERE flag_id = @FlagId AND environment_id = @EnvironmentId AND version = @expectedVersion",
        new
        {
            enabled = targeting.Enabled ? 1 : 0,
            rules = Json(targeting.Rules, DomainJson.Default.IReadOnlyListTargetingRule),
            defaultServe = Json(targeting.DefaultServe, DomainJson.Default.Serve),
            updated = Ms(targeting.UpdatedAt),
            targeting.FlagId,
            targeting.EnvironmentId,
            expectedVersion,
        }).ConfigureAwait(false), "The targeting");

    // ----------------------------------------------------------------- segments

    private sealed class SegmentRow
    {
        public string Id { get; set; } = "";

        public string ProjectId { get; set; } = "";

        public string Key { get; set; } = "";

        public string Name { get; set; } = "";

        public string? Description { get; set; }

        public string Clauses { get; set; } = "[]";

        public string? IdProperty { get; set; }

        public string Ids { get; set; } = "[]";

        public long Version { get; set; }

        public long CreatedAt { get; set; }

        public long UpdatedAt { get; set; }

        public Segment ToSegment() => new()
        {
            Id = Id,
            ProjectId = ProjectId,
            Key = Key,
            Name = Name,
            Description = Description,
            Clauses = FromJson(Clauses, DomainJson.Default.IReadOnlyListClause),
            IdProperty = IdProperty,
            Ids = FromJson(Ids, DomainJson.Default.IReadOnlyListString),
            Version = Version,
            CreatedAt = At(CreatedAt),
            UpdatedAt = At(UpdatedAt),
        };
    }

    private const string SegmentColumns = "id, project_id, key, name, description, clauses, id_property, ids, version, created_at, updated_at";

    /// <summary>Lists a project's segments by key.</summary>
    public async Task<IReadOnlyList<Segment>> ListSegmentsAsync(string projectId) =>
        [.. (await QueryAsync<SegmentRow>($"SELECT {SegmentColumns} FROM segments WHERE project_id = @projectId ORDER BY key", new { projectId }).ConfigureAwait(false)).Select(r => r.ToSegment())];

    /// <summary>A project's segments by key (what the compiler inlines and validation checks against).</summary>
    public async Task<IReadOnlyDictionary<string, Segment>> SegmentsByKeyAsync(Project project) =>
        (await ListSegmentsAsync(project.Id).ConfigureAwait(false)).ToDictionary(s => s.Key, StringComparer.Ordinal);

    /// <summary>Finds a segment of a project by key.</summary>
    public async Task<Segment?> GetSegmentAsync(string projectId, string key) =>
        (await QuerySingleAsync<SegmentRow>($"SELECT {SegmentColumns} FROM segments WHERE project_id = @projectId AND key = @key", new { projectId, key }).ConfigureAwait(false))?.ToSegment();

    /// <summary>Creates a segment.</summary>
    public Task InsertSegmentAsync(Segment segment) => ExecuteAsync(
        $"INSERT INTO segments ({SegmentColumns}) VALUES (@Id, @ProjectId, @Key, @Name, @Description, @clauses, @IdProperty, @ids, 1, @created, @created)",
        new
        {
            segment.Id, segment.ProjectId, segment.Key, segment.Name, segment.Description,
            clauses = Json(segment.Clauses, DomainJson.Default.IReadOnlyListClause),
            segment.IdProperty,
            ids = Json(segment.Ids, DomainJson.Default.IReadOnlyListString),
            created = Ms(segment.CreatedAt),
        });

    /// <summary>Updates a segment if it is still at <paramref name="expectedVersion"/>.</summary>
    public async Task UpdateSegmentAsync(Segment segment, long expectedVersion) => Expect(await ExecuteAsync(
        "UPDATE segments SET name = @Name, description = @Description, clauses = @clauses, id_property = @IdProperty, ids = @ids, updated_at = @updated, version = version + 1 " +
        "WHERE id = @Id AND version = @expectedVersion",
        new
        {
            segment.Name, segment.Description,
            clauses = Json(segment.Clauses, DomainJson.Default.IReadOnlyListClause),
            segment.IdProperty,
            ids = Json(segment.Ids, DomainJson.Default.IReadOnlyListString),
            updated = Ms(segment.UpdatedAt),
            segment.Id,
            expectedVersion,
        }).ConfigureAwait(false), $"Segment \"{segment.Key}\"");

    /// <summary>Deletes a segment.</summary>
    public Task DeleteSegmentAsync(string id) => ExecuteAsync("DELETE FROM segments WHERE id = @id", new { id });

    // ----------------------------------------------------------------- context properties

    private sealed class ContextPropertyRow
    {
        public string Id { get; set; } = "";

        public string ProjectId { get; set; } = "";

        public string Key { get; set; } = "";

        public string Name { get; set; } = "";

        public string? Description { get; set; }

        public string Type { get; set; } = "";

        public string Options { get; set; } = "[]";

        public long Hidden { get; set; }

        public long Version { get; set; }

        public long CreatedAt { get; set; }

        public long UpdatedAt { get; set; }

        public long? FirstSeen { get; set; }

        public long? LastSeen { get; set; }

        public long Learned { get; set; }

        public ContextProperty ToProperty() => new()
        {
            Id = Id,
            ProjectId = ProjectId,
            Key = Key,
            Name = Name,
            Description = Description,
            Type = ParseEnum(Type, DomainJson.Default.PropertyType),
            Options = FromJson(Options, DomainJson.Default.IReadOnlyListString),
            Hidden = Hidden != 0,
            Version = Version,
            CreatedAt = At(CreatedAt),
            UpdatedAt = At(UpdatedAt),
            FirstSeen = At(FirstSeen),
            LastSeen = At(LastSeen),
            Learned = Learned != 0,
        };
    }

    private const string PropertyColumns = "id, project_id, key, name, description, type, options, hidden, version, created_at, updated_at, first_seen, last_seen, learned";

    /// <summary>Lists a project's context properties by key.</summary>
    public async Task<IReadOnlyList<ContextProperty>> ListContextPropertiesAsync(string projectId) =>
        [.. (await QueryAsync<ContextPropertyRow>($"SELECT {PropertyColumns} FROM context_properties WHERE project_id = @projectId ORDER BY key", new { projectId }).ConfigureAwait(false)).Select(r => r.ToProperty())];

    /// <summary>A page of a project's context properties by key, with how many match.</summary>
    public async Task<Page<ContextProperty>> ListContextPropertiesAsync(string projectId, PropertyQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var (filter, parameters) = PropertyFilter(projectId, query);
        long total = await ScalarAsync<long>($"SELECT COUNT(*) FROM context_properties WHERE {filter}", parameters).ConfigureAwait(false);
        parameters.Add("limit", query.Limit);
        parameters.Add("offset", query.Offset);
        var rows = await QueryAsync<ContextPropertyRow>(
            $"SELECT {PropertyColumns} FROM context_properties WHERE {filter} ORDER BY key LIMIT @limit OFFSET @offset", parameters).ConfigureAwait(false);
        return new Page<ContextProperty>([.. rows.Select(r => r.ToProperty())], total);
    }

    /// <summary>Every context property of a project that matches a query (its offset and limit ignored), by key.</summary>
    public async Task<IReadOnlyList<ContextProperty>> FindContextPropertiesAsync(string projectId, PropertyQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var (filter, parameters) = PropertyFilter(projectId, query);
        return [.. (await QueryAsync<ContextPropertyRow>($"SELECT {PropertyColumns} FROM context_properties WHERE {filter} ORDER BY key", parameters).ConfigureAwait(false)).Select(r => r.ToProperty())];
    }

    private static (string Filter, DynamicParameters Parameters) PropertyFilter(string projectId, PropertyQuery query)
    {
        var where = new List<string> { "project_id = @projectId" };
        var parameters = new DynamicParameters();
        parameters.Add("projectId", projectId);
        if (!string.IsNullOrWhiteSpace(query.Search))
        {
            where.Add("(lower(key) LIKE @search ESCAPE '\\' OR lower(name) LIKE @search ESCAPE '\\' OR lower(coalesce(description, '')) LIKE @search ESCAPE '\\')");
            parameters.Add("search", "%" + EscapeLike(query.Search.Trim().ToLowerInvariant()) + "%");
        }

        if (query.Learned is bool learned)
        {
            where.Add(learned ? "learned = 1" : "learned = 0");
        }

        if (query.Keys is { } keys)
        {
            // Named parameters one by one: Dapper hands a list to Npgsql as one array, which IN does not take.
            where.Add(keys.Count == 0 ? "1 = 0" : "key IN (" + string.Join(", ", keys.Select((_, i) => "@key" + i.ToString(CultureInfo.InvariantCulture))) + ")");
            for (int i = 0; i < keys.Count; i++)
            {
                parameters.Add("key" + i.ToString(CultureInfo.InvariantCulture), keys[i]);
            }
        }

        return (string.Join(" AND ", where), parameters);
    }

    /// <summary>Finds a context property of a project by key.</summary>
    public async Task<ContextProperty?> GetContextPropertyAsync(string projectId, string key) =>
        (await QuerySingleAsync<ContextPropertyRow>($"SELECT {PropertyColumns} FROM context_properties WHERE project_id = @projectId AND key = @key", new { projectId, key }).ConfigureAwait(false))?.ToProperty();

    /// <summary>Creates a context property.</summary>
    public Task InsertContextPropertyAsync(ContextProperty property) => ExecuteAsync(
        $"INSERT INTO context_properties ({PropertyColumns}) VALUES (@Id, @ProjectId, @Key, @Name, @Description, @type, @options, @hidden, 1, @created, @created, NULL, NULL, 0)",
        new
        {
            property.Id, property.ProjectId, property.Key, property.Name, property.Description,
            type = EnumName(property.Type, DomainJson.Default.PropertyType),
            options = Json(property.Options, DomainJson.Default.IReadOnlyListString),
            hidden = property.Hidden ? 1 : 0,
            created = Ms(property.CreatedAt),
        });

    /// <summary>
    /// Updates a context property if it is still at <paramref name="expectedVersion"/>. A property
    /// learned from reports that a person changes is theirs from then on: it no longer counts as learned.
    /// </summary>
    public async Task UpdateContextPropertyAsync(ContextProperty property, long expectedVersion) => Expect(await ExecuteAsync(
        "UPDATE context_properties SET name = @Name, description = @Description, type = @type, options = @options, hidden = @hidden, updated_at = @updated, version = version + 1, learned = 0 " +
        "WHERE id = @Id AND version = @expectedVersion",
        new
        {
            property.Name, property.Description,
            type = EnumName(property.Type, DomainJson.Default.PropertyType),
            options = Json(property.Options, DomainJson.Default.IReadOnlyListString),
            hidden = property.Hidden ? 1 : 0,
            updated = Ms(property.UpdatedAt),
            property.Id,
            expectedVersion,
        }).ConfigureAwait(false), $"Context property \"{property.Key}\"");

    /// <summary>Deletes a context property, and the values remembered for it.</summary>
    public async Task DeleteContextPropertyAsync(ContextProperty property)
    {
        ArgumentNullException.ThrowIfNull(property);
        await ExecuteAsync("DELETE FROM context_values WHERE project_id = @ProjectId AND property = @Key", new { property.ProjectId, property.Key }).ConfigureAwait(false);
        await ExecuteAsync("DELETE FROM context_properties WHERE id = @Id", new { property.Id }).ConfigureAwait(false);
    }

    // ----------------------------------------------------------------- usage

    /// <summary>Adds evaluation counts (summed with what is stored for the same minute, value and client).</summary>
    public async Task AddUsageAsync(IEnumerable<UsageCount> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        foreach (var c in counts)
        {
            await ExecuteAsync(
                "INSERT INTO usage_counts (environment_id, flag_key, minute, value, client, count) VALUES (@EnvironmentId, @FlagKey, @Minute, @Value, @Client, @Count) " +
                "ON CONFLICT (environment_id, flag_key, minute, value, client) DO UPDATE SET count = usage_counts.count + excluded.count",
                c).ConfigureAwait(false);
        }
    }

    /// <summary>Evaluation counts of a flag per minute and value (all clients summed), oldest first.</summary>
    public async Task<IReadOnlyList<UsageCount>> ListUsageAsync(string environmentId, string flagKey, long fromMinute, long toMinute) =>
        await QueryAsync<UsageCount>(
            "SELECT environment_id, flag_key, minute, value, '' AS client, CAST(SUM(count) AS BIGINT) AS count FROM usage_counts " +
            "WHERE environment_id = @environmentId AND flag_key = @flagKey AND minute >= @fromMinute AND minute < @toMinute GROUP BY environment_id, flag_key, minute, value ORDER BY minute, value",
            new { environmentId, flagKey, fromMinute, toMinute }).ConfigureAwait(false);

    /// <summary>The last minute each flag of an environment was evaluated, by flag key (flags with no usage are absent).</summary>
    /// <remarks>
    /// One index seek per flag of the project (the greatest minute under the key's prefix of the usage
    /// primary key), not a scan of the environment's usage rows: with 30 days of per-minute counts those
    /// are millions (with 1.7 million rows for 200 flags: 0.8 ms instead of 193 ms on SQLite, 0.3–0.8 ms
    /// instead of 181–194 ms on PostgreSQL).
    /// </remarks>
    public async Task<IReadOnlyDictionary<string, long>> LastEvaluatedAsync(string environmentId) =>
        (await QueryAsync<(string FlagKey, long? Minute)>(
            "SELECT f.key, (SELECT MAX(u.minute) FROM usage_counts u WHERE u.environment_id = @environmentId AND u.flag_key = f.key) " +
            "FROM flags f JOIN environments e ON e.project_id = f.project_id WHERE e.id = @environmentId", new { environmentId }).ConfigureAwait(false))
        .Where(r => r.Minute is not null)
        .ToDictionary(r => r.FlagKey, r => r.Minute!.Value, StringComparer.Ordinal);

    /// <summary>The last minute a flag was evaluated in an environment, if it has usage.</summary>
    public Task<long?> LastEvaluatedAsync(string environmentId, string flagKey) =>
        QuerySingleAsync<long?>("SELECT MAX(minute) FROM usage_counts WHERE environment_id = @environmentId AND flag_key = @flagKey", new { environmentId, flagKey });

    /// <summary>Deletes usage older than a minute.</summary>
    public Task PruneUsageAsync(long beforeMinute) => ExecuteAsync("DELETE FROM usage_counts WHERE minute < @beforeMinute", new { beforeMinute });

    // ----------------------------------------------------------------- migration measurements

    /// <summary>Adds migration measurements (summed with what is stored for the same window).</summary>
    public async Task AddMigrationWindowsAsync(IEnumerable<MigrationWindow> windows, IEnumerable<MigrationLatency> latency)
    {
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentNullException.ThrowIfNull(latency);
        foreach (var w in windows)
        {
            await ExecuteAsync(
                "INSERT INTO migration_windows (environment_id, flag_key, window_start, stage, operation, old_invoked, old_errors, new_invoked, new_errors, compared, inconsistent, failed_writes) " +
                "VALUES (@EnvironmentId, @FlagKey, @WindowStart, @Stage, @Operation, @OldInvoked, @OldErrors, @NewInvoked, @NewErrors, @Compared, @Inconsistent, @FailedWrites) " +
                "ON CONFLICT (environment_id, flag_key, window_start, stage, operation) DO UPDATE SET " +
                "old_invoked = migration_windows.old_invoked + excluded.old_invoked, old_errors = migration_windows.old_errors + excluded.old_errors, " +
                "new_invoked = migration_windows.new_invoked + excluded.new_invoked, new_errors = migration_windows.new_errors + excluded.new_errors, " +
                "compared = migration_windows.compared + excluded.compared, inconsistent = migration_windows.inconsistent + excluded.inconsistent, " +
                "failed_writes = migration_windows.failed_writes + excluded.failed_writes",
                w).ConfigureAwait(false);
        }

        foreach (var l in latency)
        {
            await ExecuteAsync(
                "INSERT INTO migration_latency (environment_id, flag_key, window_start, stage, operation, side, bucket, count) " +
                "VALUES (@EnvironmentId, @FlagKey, @WindowStart, @Stage, @Operation, @Side, @Bucket, @Count) " +
                "ON CONFLICT (environment_id, flag_key, window_start, stage, operation, side, bucket) DO UPDATE SET count = migration_latency.count + excluded.count",
                l).ConfigureAwait(false);
        }
    }

    /// <summary>A flag's migration windows from one window start (inclusive) to another (exclusive), oldest first.</summary>
    public async Task<IReadOnlyList<MigrationWindow>> ListMigrationWindowsAsync(string environmentId, string flagKey, long fromStart, long toStart) =>
        await QueryAsync<MigrationWindow>(
            "SELECT environment_id, flag_key, window_start, stage, operation, old_invoked, old_errors, new_invoked, new_errors, compared, inconsistent, failed_writes FROM migration_windows " +
            "WHERE environment_id = @environmentId AND flag_key = @flagKey AND window_start >= @fromStart AND window_start < @toStart ORDER BY window_start, stage, operation",
            new { environmentId, flagKey, fromStart, toStart }).ConfigureAwait(false);

    /// <summary>A flag's latency buckets over the same windows.</summary>
    public async Task<IReadOnlyList<MigrationLatency>> ListMigrationLatencyAsync(string environmentId, string flagKey, long fromStart, long toStart) =>
        await QueryAsync<MigrationLatency>(
            "SELECT environment_id, flag_key, window_start, stage, operation, side, bucket, count FROM migration_latency " +
            "WHERE environment_id = @environmentId AND flag_key = @flagKey AND window_start >= @fromStart AND window_start < @toStart ORDER BY window_start, side, bucket",
            new { environmentId, flagKey, fromStart, toStart }).ConfigureAwait(false);

    /// <summary>The environments and flags with migration measurements since a window start.</summary>
    public async Task<IReadOnlyList<(string EnvironmentId, string FlagKey)>> ListMeasuredMigrationsAsync(long sinceStart) =>
        await QueryAsync<(string, string)>(
            "SELECT DISTINCT environment_id, flag_key FROM migration_windows WHERE window_start >= @sinceStart ORDER BY environment_id, flag_key", new { sinceStart }).ConfigureAwait(false);

    /// <summary>Deletes migration measurements of windows that start before an instant (Unix seconds).</summary>
    public async Task PruneMigrationWindowsAsync(long beforeStart)
    {
        await ExecuteAsync("DELETE FROM migration_windows WHERE window_start < @beforeStart", new { beforeStart }).ConfigureAwait(false);
        await ExecuteAsync("DELETE FROM migration_latency WHERE window_start < @beforeStart", new { beforeStart }).ConfigureAwait(false);
    }

    /// <summary>The latest change to a flag in an environment made by a system actor (such as the guard).</summary>
    public async Task<AuditEntry?> LastSystemChangeAsync(string flagId, string environmentId, string actorName) =>
        (await QuerySingleAsync<AuditRow>(
            $"SELECT {AuditColumns} FROM audit_log WHERE flag_id = @flagId AND environment_id = @environmentId AND actor_id IS NULL AND actor_name = @actorName ORDER BY id DESC LIMIT 1",
            new { flagId, environmentId, actorName }).ConfigureAwait(false))?.ToEntry();

    // ----------------------------------------------------------------- what usage reports add
    //
    // The usage recorder applies the limits on what reports add; these are its steps. It counts what
    // is stored, then fills up to the limit, inside LockForReportsAsync so that nodes sharing the
    // database cannot both fill the last places.

    /// <summary>Serialises the writing of usage reports with the other server nodes until the transaction ends.</summary>
    public Task LockForReportsAsync() => Store.Dialect.LockForReportsAsync(_connection, _transaction!, _cancellationToken);

    /// <summary>The keys of a project's context properties, each with whether it was learned from reports.</summary>
    public async Task<Dictionary<string, bool>> ListCatalogueKeysAsync(string projectId) =>
        (await QueryAsync<(string Key, long Learned)>("SELECT key, learned FROM context_properties WHERE project_id = @projectId", new { projectId }).ConfigureAwait(false))
        .ToDictionary(r => r.Key, r => r.Learned != 0, StringComparer.Ordinal);

    /// <summary>Widens a known property's first and last sighting; false when the project has no such property.</summary>
    public async Task<bool> SeeContextPropertyAsync(string projectId, string key, DateTimeOffset first, DateTimeOffset last) => await ExecuteAsync(
        "UPDATE context_properties SET " +
        "first_seen = CASE WHEN first_seen IS NULL OR @first < first_seen THEN @first ELSE first_seen END, " +
        "last_seen = CASE WHEN last_seen IS NULL OR @last > last_seen THEN @last ELSE last_seen END " +
        "WHERE project_id = @projectId AND key = @key",
        new { projectId, key, first = Ms(first), last = Ms(last) }).ConfigureAwait(false) > 0;

    /// <summary>Adds a property a report named to the catalogue, as learned text (until someone sets its type); false if it exists.</summary>
    public async Task<bool> LearnContextPropertyAsync(string projectId, string key, DateTimeOffset first, DateTimeOffset last, DateTimeOffset now) => await ExecuteAsync(
        $"INSERT INTO context_properties ({PropertyColumns}) VALUES (@id, @projectId, @key, @key, NULL, 'STRING', '[]', 0, 1, @now, @now, @first, @last, 1) " +
        "ON CONFLICT (project_id, key) DO NOTHING",
        new { id = Guid.CreateVersion7().ToString("N"), projectId, key, now = Ms(now), first = Ms(first), last = Ms(last) }).ConfigureAwait(false) > 0;

    /// <summary>How many values are remembered for a property.</summary>
    public async Task<long> CountContextValuesAsync(string projectId, string property) =>
        await ScalarAsync<long>("SELECT COUNT(*) FROM context_values WHERE project_id = @projectId AND property = @property", new { projectId, property }).ConfigureAwait(false);

    /// <summary>Records a new sighting of a remembered value (and its label, if given); false when it is not remembered.</summary>
    public async Task<bool> SeeContextValueAsync(string projectId, string property, string value, string? label, DateTimeOffset now) => await ExecuteAsync(
        "UPDATE context_values SET label = coalesce(@label, label), last_seen = @now WHERE project_id = @projectId AND property = @property AND value = @value",
        new { projectId, property, value, label, now = Ms(now) }).ConfigureAwait(false) > 0;

    /// <summary>Remembers a value seen for a property, with its label.</summary>
    public Task LearnContextValueAsync(string projectId, string property, string value, string? label, DateTimeOffset now) => ExecuteAsync(
        "INSERT INTO context_values (project_id, property, value, label, last_seen) VALUES (@projectId, @property, @value, @label, @now) " +
        "ON CONFLICT (project_id, property, value) DO NOTHING",
        new { projectId, property, value, label, now = Ms(now) });

    /// <summary>How many (value, client) series a flag has in an environment's minute.</summary>
    public async Task<long> CountUsageSeriesAsync(string environmentId, string flagKey, long minute) =>
        await ScalarAsync<long>("SELECT COUNT(*) FROM usage_counts WHERE environment_id = @environmentId AND flag_key = @flagKey AND minute = @minute", new { environmentId, flagKey, minute }).ConfigureAwait(false);

    /// <summary>Adds to an existing series' count; false when the series is not stored yet.</summary>
    public async Task<bool> AddToUsageSeriesAsync(UsageCount count) => await ExecuteAsync(
        "UPDATE usage_counts SET count = count + @Count WHERE environment_id = @EnvironmentId AND flag_key = @FlagKey AND minute = @Minute AND value = @Value AND client = @Client",
        count).ConfigureAwait(false) > 0;

    /// <summary>Adds to the counts of what reports carried past a limit, per reason.</summary>
    public async Task AddReportDropsAsync(string projectId, IEnumerable<KeyValuePair<string, long>> drops, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(drops);
        foreach (var (reason, count) in drops)
        {
            await ExecuteAsync(
                "INSERT INTO report_drops (project_id, reason, count, last_at) VALUES (@projectId, @reason, @count, @now) " +
                "ON CONFLICT (project_id, reason) DO UPDATE SET count = report_drops.count + excluded.count, last_at = excluded.last_at",
                new { projectId, reason, count, now = Ms(now) }).ConfigureAwait(false);
        }
    }

    /// <summary>What reports to a project carried past a limit, per reason: how much, and when last.</summary>
    public async Task<IReadOnlyList<(string Reason, long Count, DateTimeOffset LastAt)>> ListReportDropsAsync(string projectId) =>
        [.. (await QueryAsync<(string Reason, long Count, long LastAt)>("SELECT reason, count, last_at FROM report_drops WHERE project_id = @projectId ORDER BY reason", new { projectId }).ConfigureAwait(false))
            .Select(r => (r.Reason, r.Count, At(r.LastAt)))];

    /// <summary>The values seen for a project's context properties, most recent first, at most <paramref name="perProperty"/> each.</summary>
    public async Task<IReadOnlyList<(string Property, string Value, string? Label)>> ListContextValuesAsync(string projectId, int perProperty)
    {
        var rows = await QueryAsync<(string Property, string Value, string? Label, long LastSeen)>(
            "SELECT property, value, label, last_seen FROM context_values WHERE project_id = @projectId ORDER BY property, last_seen DESC, value", new { projectId }).ConfigureAwait(false);
        return [.. rows.GroupBy(r => r.Property).SelectMany(g => g.Take(perProperty)).Select(r => (r.Property, r.Value, r.Label))];
    }

    // ----------------------------------------------------------------- API keys

    private sealed class ApiKeyRow
    {
        public string Id { get; set; } = "";

        public string ProjectId { get; set; } = "";

        public string EnvironmentId { get; set; } = "";

        public string Name { get; set; } = "";

        public string Kind { get; set; } = "";

        public string Prefix { get; set; } = "";

        public long CreatedAt { get; set; }

        public string? CreatedBy { get; set; }

        public long? LastUsedAt { get; set; }

        public long? RevokedAt { get; set; }

        public string KeyHash { get; set; } = "";

        public ApiKey ToKey() => new()
        {
            Id = Id,
            ProjectId = ProjectId,
            EnvironmentId = EnvironmentId,
            Name = Name,
            Kind = ParseEnum(Kind, DomainJson.Default.ApiKeyKind),
            Prefix = Prefix,
            CreatedAt = At(CreatedAt),
            CreatedBy = CreatedBy,
            LastUsedAt = At(LastUsedAt),
            RevokedAt = At(RevokedAt),
        };
    }

    private const string ApiKeyColumns = "id, project_id, environment_id, name, kind, prefix, created_at, created_by, last_used_at, revoked_at, key_hash";

    /// <summary>Creates an API key (only its hash is stored).</summary>
    public Task InsertApiKeyAsync(ApiKey key, string keyHash) => ExecuteAsync(
        $"INSERT INTO api_keys ({ApiKeyColumns}) VALUES (@Id, @ProjectId, @EnvironmentId, @Name, @kind, @Prefix, @created, @CreatedBy, NULL, NULL, @keyHash)",
        new { key.Id, key.ProjectId, key.EnvironmentId, key.Name, kind = EnumName(key.Kind, DomainJson.Default.ApiKeyKind), key.Prefix, created = Ms(key.CreatedAt), key.CreatedBy, keyHash });

    /// <summary>Lists an environment's keys, newest first.</summary>
    public async Task<IReadOnlyList<ApiKey>> ListApiKeysAsync(string environmentId) =>
        [.. (await QueryAsync<ApiKeyRow>($"SELECT {ApiKeyColumns} FROM api_keys WHERE environment_id = @environmentId ORDER BY created_at DESC, id", new { environmentId }).ConfigureAwait(false)).Select(r => r.ToKey())];

    /// <summary>Lists every key that is not revoked, with its hash (to authenticate requests from memory).</summary>
    public async Task<IReadOnlyList<(ApiKey Key, string Hash)>> ListActiveApiKeysAsync() =>
        [.. (await QueryAsync<ApiKeyRow>($"SELECT {ApiKeyColumns} FROM api_keys WHERE revoked_at IS NULL").ConfigureAwait(false)).Select(r => (r.ToKey(), r.KeyHash))];

    /// <summary>Finds a key by the hash of its secret.</summary>
    public async Task<ApiKey?> FindApiKeyAsync(string keyHash) =>
        (await QuerySingleAsync<ApiKeyRow>($"SELECT {ApiKeyColumns} FROM api_keys WHERE key_hash = @keyHash", new { keyHash }).ConfigureAwait(false))?.ToKey();

    /// <summary>Finds a key of an environment by id.</summary>
    public async Task<ApiKey?> GetApiKeyAsync(string environmentId, string id) =>
        (await QuerySingleAsync<ApiKeyRow>($"SELECT {ApiKeyColumns} FROM api_keys WHERE environment_id = @environmentId AND id = @id", new { environmentId, id }).ConfigureAwait(false))?.ToKey();

    /// <summary>Revokes a key; false when it was already revoked.</summary>
    public async Task<bool> RevokeApiKeyAsync(string id, DateTimeOffset at) =>
        await ExecuteAsync("UPDATE api_keys SET revoked_at = @at WHERE id = @id AND revoked_at IS NULL", new { id, at = Ms(at) }).ConfigureAwait(false) > 0;

    /// <summary>Records when keys were last used.</summary>
    public async Task TouchApiKeysAsync(IReadOnlyCollection<string> ids, DateTimeOffset at)
    {
        foreach (var id in ids)
        {
            await ExecuteAsync("UPDATE api_keys SET last_used_at = @at WHERE id = @id", new { id, at = Ms(at) }).ConfigureAwait(false);
        }
    }

    // ----------------------------------------------------------------- audit log

    private sealed class AuditRow
    {
        public long Id { get; set; }

        public long At { get; set; }

        public string? ActorId { get; set; }

        public string ActorName { get; set; } = "";

        public string? ActorAddress { get; set; }

        public string? ProjectId { get; set; }

        public string? EnvironmentId { get; set; }

        public string? FlagId { get; set; }

        public string ResourceType { get; set; } = "";

        public string ResourceKey { get; set; } = "";

        public string Action { get; set; } = "";

        public long? Revision { get; set; }

        public string? BeforeState { get; set; }

        public string? AfterState { get; set; }

        public string? Comment { get; set; }

        public AuditEntry ToEntry() => new()
        {
            Id = Id,
            At = StoreSession.At(At),
            Actor = new Actor { AccountId = ActorId, Name = ActorName, Address = ActorAddress },
            ProjectId = ProjectId,
            EnvironmentId = EnvironmentId,
            FlagId = FlagId,
            ResourceType = ResourceType,
            ResourceKey = ResourceKey,
            Action = Action,
            Revision = Revision,
            Before = Parse(BeforeState),
            After = Parse(AfterState),
            Comment = Comment,
        };

        private static JsonElement? Parse(string? json)
        {
            if (json is null)
            {
                return null;
            }

            using var document = JsonDocument.Parse(json);
            return document.RootElement.Clone();
        }
    }

    private const string AuditColumns = "id, at, actor_id, actor_name, actor_address, project_id, environment_id, flag_id, resource_type, resource_key, action, revision, before_state, after_state, comment";

    /// <summary>Appends an entry to the audit log, in this transaction.</summary>
    public Task AppendAuditAsync(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return ExecuteAsync(
            "INSERT INTO audit_log (at, actor_id, actor_name, actor_address, project_id, environment_id, flag_id, resource_type, resource_key, action, revision, before_state, after_state, comment) " +
            "VALUES (@at, @actorId, @actorName, @actorAddress, @ProjectId, @EnvironmentId, @FlagId, @ResourceType, @ResourceKey, @Action, @Revision, @before, @after, @Comment)",
            new
            {
                at = Ms(entry.At),
                actorId = entry.Actor.AccountId,
                actorName = entry.Actor.Name,
                actorAddress = entry.Actor.Address,
                entry.ProjectId,
                entry.EnvironmentId,
                entry.FlagId,
                entry.ResourceType,
                entry.ResourceKey,
                entry.Action,
                entry.Revision,
                before = entry.Before?.GetRawText(),
                after = entry.After?.GetRawText(),
                entry.Comment,
            });
    }

    /// <summary>Lists audit entries, newest first.</summary>
    public async Task<IReadOnlyList<AuditEntry>> ListAuditAsync(AuditQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var where = new List<string>();
        if (query.ProjectId is not null)
        {
            where.Add("project_id = @ProjectId");
        }

        if (query.FlagId is not null)
        {
            where.Add("flag_id = @FlagId");
        }

        if (query.EnvironmentId is not null)
        {
            where.Add("environment_id = @EnvironmentId");
        }

        if (query.ActorId is not null)
        {
            where.Add("actor_id = @ActorId");
        }

        if (query.From is not null)
        {
            where.Add("at >= @from");
        }

        if (query.To is not null)
        {
            where.Add("at < @to");
        }

        if (query.BeforeId is not null)
        {
            where.Add("id < @BeforeId");
        }

        string filter = where.Count == 0 ? "" : "WHERE " + string.Join(" AND ", where);
        var rows = await QueryAsync<AuditRow>($"SELECT {AuditColumns} FROM audit_log {filter} ORDER BY id DESC LIMIT @Limit", new
        {
            query.ProjectId,
            query.FlagId,
            query.EnvironmentId,
            query.ActorId,
            from = Ms(query.From),
            to = Ms(query.To),
            query.BeforeId,
            query.Limit,
        }).ConfigureAwait(false);
        return [.. rows.Select(r => r.ToEntry())];
    }

    /// <summary>Finds the audit entry that produced a flag's revision.</summary>
    public async Task<AuditEntry?> GetFlagRevisionAsync(string flagId, long revision) =>
        (await QuerySingleAsync<AuditRow>($"SELECT {AuditColumns} FROM audit_log WHERE flag_id = @flagId AND revision = @revision", new { flagId, revision }).ConfigureAwait(false))?.ToEntry();

    // ----------------------------------------------------------------- data protection keys

    /// <summary>Lists the stored data-protection key documents.</summary>
    public async Task<IReadOnlyList<string>> ListDataProtectionKeysAsync() =>
        await QueryAsync<string>("SELECT xml FROM data_protection_keys ORDER BY created_at").ConfigureAwait(false);

    /// <summary>Replaces a stored data-protection key document (to re-encrypt it).</summary>
    public Task UpdateDataProtectionKeyAsync(string id, string xml) =>
        ExecuteAsync("UPDATE data_protection_keys SET xml = @xml WHERE id = @id", new { id, xml });

    /// <summary>Lists the stored data-protection key documents with their ids.</summary>
    public async Task<IReadOnlyList<(string Id, string Xml)>> ListDataProtectionKeyRowsAsync() =>
        [.. (await QueryAsync<(string, string)>("SELECT id, xml FROM data_protection_keys ORDER BY created_at").ConfigureAwait(false))];

    /// <summary>Stores a data-protection key document.</summary>
    public Task InsertDataProtectionKeyAsync(string id, string xml, DateTimeOffset at) =>
        ExecuteAsync("INSERT INTO data_protection_keys (id, xml, created_at) VALUES (@id, @xml, @at) ON CONFLICT (id) DO NOTHING", new { id, xml, at = Ms(at) });
}
