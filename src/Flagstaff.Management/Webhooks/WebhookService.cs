using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Flagstaff.Domain;
using Flagstaff.Management.Security;
using Flagstaff.Management.Services;
using Flagstaff.Storage;
using Microsoft.Extensions.Options;

namespace Flagstaff.Management.Webhooks;

/// <summary>
/// A project's webhooks and their delivery logs. A webhook's signing secret is made by the server,
/// shown once, and kept sealed with the server key (the dispatcher needs it back to sign, so it cannot
/// be stored as a hash like API keys).
/// </summary>
public sealed class WebhookService(Store store, ChangeRunner changes, ServerKey serverKey, WebhookSender sender, WebhookOutbox outbox, IOptions<WebhookOptions> options)
{
    /// <summary>What webhook secrets are sealed for in storage.</summary>
    public const string SecretPurpose = "webhook secret";

    /// <summary>The longest URL accepted.</summary>
    public const int MaxUrlLength = 2048;

    /// <summary>The most deliveries one page of the log holds.</summary>
    public const int MaxPage = 100;

    private static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Seals again, with the current server key, the secrets sealed with the previous one (at start, during a rotation); returns how many.</summary>
    public static async Task<int> SealStoredAsync(StoreSession session, ServerKey serverKey)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(serverKey);
        int resealed = 0;
        foreach (var (id, stored) in await session.ListWebhookSecretsAsync().ConfigureAwait(false))
        {
            var plaintext = serverKey.Open(SecretPurpose, stored, out bool stale);
            if (stale)
            {
                await session.ResealWebhookSecretAsync(id, stored, serverKey.Seal(SecretPurpose, plaintext)).ConfigureAwait(false);
                resealed++;
            }
        }

