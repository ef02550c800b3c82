using System.Text.Json.Serialization;

namespace Flagstaff.Domain;

/// <summary>The body a webhook sends.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<WebhookFormat>))]
public enum WebhookFormat
{
    /// <summary>Flagstaff's event document (JSON).</summary>
    [JsonStringEnumMemberName("json")]
    Json,

    /// <summary>A Slack incoming-webhook message (<c>{"text": ...}</c>), also understood by Mattermost and others.</summary>
    [JsonStringEnumMemberName("slack")]
    Slack,
}

/// <summary>Where a delivery stands.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<WebhookDeliveryState>))]
public enum WebhookDeliveryState
{
    /// <summary>Not delivered yet: waiting for its turn or for its next attempt.</summary>
    [JsonStringEnumMemberName("pending")]
    Pending,

    /// <summary>The receiver answered with a 2xx status.</summary>
    [JsonStringEnumMemberName("delivered")]
    Delivered,

    /// <summary>Given up after retrying for the configured time.</summary>
    [JsonStringEnumMemberName("failed")]
    Failed,
}

/// <summary>
/// A URL told about changes in a project (or in one of its environments). Its signing secret is not
/// part of it: it is shown once, when it is made.
/// </summary>
public sealed record Webhook
{
    /// <summary>Stable identifier.</summary>
    public required string Id { get; init; }

    /// <summary>The project.</summary>
    public required string ProjectId { get; init; }

    /// <summary>Only this environment's events (and the project-wide flag events), or null for every environment.</summary>
    public string? EnvironmentId { get; init; }

    /// <summary>A label.</summary>
    public required string Name { get; init; }

    /// <summary>Where events are posted (http or https).</summary>
    public required string Url { get; init; }

    /// <summary>The event types sent (see <c>WebhookEvents</c>).</summary>
    public required IReadOnlyList<string> Events { get; init; }

    /// <summary>The body sent.</summary>
    public WebhookFormat Format { get; init; }

    /// <summary>Whether events are recorded for it (a disabled webhook records nothing new).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Incremented by every change, for optimistic concurrency.</summary>
    public long Version { get; init; }

    /// <summary>When it was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>One event for one webhook, in the outbox: its body as sent, and how sending it went.</summary>
public sealed record WebhookDelivery
{
    /// <summary>Increasing sequence number: deliveries of a webhook are sent in this order.</summary>
    public long Id { get; init; }

    /// <summary>The webhook.</summary>
    public required string WebhookId { get; init; }

    /// <summary>The event's id, the same in every attempt (for the receiver to drop duplicates).</summary>
    public required string EventId { get; init; }

    /// <summary>The event type.</summary>
    public required string Event { get; init; }

    /// <summary>The request body, exactly as sent.</summary>
    public required string Body { get; init; }

    /// <summary>Where it stands.</summary>
    public WebhookDeliveryState State { get; init; }

    /// <summary>How many attempts were made.</summary>
    public int Attempts { get; init; }

    /// <summary>When the change was made.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it is next tried (while pending).</summary>
    public DateTimeOffset NextAttemptAt { get; init; }

    /// <summary>When it was last tried.</summary>
    public DateTimeOffset? LastAttemptAt { get; init; }

    /// <summary>The HTTP status of the last attempt, if the receiver answered.</summary>
    public int? LastStatus { get; init; }

    /// <summary>Why the last attempt failed (never the receiver's response body).</summary>
    public string? LastError { get; init; }

    /// <summary>When the receiver accepted it.</summary>
    public DateTimeOffset? DeliveredAt { get; init; }
}
