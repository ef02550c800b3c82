using System.Text;
using Flagstaff.Domain;
using Flagstaff.Server.Security;
using Flagstaff.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Flagstaff.Server.Webhooks;

/// <summary>
/// Sends the outbox. Every node that delivers runs one; they share the work through the database:
/// a node takes a lease on a delivery before sending it (one node gets it, the others skip it), and
/// only the oldest pending delivery of a webhook is ever eligible, so each webhook's events arrive in
/// order, a later one waiting while an earlier one is retried. A node that dies mid-send leaves a lease
/// that runs out, and another node (or this one, restarted) sends the delivery again: at least once.
/// </summary>
public sealed partial class WebhookDispatcher(
    Store store, WebhookSender sender, WebhookOutbox outbox, ServerKey serverKey, TimeProvider clock, IOptions<WebhookOptions> options, ILogger<WebhookDispatcher> logger)
    : BackgroundService
{
    private static readonly TimeSpan PruneInterval = TimeSpan.FromHours(1);
    private DateTimeOffset _lastPrune = DateTimeOffset.MinValue;

    // A lease outlives the longest attempt by a margin, so that no healthy node's send is taken over.
    private TimeSpan Lease => options.Value.Timeout + TimeSpan.FromSeconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Deliver)
        {
            return;
        }

        var poll = TimeSpan.FromSeconds(settings.PollSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            int sent = 0;
            try
            {
                sent = await RunOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogFailed(logger, e);
            }

            // After sending, the next deliveries of those webhooks may be due at once.
            if (sent == 0)
            {
                await outbox.WaitAsync(poll, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Sends what is due now (one delivery per webhook); returns how many were attempted.</summary>
    internal async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = clock.GetUtcNow();
        if (now - _lastPrune > PruneInterval)
        {
            _lastPrune = now;
            await store.WriteAsync(s => s.PruneWebhookDeliveriesAsync(now.AddDays(-settings.KeepDays)), cancellationToken).ConfigureAwait(false);
        }

        var due = await store.ReadAsync(s => s.ListDueWebhookDeliveriesAsync(now, settings.Concurrency), cancellationToken).ConfigureAwait(false);
        if (due.Count == 0)
        {
            return 0;
        }

        var attempts = await Task.WhenAll(due.Select(d => AttemptAsync(d, cancellationToken))).ConfigureAwait(false);
        return attempts.Count(a => a);
    }

    private async Task<bool> AttemptAsync(DueWebhookDelivery due, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var delivery = due.Delivery;
        var holder = Guid.NewGuid().ToString("N");
        var now = clock.GetUtcNow();
        if (!await store.WriteAsync(s => s.LeaseWebhookDeliveryAsync(delivery.Id, holder, now, now + Lease), cancellationToken).ConfigureAwait(false))
        {
            // Another node took it first.
            return false;
        }

        var secret = await OpenSecretAsync(due, cancellationToken).ConfigureAwait(false);
        var result = await sender.SendAsync(due.Url, delivery.EventId, delivery.Event, delivery.Body, secret, clock.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        var at = clock.GetUtcNow();
        int attempts = delivery.Attempts + 1;
        var state = result.Delivered ? WebhookDeliveryState.Delivered
            : at - delivery.CreatedAt >= TimeSpan.FromSeconds(settings.RetryForSeconds) ? WebhookDeliveryState.Failed
            : WebhookDeliveryState.Pending;
        var attempt = new WebhookAttempt
        {
            State = state,
            At = at,
            NextAttemptAt = state == WebhookDeliveryState.Pending ? at + Backoff(attempts, settings) : at,
            Status = result.Status,
            Error = result.Error,
        };

        // Not cancelled with the host: an attempt that was made is recorded, or its delivery would be sent again.
        if (!await store.WriteAsync(s => s.RecordWebhookAttemptAsync(delivery.Id, holder, attempt), CancellationToken.None).ConfigureAwait(false))
        {
            LogLeaseLost(logger, delivery.Id);
        }

        if (state == WebhookDeliveryState.Failed)
        {
            LogGaveUp(logger, delivery.Id, delivery.WebhookId, attempts, result.Error ?? "");
        }
        else if (state == WebhookDeliveryState.Pending)
        {
            LogAttemptFailed(logger, delivery.Id, delivery.WebhookId, attempts, result.Error ?? "");
        }

        return true;
    }

    /// <summary>The wait before attempt <paramref name="attempts"/> + 1: doubling from the first retry's, capped, with ±20 % jitter so receivers coming back are not hit by every sender at once.</summary>
    internal static TimeSpan Backoff(int attempts, WebhookOptions settings)
    {
        double seconds = Math.Min(settings.FirstRetrySeconds * Math.Pow(2, Math.Min(attempts - 1, 30)), settings.MaxRetryDelaySeconds);
        return TimeSpan.FromSeconds(seconds * (0.8 + (0.4 * Random.Shared.NextDouble())));
    }

    private async Task<string> OpenSecretAsync(DueWebhookDelivery due, CancellationToken cancellationToken)
    {
        var plaintext = serverKey.Open(WebhookService.SecretPurpose, due.SealedSecret, out bool stale);
        if (stale)
        {
            // Sealed with the previous server key (a rotation is under way): sealed again with the current one.
            var resealed = serverKey.Seal(WebhookService.SecretPurpose, plaintext);
            await store.WriteAsync(s => s.ResealWebhookSecretAsync(due.Delivery.WebhookId, due.SealedSecret, resealed), cancellationToken).ConfigureAwait(false);
        }

        return Encoding.UTF8.GetString(plaintext);
    }

    [LoggerMessage(EventId = LogEvents.WebhookAttemptFailed, Level = LogLevel.Information, Message = "Webhook delivery {Delivery} of webhook {Webhook} failed (attempt {Attempts}); it is retried: {Error}")]
    private static partial void LogAttemptFailed(ILogger logger, long delivery, string webhook, int attempts, string error);

    [LoggerMessage(EventId = LogEvents.WebhookGivenUp, Level = LogLevel.Warning, Message = "Webhook delivery {Delivery} of webhook {Webhook} is given up after {Attempts} attempts: {Error}")]
    private static partial void LogGaveUp(ILogger logger, long delivery, string webhook, int attempts, string error);

    [LoggerMessage(EventId = LogEvents.WebhookDispatchFailed, Level = LogLevel.Warning, Message = "Could not send webhook deliveries; trying again shortly")]
    private static partial void LogFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = LogEvents.WebhookLeaseLost, Level = LogLevel.Warning, Message = "The lease on webhook delivery {Delivery} ran out before its attempt was recorded; another node may send it again")]
    private static partial void LogLeaseLost(ILogger logger, long delivery);
}
