using Flagstaff.Domain;
using Flagstaff.Server.Security;
using Flagstaff.Storage;

namespace Flagstaff.Server.Services;

/// <summary>
/// API keys of environments. A key's secret is shown once, when it is created; only its keyed hash is
/// stored. Revoking a key takes effect on every node within seconds and closes its open streams.
/// </summary>
public sealed class ApiKeyService(Store store, TimeProvider clock, ConfigChangeFeed feed, Secrets secrets, ApiKeyRevocations revocations)
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
    internal Task<CreatedApiKey> CreateAsync(string projectKey, string environmentKey, CreateApiKeyRequest request, string secret, Actor actor, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async s =>
        {
            var change = new ChangeRecorder(s, actor, clock.GetUtcNow(), feed);
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
            s.AfterCommit(revocations.KeysChanged);
            return new CreatedApiKey(key, secret);
        }, cancellationToken);

    public Task<ApiKey> RevokeAsync(string projectKey, string environmentKey, string keyId, Actor actor, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async s =>
        {
            var change = new ChangeRecorder(s, actor, clock.GetUtcNow(), feed);
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
            s.AfterCommit(() => revocations.Revoked(key.Id));
            return revoked;
        }, cancellationToken);
}

/// <summary>
/// Tells the parts that hold keys in memory (authentication cache, open streams) that keys changed.
/// </summary>
public sealed class ApiKeyRevocations
{
    public event Action? Changed;

    public event Action<string>? KeyRevoked;

    public void KeysChanged() => Changed?.Invoke();

    public void Revoked(string keyId)
    {
        Changed?.Invoke();
        KeyRevoked?.Invoke(keyId);
    }
}
