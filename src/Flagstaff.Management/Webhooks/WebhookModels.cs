using System.Text.Json;
using System.Text.Json.Serialization;
using Flagstaff.Domain;

namespace Flagstaff.Management.Webhooks;

/// <summary>A webhook to create. <c>environment</c> null or absent: every environment.</summary>
public sealed record CreateWebhookRequest
{
    public required string Name { get; init; }

    public required string Url { get; init; }

    public required IReadOnlyList<string> Events { get; init; }

    public string? Environment { get; init; }

    // Nullable: the generated deserializer sets every init-only member, so an initializer's default would be lost.
    public WebhookFormat? Format { get; init; }

    public bool? Enabled { get; init; }
}

/// <summary>Changes to a webhook; absent members stay as they are. <c>environment</c> "" means every environment.</summary>
public sealed record UpdateWebhookRequest
{
    public string? Name { get; init; }

    public string? Url { get; init; }

    public IReadOnlyList<string>? Events { get; init; }

    public string? Environment { get; init; }

    public WebhookFormat? Format { get; init; }

    public bool? Enabled { get; init; }
}

/// <summary>A webhook as the API shows it: its environment by key, never its secret.</summary>
public sealed record WebhookView
{
    public required string Id { get; init; }

    public required string Name { get; init; }

    public required string Url { get; init; }

    public required IReadOnlyList<string> Events { get; init; }

    public string? Environment { get; init; }

    public WebhookFormat Format { get; init; }

    public bool Enabled { get; init; }

    public long Version { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }

    public static WebhookView From(Webhook webhook, string? environmentKey) => new()
    {
        Id = webhook.Id,
        Name = webhook.Name,
        Url = webhook.Url,
        Events = webhook.Events,
        Environment = environmentKey,
        Format = webhook.Format,
        Enabled = webhook.Enabled,
        Version = webhook.Version,
        CreatedAt = webhook.CreatedAt,
        UpdatedAt = webhook.UpdatedAt,
    };
}

/// <summary>A webhook with its signing secret, which is shown this once (on creation and on a new secret).</summary>
public sealed record CreatedWebhook(WebhookView Webhook, string Secret);

/// <summary>A page of a webhook's deliveries, newest first; <c>next</c> is the <c>before</c> of the next page.</summary>
public sealed record WebhookDeliveryPage(IReadOnlyList<WebhookDelivery> Items, long? Next);

/// <summary>The event document sent in the <c>json</c> format.</summary>
public sealed record WebhookEvent
{
    /// <summary>The event's id: the same in every attempt and every redelivery, for de-duplication.</summary>
    public required string Id { get; init; }

    public required string Type { get; init; }

    public DateTimeOffset At { get; init; }

    public required WebhookNamed Project { get; init; }

    public WebhookNamed? Environment { get; init; }

    public WebhookFlag? Flag { get; init; }

    public WebhookKey? ApiKey { get; init; }

    public required WebhookActor Actor { get; init; }

    public string? Comment { get; init; }
}

public sealed record WebhookNamed(string Key, string Name);

public sealed record WebhookFlag(string Key, long? Revision);

public sealed record WebhookKey(string Name, ApiKeyKind Kind, string Prefix);

public sealed record WebhookActor(string Name, bool System);

/// <summary>A Slack incoming-webhook message.</summary>
public sealed record SlackMessage(string Text);

[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(CreateWebhookRequest))]
[JsonSerializable(typeof(UpdateWebhookRequest))]
[JsonSerializable(typeof(WebhookView))]
[JsonSerializable(typeof(IReadOnlyList<WebhookView>))]
[JsonSerializable(typeof(CreatedWebhook))]
[JsonSerializable(typeof(WebhookDeliveryPage))]
[JsonSerializable(typeof(WebhookDelivery))]
[JsonSerializable(typeof(WebhookEvent))]
[JsonSerializable(typeof(SlackMessage))]
public sealed partial class WebhookJson : JsonSerializerContext;
