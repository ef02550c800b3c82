using Flagstaff.Domain;
using Flagstaff.Management.Security;
using Flagstaff.Storage;

namespace Flagstaff.Management.Services;

/// <summary>
/// API keys of environments. A key's secret is shown once, when it is created; only its keyed hash is
/// stored. Revoking a key takes effect on every node within seconds and closes its open streams.
/// </summary>
public sealed class ApiKeyService(Store store, ChangeRunner changes, Secrets secrets, ApiKeyRevocations revocations)
{
    public Task<IReadOnlyList<ApiKey>> ListAsync(string projectKey, string environmentKey, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async s =>
        {
            var environment = await s.EnvironmentAsync(await s.ProjectAsync(projectKey).ConfigureAwait(false), environmentKey).ConfigureAwait(false);
            return await s.ListApiKeysAsync(environment.Id).ConfigureAwait(false);
        }, cancellationToken);

    public Task<CreatedApiKey> CreateAsync(string projectKey, string environmentKey, CreateApiKeyRequest request, Actor actor, CancellationToken cancellationToken = default) =>
        CreateAsync(projectKey, environmentKey, request, Secrets.NewApiKey(request.Kind), actor, cancellationToken);

    /// <summary>Creates a key with a given secret (provisioning from configuration).</summary>
    internal async Task<CreatedApiKey> CreateAsync(string projectKey, string environmentKey, CreateApiKeyRequest request, string secret, Actor actor, CancellationToken cancellationToken = default)
    {
        var created = await changes.WriteAsync(actor, async change =>
        {
            var s = change.Session;
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var environment = await s.EnvironmentAsync(project, environmentKey).ConfigureAwait(false);
            var errors = new ValidationErrors();
            Limits.CheckName(request.Name, "name", errors);
            if (!Enum.IsDefined(request.Kind))
            {
                errors.Add("kind", "must be client or server");
            }

            errors.ThrowIfAny();
            var key = new ApiKey
            {
                Id = Lookups.NewId(),
                ProjectId = project.Id,
                EnvironmentId = environment.Id,
                Name = request.Name,
                Kind = request.Kind,
                Prefix = Secrets.PrefixOf(secret),
                CreatedAt = change.Now,
                CreatedBy = actor.Name,
            };
            await s.InsertApiKeyAsync(key, secrets.Hash(secret)).ConfigureAwait(false);
            await change.AuditAsync("api-key", key.Name, "created", null, ChangeRecorder.ToJson(key, DomainJson.Default.ApiKey), project.Id, environment.Id).ConfigureAwait(false);
            await s.NotifyAsync(StoreSession.KeysChannel, "").ConfigureAwait(false);
            return new CreatedApiKey(key, secret);
        }, cancellationToken).ConfigureAwait(false);
        await revocations.KeysChangedAsync().ConfigureAwait(false);
        return created;
    }

    public async Task<ApiKey> RevokeAsync(string projectKey, string environmentKey, string keyId, Actor actor, CancellationToken cancellationToken = default)
    {
        var revoked = await changes.WriteAsync(actor, async change =>
        {
            var s = change.Session;
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var environment = await s.EnvironmentAsync(project, environmentKey).ConfigureAwait(false);
            var key = await s.GetApiKeyAsync(environment.Id, keyId).ConfigureAwait(false)
                ?? throw new NotFoundException($"Environment \"{environment.Key}\" has no API key {keyId}.");
            if (key.RevokedAt is not null)
            {
                return key;
            }

            await s.RevokeApiKeyAsync(key.Id, change.Now).ConfigureAwait(false);
            var revoked = key with { RevokedAt = change.Now };
            await change.AuditAsync("api-key", key.Name, "revoked", ChangeRecorder.ToJson(key, DomainJson.Default.ApiKey), ChangeRecorder.ToJson(revoked, DomainJson.Default.ApiKey), project.Id, environment.Id).ConfigureAwait(false);
            await s.NotifyAsync(StoreSession.KeysChannel, key.Id).ConfigureAwait(false);
            return revoked;
        }, cancellationToken).ConfigureAwait(false);
        await revocations.KeysChangedAsync().ConfigureAwait(false);
        return revoked;
    }
}

/// <summary>
/// Tells the parts that hold keys in memory (the evaluation key directory, and through it the open
/// streams) that keys changed on this node; a key change is answered once they hold it.
/// </summary>
public sealed class ApiKeyRevocations
{
    private readonly List<Func<Task>> _handlers = [];

    public void Register(Func<Task> handler)
    {
        lock (_handlers)
        {
            _handlers.Add(handler);
        }
    }

    public Task KeysChangedAsync()
    {
        Func<Task>[] handlers;
        lock (_handlers)
        {
            handlers = [.. _handlers];
        }

        return Task.WhenAll(handlers.Select(h => h()));
    }
}
