using Flagstaff.Domain;

namespace Flagstaff.Storage;

public sealed partial class StoreSession
{
    private sealed class WebhookRow
    {
        public string Id { get; set; } = "";

        public string ProjectId { get; set; } = "";

        public string? EnvironmentId { get; set; }

        public string Name { get; set; } = "";

        public string Url { get; set; } = "";

        public string Events { get; set; } = "[]";

        public string Format { get; set; } = "";

        public long Enabled { get; set; }

        public long Version { get; set; }

        public long CreatedAt { get; set; }

        public long UpdatedAt { get; set; }

        public Webhook ToWebhook() => new()
        {
            Id = Id,
            ProjectId = ProjectId,
            EnvironmentId = EnvironmentId,
            Name = Name,
            Url = Url,
            Events = FromJson(Events, DomainJson.Default.IReadOnlyListString),
            Format = ParseEnum(Format, DomainJson.Default.WebhookFormat),
            Enabled = Enabled != 0,
            Version = Version,
            CreatedAt = At(CreatedAt),
            UpdatedAt = At(UpdatedAt),
        };
    }

    private sealed class DeliveryRow
    {
        public long Id { get; set; }

        public string WebhookId { get; set; } = "";

        public string EventId { get; set; } = "";

        public string Event { get; set; } = "";

        public string Body { get; set; } = "";

        public string State { get; set; } = "";

        public long Attempts { get; set; }

        public long CreatedAt { get; set; }

        public long NextAttemptAt { get; set; }

        public long? LastAttemptAt { get; set; }

        public long? LastStatus { get; set; }

        public string? LastError { get; set; }

        public long? DeliveredAt { get; set; }

        public string? ProjectId { get; set; }

        public string? Url { get; set; }

        public string? Secret { get; set; }

        public WebhookDelivery ToDelivery() => new()
        {
            Id = Id,
            WebhookId = WebhookId,
            EventId = EventId,
            Event = Event,
            Body = Body,
            State = ParseEnum(State, DomainJson.Default.WebhookDeliveryState),
            Attempts = (int)Attempts,
            CreatedAt = At(CreatedAt),
            NextAttemptAt = At(NextAttemptAt),
            LastAttemptAt = At(LastAttemptAt),
            LastStatus = LastStatus is { } status ? (int)status : null,
            LastError = LastError,
            DeliveredAt = At(DeliveredAt),
        };
    }

    private const string WebhookColumns = "id, project_id, environment_id, name, url, events, format, enabled, version, created_at, updated_at";

    private const string DeliveryColumns =
        "d.id, d.webhook_id, d.event_id, d.event, d.body, d.state, d.attempts, d.created_at, d.next_attempt_at, d.last_attempt_at, d.last_status, d.last_error, d.delivered_at";

    private static string StateName(WebhookDeliveryState state) => EnumName(state, DomainJson.Default.WebhookDeliveryState);

    /// <summary>Lists a project's webhooks, oldest first.</summary>
    public async Task<IReadOnlyList<Webhook>> ListWebhooksAsync(string projectId) =>
        [.. (await QueryAsync<WebhookRow>($"SELECT {WebhookColumns} FROM webhooks WHERE project_id = @projectId ORDER BY created_at, id", new { projectId }).ConfigureAwait(false)).Select(r => r.ToWebhook())];

    /// <summary>Finds a project's webhook by id.</summary>
    public async Task<Webhook?> GetWebhookAsync(string projectId, string id) =>
        (await QuerySingleAsync<WebhookRow>($"SELECT {WebhookColumns} FROM webhooks WHERE project_id = @projectId AND id = @id", new { projectId, id }).ConfigureAwait(false))?.ToWebhook();

    /// <summary>Creates a webhook with its sealed secret.</summary>
    public Task InsertWebhookAsync(Webhook webhook, string sealedSecret) => ExecuteAsync(
        "INSERT INTO webhooks (id, project_id, environment_id, name, url, events, format, secret, enabled, version, created_at, updated_at) " +
        "VALUES (@Id, @ProjectId, @EnvironmentId, @Name, @Url, @events, @format, @sealedSecret, @enabled, 1, @created, @created)",
        new
        {
            webhook.Id,
            webhook.ProjectId,
            webhook.EnvironmentId,
            webhook.Name,
            webhook.Url,
            events = Json(webhook.Events, DomainJson.Default.IReadOnlyListString),
            format = EnumName(webhook.Format, DomainJson.Default.WebhookFormat),
            sealedSecret,
            enabled = webhook.Enabled ? 1L : 0L,
            created = Ms(webhook.CreatedAt),
        });

    /// <summary>Updates a webhook (and its secret, when given), if it is still at <paramref name="expectedVersion"/>.</summary>
    public async Task UpdateWebhookAsync(Webhook webhook, long expectedVersion, string? sealedSecret = null) => Expect(await ExecuteAsync(
        "UPDATE webhooks SET environment_id = @EnvironmentId, name = @Name, url = @Url, events = @events, format = @format, enabled = @enabled, " +
        "secret = COALESCE(@sealedSecret, secret), updated_at = @updated, version = version + 1 WHERE id = @Id AND version = @expectedVersion",
        new
        {
            webhook.EnvironmentId,
            webhook.Name,
            webhook.Url,
            events = Json(webhook.Events, DomainJson.Default.IReadOnlyListString),
            format = EnumName(webhook.Format, DomainJson.Default.WebhookFormat),
            enabled = webhook.Enabled ? 1L : 0L,
            sealedSecret,
            updated = Ms(webhook.UpdatedAt),
            webhook.Id,
            expectedVersion,
        }).ConfigureAwait(false), "The webhook");

