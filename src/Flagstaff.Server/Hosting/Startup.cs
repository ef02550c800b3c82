using System.Security.Cryptography;
using System.Text.Json;
using Flagstaff.Domain;
using Flagstaff.Server.Security;
using Flagstaff.Server.Services;
using Flagstaff.Storage;
using Microsoft.Extensions.Options;

namespace Flagstaff.Server.Hosting;

/// <summary>
/// What runs once before the server takes requests: the schema, the secret key, the first account (or
/// the setup token to create it), and provisioning from configuration.
/// </summary>
public static partial class Startup
{
    private const string PlaintextSecretKeySetting = "secret-key";
    private const string SealedSecretKeySetting = "secret-key-sealed";

    public static async Task InitializeAsync(IServiceProvider services, CancellationToken cancellationToken = default)
    {
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Flagstaff.Startup");
        var store = services.GetRequiredService<Store>();
        var options = services.GetRequiredService<IOptions<FlagstaffOptions>>().Value;

        var applied = await store.MigrateAsync(cancellationToken).ConfigureAwait(false);
        string location = store.Dialect.Describe();
        string migrations = applied.Count == 0 ? "up to date" : "applied " + string.Join(", ", applied);
        LogStorage(logger, store.Dialect.Name, location, migrations);

        var secrets = services.GetRequiredService<Secrets>();
        secrets.Initialize(await LoadSecretsAsync(services, store, logger, cancellationToken).ConfigureAwait(false));

        await FirstAccountAsync(services, store, options.Setup, secrets, logger, cancellationToken).ConfigureAwait(false);
        await ProvisionAsync(services, options.Provisioning, logger, cancellationToken).ConfigureAwait(false);
    }

    // The hashing key and the data-protection key ring live in the database sealed with the server key,
    // which does not. A database from before the server key holds them in plaintext: they are sealed in
    // place (so existing API keys, tokens and sessions keep working) and the plaintext is deleted. A key
    // file is created only for a database without sealed secrets: a node that lacks the key of a database
    // that has them must not start (with a key of its own, it would sign sessions no other node accepts).
    private static async Task<byte[]> LoadSecretsAsync(IServiceProvider services, Store store, ILogger logger, CancellationToken cancellationToken)
    {
        var serverKey = services.GetRequiredService<ServerKey>();
        var dataProtection = services.GetRequiredService<DataProtectionKeys>();
        bool created = false;
        bool upgraded = false;
        int resealed = 0;
        var key = await store.WriteAsync(async s =>
        {
            var stored = await s.GetSettingAsync(SealedSecretKeySetting).ConfigureAwait(false);
            if (stored is null)
            {
                if (!serverKey.IsAvailable)
                {
                    serverKey.CreateKeyFile();
                    created = true;
                }

                var plaintext = await s.GetSettingAsync(PlaintextSecretKeySetting).ConfigureAwait(false);
                upgraded = plaintext is not null;
                var fresh = plaintext is null ? RandomNumberGenerator.GetBytes(32) : Convert.FromBase64String(plaintext);
                stored = await s.GetOrAddSettingAsync(SealedSecretKeySetting, serverKey.Seal(Secrets.KeyPurpose, fresh)).ConfigureAwait(false);
                await s.DeleteSettingAsync(PlaintextSecretKeySetting).ConfigureAwait(false);
            }

            var opened = serverKey.Open(Secrets.KeyPurpose, stored, out bool stale);
            if (stale)
            {
                await s.SetSettingAsync(SealedSecretKeySetting, serverKey.Seal(Secrets.KeyPurpose, opened)).ConfigureAwait(false);
            }

            resealed = await dataProtection.SealStoredAsync(s).ConfigureAwait(false) + (stale ? 1 : 0)
                + await Webhooks.WebhookService.SealStoredAsync(s, serverKey).ConfigureAwait(false);
            return opened;
        }, cancellationToken).ConfigureAwait(false);

        if (created)
        {
            LogKeyFileCreated(logger, serverKey.Source, serverKey.Id);
        }

        if (upgraded || resealed > 0)
        {
            LogSecretsSealed(logger, serverKey.Id, serverKey.Source);
        }

        return key;
    }

