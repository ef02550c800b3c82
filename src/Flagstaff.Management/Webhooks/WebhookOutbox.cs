using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Flagstaff.Domain;
using Flagstaff.Management.Services;

namespace Flagstaff.Management.Webhooks;

/// <summary>
/// Writes the deliveries of a change into the outbox, in the change's own transaction: a change that
/// commits has its deliveries, one that rolls back has none, and a crash after the commit loses
/// nothing. It then wakes this node's dispatcher (other nodes find the deliveries when they next look).
/// </summary>
public sealed class WebhookOutbox
{
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Tells the dispatcher that deliveries are waiting.</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    /// <summary>Waits until woken or until <paramref name="timeout"/> passed.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await _wake.Reader.ReadAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The poll interval passed.
        }
    }

    /// <summary>Records the deliveries of one recorded change, if any webhook wants to hear of it.</summary>
    internal async Task RecordAsync(
        ChangeRecorder change, string resourceType, string resourceKey, string action, JsonElement? before, JsonElement? after,
        string projectId, string? environmentId, long? revision, string? comment)
    {
        var type = WebhookEvents.Of(resourceType, action, before is not null, environmentId is not null);
        if (type is null)
        {
            return;
        }

        var s = change.Session;
        var webhooks = (await s.ListWebhooksAsync(projectId).ConfigureAwait(false))
            .Where(w => w.Enabled && w.Events.Contains(type) && (w.EnvironmentId is null || environmentId is null || w.EnvironmentId == environmentId))
            .ToList();
        if (webhooks.Count == 0)
        {
            return;
        }

        var project = await s.GetProjectByIdAsync(projectId).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"The project {projectId} of a recorded change does not exist.");
        var environment = environmentId is null ? null : await s.GetEnvironmentByIdAsync(environmentId).ConfigureAwait(false);
        var key = resourceType == "api-key" && (after ?? before) is { } state ? state.Deserialize(DomainJson.Default.ApiKey) : null;
        var ev = new WebhookEvent
        {
            Id = Lookups.NewId(),
            Type = type,
            At = change.Now,
            Project = new WebhookNamed(project.Key, project.Name),
            Environment = environment is null ? null : new WebhookNamed(environment.Key, environment.Name),
            Flag = resourceType == "flag" ? new WebhookFlag(resourceKey, revision) : null,
            ApiKey = key is null ? null : new WebhookKey(key.Name, key.Kind, key.Prefix),
            Actor = new WebhookActor(change.Actor.Name, change.Actor.AccountId is null),
            Comment = comment,
        };

        string? json = null;
        string? slack = null;
        foreach (var webhook in webhooks)
        {
            var body = webhook.Format == WebhookFormat.Slack
                ? slack ??= JsonSerializer.Serialize(new SlackMessage(SlackText(ev)), WebhookJson.Default.SlackMessage)
                : json ??= JsonSerializer.Serialize(ev, WebhookJson.Default.WebhookEvent);
            await s.InsertWebhookDeliveryAsync(webhook.Id, ev.Id, type, body, change.Now).ConfigureAwait(false);
        }

        s.AfterCommit(Wake);
    }

    /// <summary>One line of Slack markup saying what happened.</summary>
    internal static string SlackText(WebhookEvent ev)
    {
        ArgumentNullException.ThrowIfNull(ev);
        var where = ev.Environment is { } environment ? $" in {Escape(environment.Name)} ({Escape(ev.Project.Name)})" : $" in {Escape(ev.Project.Name)}";
        var who = ev.Actor.System ? Escape(ev.Actor.Name) : "*" + Escape(ev.Actor.Name) + "*";
        var flag = ev.Flag is { } f ? "`" + Escape(f.Key) + "`" : "";
        var key = ev.ApiKey is { } k ? $"{(k.Kind == ApiKeyKind.Server ? "server" : "client")} key *{Escape(k.Name)}* ({Escape(k.Prefix)}…)" : "";
        var text = new StringBuilder(ev.Type switch
        {
            WebhookEvents.FlagCreated => $"{who} created flag {flag}{where}",
            WebhookEvents.FlagChanged => $"{who} changed flag {flag}{where}",
            WebhookEvents.FlagTurnedOn => $"{who} turned on {flag}{where}",
            WebhookEvents.FlagTurnedOff => $"{who} turned off {flag}{where}",
            WebhookEvents.FlagArchived => $"{who} archived flag {flag}{where}",
            WebhookEvents.FlagDeleted => $"{who} deleted flag {flag}{where}",
            WebhookEvents.TargetingChanged => $"{who} changed the targeting of {flag}{where}",
            WebhookEvents.GuardRollback => $":rotating_light: A guard rolled back {flag}{where}",
            WebhookEvents.KeyCreated => $"{who} created {key}{where}",
            WebhookEvents.KeyRevoked => $"{who} revoked {key}{where}",
            _ => $"{who}: {Escape(ev.Type)}{where}",
        });
        if (ev.Comment is { Length: > 0 } comment)
        {
            text.Append(": ").Append(Escape(comment));
        }

        return text.ToString();
    }

    // Slack treats &, < and > as markup (links, mentions); everything else is literal.
    private static string Escape(string text) => text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);
}
