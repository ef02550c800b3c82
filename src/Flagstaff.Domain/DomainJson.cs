using System.Text.Json;
using System.Text.Json.Serialization;

namespace Flagstaff.Domain;

/// <summary>
/// Source-generated JSON for the domain: camelCase, nulls omitted, unknown members refused (so a
/// misspelt field is an error, not silently ignored).
/// </summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    MaxDepth = 64)]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(Project))]
[JsonSerializable(typeof(ProjectEnvironment))]
[JsonSerializable(typeof(Flag))]
[JsonSerializable(typeof(Targeting))]
[JsonSerializable(typeof(Segment))]
[JsonSerializable(typeof(ContextProperty))]
[JsonSerializable(typeof(ApiKey))]
[JsonSerializable(typeof(Account))]
[JsonSerializable(typeof(AccessToken))]
[JsonSerializable(typeof(AuditEntry))]
[JsonSerializable(typeof(FlagDocument))]
[JsonSerializable(typeof(ProjectDocument))]
[JsonSerializable(typeof(IReadOnlyList<TargetingRule>))]
[JsonSerializable(typeof(IReadOnlyList<Variation>))]
[JsonSerializable(typeof(IReadOnlyList<Clause>))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(Serve))]
[JsonSerializable(typeof(MigrationSettings))]
[JsonSerializable(typeof(MigrationPath))]
[JsonSerializable(typeof(Webhook))]
[JsonSerializable(typeof(WebhookDelivery))]
[JsonSerializable(typeof(IReadOnlyList<FlagCodeReferences>))]
public sealed partial class DomainJson : JsonSerializerContext;