    private static async Task FirstAccountAsync(IServiceProvider services, Store store, SetupOptions setup, Secrets secrets, ILogger logger, CancellationToken cancellationToken)
    {
        // The provisioning principal is no member: with it alone, the first owner is still to be made.
        if (await store.ReadAsync(AccountService.HasMembersAsync, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var clock = services.GetRequiredService<TimeProvider>();
        if (setup.OwnerEmail is not null && setup.OwnerPassword is not null)
        {
            var account = AccountService.NewAccount(setup.OwnerEmail, setup.OwnerName, Role.Owner, setup.OwnerPassword, clock.GetUtcNow(), out var hash);
            await services.GetRequiredService<ChangeRunner>().WriteAsync(Actor.System("setup"), async change =>
            {
                await change.Session.InsertAccountAsync(account, hash).ConfigureAwait(false);
                await change.AuditAsync("account", account.Email, "created", null, ChangeRecorder.ToJson(account, DomainJson.Default.Account), comment: "first owner, from configuration").ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
            LogOwnerCreated(logger, account.Email);
            return;
        }

        // A fresh token at every start until the owner exists: it is only ever printed here.
        var token = Secrets.New("setup_");
        await store.WriteAsync(s => s.SetSettingAsync(AccountService.SetupTokenSetting, secrets.Hash(token)), cancellationToken).ConfigureAwait(false);
        var address = services.GetRequiredService<IConfiguration>()["Urls"]?.Split(';')[0] ?? "http://localhost:5080";
        LogSetupToken(logger, $"{address.TrimEnd('/')}/setup?token={token}", token);
    }

    private static async Task ProvisionAsync(IServiceProvider services, ProvisioningOptions provisioning, ILogger logger, CancellationToken cancellationToken)
    {
        var store = services.GetRequiredService<Store>();
        var secrets = services.GetRequiredService<Secrets>();
        var actor = Actor.System("provisioning");
        if (provisioning.ProjectFile is { } file)
        {
            ProjectDocument document;
            try
            {
                await using var stream = File.OpenRead(file);
                document = await JsonSerializer.DeserializeAsync(stream, DomainJson.Default.ProjectDocument, cancellationToken).ConfigureAwait(false)
                    ?? throw new InvalidOperationException("The document is empty.");
            }
            catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
            {
                throw new InvalidOperationException($"Flagstaff:Provisioning:ProjectFile \"{file}\" cannot be read: {e.Message}", e);
            }

            if (await store.ReadAsync(s => s.GetProjectAsync(document.Key), cancellationToken).ConfigureAwait(false) is null)
            {
                var result = await services.GetRequiredService<ImportExportService>().ImportAsync(document, actor, cancellationToken).ConfigureAwait(false);
                LogProjectImported(logger, result.Project, file);
            }
        }

        foreach (var key in provisioning.ApiKeys)
        {
            if (await store.ReadAsync(s => s.FindApiKeyAsync(secrets.Hash(key.Secret)), cancellationToken).ConfigureAwait(false) is null)
            {
                try
                {
                    await services.GetRequiredService<ApiKeyService>().CreateAsync(key.Project, key.Environment, new CreateApiKeyRequest(key.Name, key.Kind), key.Secret, actor, cancellationToken).ConfigureAwait(false);
                }
                catch (NotFoundException e)
                {
                    throw new InvalidOperationException($"the provisioned API key for {key.Project}/{key.Environment} cannot be created: {e.Message}", e);
                }

                string kind = key.Kind == ApiKeyKind.Server ? "server" : "client";
                LogKeyProvisioned(logger, kind, key.Project, key.Environment);
            }
        }

        if (provisioning.AdminToken is { } adminToken && await store.ReadAsync(s => s.FindAccessTokenAsync(secrets.Hash(adminToken)), cancellationToken).ConfigureAwait(false) is null)
        {
            await services.GetRequiredService<ChangeRunner>().WriteAsync(actor, async change =>
            {
                var s = change.Session;
                var now = change.Now;
                var account = (await s.GetCredentialsAsync(AccountService.ProvisioningEmail).ConfigureAwait(false))?.Account;
                if (account is null)
                {
                    account = new Account { Id = Lookups.NewId(), Email = AccountService.ProvisioningEmail, Name = "Provisioning", Role = Role.Admin, Version = 1, CreatedAt = now, UpdatedAt = now };
                    await s.InsertAccountAsync(account, passwordHash: null).ConfigureAwait(false);
                }

                var token = new AccessToken { Id = Lookups.NewId(), AccountId = account.Id, Name = "provisioned admin token", Prefix = Secrets.PrefixOf(adminToken), CreatedAt = now };
                await s.InsertAccessTokenAsync(token, secrets.Hash(adminToken)).ConfigureAwait(false);
                await change.AuditAsync("access-token", token.Name, "created", null, ChangeRecorder.ToJson(token, DomainJson.Default.AccessToken)).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
            LogAdminTokenProvisioned(logger);
        }
    }

    [LoggerMessage(EventId = LogEvents.StartFailed, Level = LogLevel.Critical, Message = "Flagstaff could not start: {Reason}")]
    public static partial void LogStartFailed(ILogger logger, string reason, Exception exception);

    [LoggerMessage(EventId = LogEvents.StorageOpened, Level = LogLevel.Information, Message = "Storage: {Database} at {Location} (schema {Migrations})")]
    private static partial void LogStorage(ILogger logger, string database, string location, string migrations);

    [LoggerMessage(EventId = LogEvents.OwnerCreated, Level = LogLevel.Information, Message = "Created the first owner, {Email}, from configuration")]
    private static partial void LogOwnerCreated(ILogger logger, string email);

    [LoggerMessage(EventId = LogEvents.SetupLink, Level = LogLevel.Warning, Message = "No account exists yet. Create the first owner at {SetupUrl} (or POST /api/setup with the token {Token}). The token works once and changes at every start until then.")]
    private static partial void LogSetupToken(ILogger logger, string setupUrl, string token);

    [LoggerMessage(EventId = LogEvents.ProjectProvisioned, Level = LogLevel.Information, Message = "Provisioning: imported project {Project} from {File}")]
    private static partial void LogProjectImported(ILogger logger, string project, string file);

    [LoggerMessage(EventId = LogEvents.ApiKeyProvisioned, Level = LogLevel.Information, Message = "Provisioning: created a {Kind} API key for {Project}/{Environment}")]
    private static partial void LogKeyProvisioned(ILogger logger, string kind, string project, string environment);

    [LoggerMessage(EventId = LogEvents.AdminTokenProvisioned, Level = LogLevel.Information, Message = "Provisioning: created the admin access token")]
    private static partial void LogAdminTokenProvisioned(ILogger logger);

    [LoggerMessage(EventId = LogEvents.ServerKeyCreated, Level = LogLevel.Warning, Message = "Created the server key file {KeyFile} (key {KeyId}): it decrypts the secrets in the database. Back it up apart from the database; every node sharing the database needs the same key")]
    private static partial void LogKeyFileCreated(ILogger logger, string keyFile, string keyId);

    [LoggerMessage(EventId = LogEvents.SecretsSealed, Level = LogLevel.Information, Message = "Sealed the secrets stored in the database with server key {KeyId} ({Source})")]
    private static partial void LogSecretsSealed(ILogger logger, string keyId, string source);
}