    /// <summary>Every webhook's id and sealed secret (for sealing them again after a server key rotation).</summary>
    public async Task<IReadOnlyList<(string Id, string Secret)>> ListWebhookSecretsAsync() =>
        [.. await QueryAsync<(string, string)>("SELECT id, secret FROM webhooks ORDER BY id").ConfigureAwait(false)];

    /// <summary>Replaces a sealed secret by the same secret sealed again (after a server key rotation), unless the secret changed meanwhile.</summary>
    public Task ResealWebhookSecretAsync(string id, string oldSealed, string newSealed) => ExecuteAsync(
        "UPDATE webhooks SET secret = @newSealed WHERE id = @id AND secret = @oldSealed", new { id, oldSealed, newSealed });

    /// <summary>Deletes a webhook with its deliveries.</summary>
    public Task DeleteWebhookAsync(string id) => ExecuteAsync("DELETE FROM webhooks WHERE id = @id", new { id });

    /// <summary>Adds a delivery to the outbox, due at once; returns its id.</summary>
    public async Task<long> InsertWebhookDeliveryAsync(string webhookId, string eventId, string eventType, string body, DateTimeOffset at) =>
        await ScalarAsync<long>(
            "INSERT INTO webhook_deliveries (webhook_id, event_id, event, body, state, attempts, created_at, next_attempt_at) " +
            "VALUES (@webhookId, @eventId, @eventType, @body, 'pending', 0, @at, @at) RETURNING id",
            new { webhookId, eventId, eventType, body, at = Ms(at) }).ConfigureAwait(false);

    /// <summary>A webhook's deliveries, newest first.</summary>
    public async Task<IReadOnlyList<WebhookDelivery>> ListWebhookDeliveriesAsync(string webhookId, long? beforeId, int limit) =>
        [.. (await QueryAsync<DeliveryRow>(
            $"SELECT {DeliveryColumns} FROM webhook_deliveries d WHERE d.webhook_id = @webhookId AND (@beforeId IS NULL OR d.id < @beforeId) ORDER BY d.id DESC LIMIT @limit",
            new { webhookId, beforeId, limit }).ConfigureAwait(false)).Select(r => r.ToDelivery())];

    /// <summary>Finds one of a webhook's deliveries.</summary>
    public async Task<WebhookDelivery?> GetWebhookDeliveryAsync(string webhookId, long id) =>
        (await QuerySingleAsync<DeliveryRow>($"SELECT {DeliveryColumns} FROM webhook_deliveries d WHERE d.webhook_id = @webhookId AND d.id = @id", new { webhookId, id }).ConfigureAwait(false))?.ToDelivery();

    /// <summary>
    /// The deliveries that may be sent now: for each webhook only the oldest pending one (so a webhook's
    /// events go out in order, and a later one waits while an earlier one is retried), when it is due
    /// and no node holds a lease on it.
    /// </summary>
    public async Task<IReadOnlyList<DueWebhookDelivery>> ListDueWebhookDeliveriesAsync(DateTimeOffset now, int limit) =>
        [.. (await QueryAsync<DeliveryRow>(
            $"SELECT {DeliveryColumns}, w.project_id, w.url, w.secret FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id " +
            "WHERE d.state = 'pending' AND d.next_attempt_at <= @now AND (d.lease_until IS NULL OR d.lease_until < @now) " +
            "AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.webhook_id = d.webhook_id AND e.state = 'pending' AND e.id < d.id) " +
            "ORDER BY d.id LIMIT @limit",
            new { now = Ms(now), limit }).ConfigureAwait(false)).Select(r => new DueWebhookDelivery(r.ToDelivery(), r.ProjectId!, r.Url!, r.Secret!))];

    /// <summary>
    /// Takes the lease on a pending delivery until <paramref name="until"/>, unless another holder has a
    /// lease that has not run out: of several nodes asking at once, exactly one gets it (the condition is
    /// checked again on the row as it is when the update runs).
    /// </summary>
    public async Task<bool> LeaseWebhookDeliveryAsync(long id, string holder, DateTimeOffset now, DateTimeOffset until) => await ExecuteAsync(
        "UPDATE webhook_deliveries SET lease_holder = @holder, lease_until = @until " +
        "WHERE id = @id AND state = 'pending' AND (lease_until IS NULL OR lease_until < @now)",
        new { id, holder, now = Ms(now), until = Ms(until) }).ConfigureAwait(false) == 1;

    /// <summary>Records an attempt and gives up the lease, if <paramref name="holder"/> still holds it.</summary>
    public async Task<bool> RecordWebhookAttemptAsync(long id, string holder, WebhookAttempt attempt)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        return await ExecuteAsync(
            "UPDATE webhook_deliveries SET state = @state, attempts = attempts + 1, last_attempt_at = @at, next_attempt_at = @next, last_status = @status, last_error = @error, " +
            "delivered_at = @delivered, lease_holder = NULL, lease_until = NULL WHERE id = @id AND lease_holder = @holder",
            new
            {
                id,
                holder,
                state = StateName(attempt.State),
                at = Ms(attempt.At),
                next = Ms(attempt.NextAttemptAt),
                status = (long?)attempt.Status,
                error = attempt.Error,
                delivered = attempt.State == WebhookDeliveryState.Delivered ? Ms(attempt.At) : (long?)null,
            }).ConfigureAwait(false) == 1;
    }

    /// <summary>Deletes delivered and failed deliveries made before <paramref name="olderThan"/>.</summary>
    public Task PruneWebhookDeliveriesAsync(DateTimeOffset olderThan) =>
        ExecuteAsync("DELETE FROM webhook_deliveries WHERE state <> 'pending' AND created_at < @at", new { at = Ms(olderThan) });
}