        return resealed;
    }

    public Task<IReadOnlyList<WebhookView>> ListAsync(string projectKey, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async s =>
        {
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var environments = await EnvironmentKeysAsync(s, project).ConfigureAwait(false);
            return (IReadOnlyList<WebhookView>)[.. (await s.ListWebhooksAsync(project.Id).ConfigureAwait(false)).Select(w => View(w, environments))];
        }, cancellationToken);

    public Task<WebhookView> GetAsync(string projectKey, string id, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async s =>
        {
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            return View(await WebhookAsync(s, project, id).ConfigureAwait(false), await EnvironmentKeysAsync(s, project).ConfigureAwait(false));
        }, cancellationToken);

    public async Task<CreatedWebhook> CreateAsync(string projectKey, CreateWebhookRequest request, Actor actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var errors = new ValidationErrors();
        await CheckUrlAsync(request.Url, errors, cancellationToken).ConfigureAwait(false);
        var secret = Secrets.New("whsec_");
        return await changes.WriteAsync(actor, async change =>
        {
            var s = change.Session;
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var environments = await s.ListEnvironmentsAsync(project.Id).ConfigureAwait(false);
            var existing = await s.ListWebhooksAsync(project.Id).ConfigureAwait(false);
            if (existing.Count >= options.Value.MaxPerProject)
            {
                errors.Add("", string.Create(CultureInfo.InvariantCulture, $"project \"{project.Key}\" has {existing.Count} webhooks, the most allowed (Flagstaff:Webhooks:MaxPerProject); remove one first"));
            }

            var webhook = new Webhook
            {
                Id = Lookups.NewId(),
                ProjectId = project.Id,
                EnvironmentId = EnvironmentId(request.Environment, environments, errors),
                Name = request.Name,
                Url = request.Url,
                Events = request.Events ?? [],
                Format = request.Format ?? WebhookFormat.Json,
                Enabled = request.Enabled ?? true,
                Version = 1,
                CreatedAt = change.Now,
                UpdatedAt = change.Now,
            };
            Check(webhook, errors);
            errors.ThrowIfAny();
            await s.InsertWebhookAsync(webhook, serverKey.Seal(SecretPurpose, Encoding.UTF8.GetBytes(secret))).ConfigureAwait(false);
            var view = View(webhook, environments.ToDictionary(e => e.Id, e => e.Key));
            await change.AuditAsync("webhook", webhook.Name, "created", null, ChangeRecorder.ToJson(view, WebhookJson.Default.WebhookView), project.Id).ConfigureAwait(false);
            return new CreatedWebhook(view, secret);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<WebhookView> UpdateAsync(string projectKey, string id, UpdateWebhookRequest request, long expectedVersion, Actor actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var errors = new ValidationErrors();
        if (request.Url is not null)
        {
            await CheckUrlAsync(request.Url, errors, cancellationToken).ConfigureAwait(false);
        }

        return await changes.WriteAsync(actor, async change =>
        {
            var s = change.Session;
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var environments = await s.ListEnvironmentsAsync(project.Id).ConfigureAwait(false);
            var keys = environments.ToDictionary(e => e.Id, e => e.Key);
            var webhook = await WebhookAsync(s, project, id).ConfigureAwait(false);
            Lookups.CheckVersion(webhook.Version, expectedVersion, $"Webhook \"{webhook.Name}\"", View(webhook, keys));
            var updated = webhook with
            {
                Name = request.Name ?? webhook.Name,
                Url = request.Url ?? webhook.Url,
                Events = request.Events ?? webhook.Events,
                EnvironmentId = request.Environment is null ? webhook.EnvironmentId : EnvironmentId(request.Environment, environments, errors),
                Format = request.Format ?? webhook.Format,
                Enabled = request.Enabled ?? webhook.Enabled,
                UpdatedAt = change.Now,
            };
            Check(updated, errors);
            errors.ThrowIfAny();
            await s.UpdateWebhookAsync(updated, webhook.Version).ConfigureAwait(false);
            updated = updated with { Version = webhook.Version + 1 };
            var view = View(updated, keys);
            await change.AuditAsync("webhook", webhook.Name, "updated", ChangeRecorder.ToJson(View(webhook, keys), WebhookJson.Default.WebhookView), ChangeRecorder.ToJson(view, WebhookJson.Default.WebhookView), project.Id).ConfigureAwait(false);
            return view;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Replaces the signing secret; the new one is in the answer only. Deliveries from now on are signed with it.</summary>
    public Task<CreatedWebhook> NewSecretAsync(string projectKey, string id, long expectedVersion, Actor actor, CancellationToken cancellationToken = default)
    {
        var secret = Secrets.New("whsec_");
        return changes.WriteAsync(actor, async change =>
        {
            var s = change.Session;
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var keys = await EnvironmentKeysAsync(s, project).ConfigureAwait(false);
            var webhook = await WebhookAsync(s, project, id).ConfigureAwait(false);
            Lookups.CheckVersion(webhook.Version, expectedVersion, $"Webhook \"{webhook.Name}\"", View(webhook, keys));
            var updated = webhook with { UpdatedAt = change.Now };
            await s.UpdateWebhookAsync(updated, webhook.Version, serverKey.Seal(SecretPurpose, Encoding.UTF8.GetBytes(secret))).ConfigureAwait(false);
            var view = View(updated with { Version = webhook.Version + 1 }, keys);
            await change.AuditAsync("webhook", webhook.Name, "secret-replaced", null, null, project.Id).ConfigureAwait(false);
            return new CreatedWebhook(view, secret);
        }, cancellationToken);
    }

    /// <summary>Deletes a webhook and its delivery log; deliveries not yet sent are dropped.</summary>
    public Task DeleteAsync(string projectKey, string id, long expectedVersion, Actor actor, CancellationToken cancellationToken = default) =>
        changes.WriteAsync(actor, async change =>
        {
            var s = change.Session;
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var keys = await EnvironmentKeysAsync(s, project).ConfigureAwait(false);
            var webhook = await WebhookAsync(s, project, id).ConfigureAwait(false);
            Lookups.CheckVersion(webhook.Version, expectedVersion, $"Webhook \"{webhook.Name}\"", View(webhook, keys));
            await s.DeleteWebhookAsync(webhook.Id).ConfigureAwait(false);
            await change.AuditAsync("webhook", webhook.Name, "deleted", ChangeRecorder.ToJson(View(webhook, keys), WebhookJson.Default.WebhookView), null, project.Id).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    /// <summary>A page of a webhook's deliveries, newest first.</summary>
    public Task<WebhookDeliveryPage> DeliveriesAsync(string projectKey, string id, int limit, long? before, CancellationToken cancellationToken = default)
    {
        if (limit is < 1 or > MaxPage)
        {
            throw new DomainValidationException("limit", string.Create(CultureInfo.InvariantCulture, $"must be 1 to {MaxPage}"));
        }

        return store.ReadAsync(async s =>
        {
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var webhook = await WebhookAsync(s, project, id).ConfigureAwait(false);
            var items = await s.ListWebhookDeliveriesAsync(webhook.Id, before, limit).ConfigureAwait(false);
            return new WebhookDeliveryPage(items, items.Count == limit ? items[^1].Id : null);
        }, cancellationToken);
    }

    /// <summary>
    /// Sends a delivery again: a new delivery at the end of the webhook's queue, with the same event id
    /// and body (a receiver that keeps the ids it has seen will drop it; one that lost the event gets it).
    /// </summary>
    public async Task<WebhookDelivery> RedeliverAsync(string projectKey, string id, long deliveryId, Actor actor, CancellationToken cancellationToken = default)
    {
        var delivery = await changes.WriteAsync(actor, async change =>
        {
            var s = change.Session;
            var project = await s.ProjectAsync(projectKey).ConfigureAwait(false);
            var webhook = await WebhookAsync(s, project, id).ConfigureAwait(false);
            var original = await s.GetWebhookDeliveryAsync(webhook.Id, deliveryId).ConfigureAwait(false)
                ?? throw new NotFoundException(string.Create(CultureInfo.InvariantCulture, $"Webhook \"{webhook.Name}\" has no delivery {deliveryId}."));
            long newId = await s.InsertWebhookDeliveryAsync(webhook.Id, original.EventId, original.Event, original.Body, change.Now).ConfigureAwait(false);
            await change.AuditAsync("webhook", webhook.Name, "redelivered", null, null, project.Id,
                comment: string.Create(CultureInfo.InvariantCulture, $"delivery {original.Id} ({original.Event}) sent again as delivery {newId}")).ConfigureAwait(false);
            return await s.GetWebhookDeliveryAsync(webhook.Id, newId).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        outbox.Wake();
        return delivery!;
    }

    private static async Task<Webhook> WebhookAsync(StoreSession s, Project project, string id) =>
        await s.GetWebhookAsync(project.Id, id).ConfigureAwait(false)
        ?? throw new NotFoundException($"Project \"{project.Key}\" has no webhook {Limits.Truncate(id)}.");

    private static async Task<Dictionary<string, string>> EnvironmentKeysAsync(StoreSession s, Project project) =>
        (await s.ListEnvironmentsAsync(project.Id).ConfigureAwait(false)).ToDictionary(e => e.Id, e => e.Key);

    private static WebhookView View(Webhook webhook, IReadOnlyDictionary<string, string> environmentKeys) =>
        WebhookView.From(webhook, webhook.EnvironmentId is { } e ? environmentKeys.GetValueOrDefault(e) : null);

    private static string? EnvironmentId(string? key, IReadOnlyList<ProjectEnvironment> environments, ValidationErrors errors)
    {
        if (string.IsNullOrEmpty(key))
        {
            return null;
        }

        var environment = environments.FirstOrDefault(e => e.Key == key);
        if (environment is null)
        {
            errors.Add("environment", $"there is no environment \"{Limits.Truncate(key)}\" (leave it out for every environment)");
        }

        return environment?.Id;
    }

    private static void Check(Webhook webhook, ValidationErrors errors)
    {
        Limits.CheckName(webhook.Name, "name", errors);
        if (webhook.Events.Count == 0)
        {
            errors.Add("events", "name at least one event: " + string.Join(", ", WebhookEvents.All));
        }

        for (int i = 0; i < webhook.Events.Count; i++)
        {
            if (!WebhookEvents.All.Contains(webhook.Events[i]))
            {
                errors.Add(ValidationErrors.Index("events", i), $"\"{Limits.Truncate(webhook.Events[i] ?? "")}\" is not an event; the events are {string.Join(", ", WebhookEvents.All)}");
            }
        }

        if (webhook.Events.Distinct().Count() != webhook.Events.Count)
        {
            errors.Add("events", "names an event twice");
        }

        if (!Enum.IsDefined(webhook.Format))
        {
            errors.Add("format", "must be json or slack");
        }
    }

    /// <summary>
    /// Checks a URL before it is saved: its form, and, for a clear answer now rather than failed
    /// deliveries later, the addresses it resolves to at this moment. (Each delivery checks again when it
    /// connects: what a name resolves to may change.)
    /// </summary>
    private async Task CheckUrlAsync(string? url, ValidationErrors errors, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            errors.Add("url", "is required");
            return;
        }

        if (url.Length > MaxUrlLength)
        {
            errors.Add("url", string.Create(CultureInfo.InvariantCulture, $"is {url.Length} characters long; at most {MaxUrlLength} are allowed"));
            return;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            errors.Add("url", "must be an absolute http:// or https:// URL");
            return;
        }

        if (uri.UserInfo.Length > 0)
        {
            errors.Add("url", "must not carry a user name or password");
            return;
        }

        if (uri.Fragment.Length > 0)
        {
            errors.Add("url", "must not have a fragment (#...)");
            return;
        }

        System.Net.IPAddress[] addresses;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(ResolveTimeout);
        try
        {
            addresses = await WebhookSender.ResolveAsync(uri.IdnHost, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // Not resolvable from here now (a name in a zone not set up yet): deliveries will say so.
            return;
        }

        try
        {
            sender.Refuse(uri.IdnHost, addresses);
        }
        catch (WebhookAddressRefusedException e)
        {
            errors.Add("url", e.Message);
        }
    }
}
