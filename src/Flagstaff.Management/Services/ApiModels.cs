using System.Text.Json;
using System.Text.Json.Serialization;
using Flagstaff.Domain;

namespace Flagstaff.Management.Services;

// Requests and responses of the management API that are not domain records themselves. Fields left
// out of an update (null) keep their value.

public sealed record SetupRequest(string Token, string Email, string Name, string Password);

public sealed record LoginRequest(string Email, string Password);

public sealed record ChangePasswordRequest(string CurrentPassword, string NewPassword);

public sealed record CreateMemberRequest(string Email, string Name, Role Role, string Password);

public sealed record UpdateMemberRequest
{
    public string? Name { get; init; }

    public Role? Role { get; init; }

    public bool? Disabled { get; init; }
}

public sealed record CreateTokenRequest(string Name, DateTimeOffset? ExpiresAt = null);

/// <summary>A new personal access token: <see cref="Secret"/> is shown this once and never again.</summary>
public sealed record CreatedToken(AccessToken Token, string Secret);

public sealed record CreateProjectRequest
{
    public required string Key { get; init; }

    public required string Name { get; init; }

    public string? Description { get; init; }

    public string? StickinessProperty { get; init; }

    /// <summary>The environments to create; default development, staging and production.</summary>
    public IReadOnlyList<CreateEnvironmentRequest>? Environments { get; init; }
}

public sealed record UpdateProjectRequest
{
    public string? Name { get; init; }

    public string? Description { get; init; }

    public string? StickinessProperty { get; init; }
}

public sealed record CreateEnvironmentRequest
{
    public required string Key { get; init; }

    public required string Name { get; init; }

    public string? Color { get; init; }

    public bool? Critical { get; init; }

    public int? Position { get; init; }
}

public sealed record UpdateEnvironmentRequest
{
    public string? Name { get; init; }

    public string? Color { get; init; }

    public bool? Critical { get; init; }

    public int? Position { get; init; }
}

public sealed record CreateFlagRequest
{
    public required string Key { get; init; }

    public required string Name { get; init; }

    public string? Description { get; init; }

    public IReadOnlyList<string>? Tags { get; init; }

    public FlagKind? Kind { get; init; }

    /// <summary>Default boolean.</summary>
    public FlagValueType? ValueType { get; init; }

    /// <summary>Default for a boolean flag: <c>on</c> (true) and <c>off</c> (the fallback).</summary>
    public IReadOnlyList<Variation>? Variations { get; init; }

    /// <summary>Initial targeting per environment key; others start off, serving the fallback (or the first variation).</summary>
    public IReadOnlyDictionary<string, EnvironmentTargeting>? Environments { get; init; }

    /// <summary>For a migration flag (required): its path, compare rate and guards. Its variations are made from the path.</summary>
    public MigrationSettings? Migration { get; init; }
}

public sealed record UpdateFlagRequest
{
    public string? Name { get; init; }

    public string? Description { get; init; }

    public IReadOnlyList<string>? Tags { get; init; }

    public FlagKind? Kind { get; init; }

    public IReadOnlyList<Variation>? Variations { get; init; }

    /// <summary>A migration flag's settings, replaced as a whole (fields left out take their defaults; the path cannot change).</summary>
    public MigrationSettings? Migration { get; init; }
}

/// <summary>A flag's targeting in one environment, as written by <c>PUT</c>.</summary>
public sealed record TargetingRequest
{
    public bool Enabled { get; init; }

    public IReadOnlyList<TargetingRule> Rules { get; set; } = [];

    public required Serve DefaultServe { get; init; }
}

/// <summary>A flag's targeting in one environment, as read.</summary>
public sealed record TargetingView
{
    public required string Environment { get; init; }

    public bool Enabled { get; init; }

    public IReadOnlyList<TargetingRule> Rules { get; set; } = [];

    public required Serve DefaultServe { get; init; }

    public long Version { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }

    public static TargetingView From(string environment, Targeting targeting) => new()
    {
        Environment = environment,
        Enabled = targeting.Enabled,
        Rules = targeting.Rules,
        DefaultServe = targeting.DefaultServe,
        Version = targeting.Version,
        UpdatedAt = targeting.UpdatedAt,
    };
}

/// <summary>A flag with its targeting in every environment.</summary>
public sealed record FlagDetails
{
    public required Flag Flag { get; init; }

    public IReadOnlyList<TargetingView> Environments { get; set; } = [];
}

public sealed record FlagList(IReadOnlyList<FlagDetails> Items, long Total, int Offset, int Limit);

/// <summary>A flag as it was at one revision: who changed it, when, and the whole flag.</summary>
public sealed record FlagRevision
{
    public long Revision { get; init; }

    public DateTimeOffset At { get; init; }

    public required Actor Actor { get; init; }

    public required string Action { get; init; }

    public string? Environment { get; init; }

    public string? Comment { get; init; }

    public required FlagDocument Flag { get; init; }
}

/// <summary>What to restore of a revision, and why.</summary>
/// <param name="Comment">The reason, recorded in the history (at most <see cref="Limits.DescriptionLength"/> characters).</param>
/// <param name="Environments">The environments whose targeting is restored; every environment when absent.</param>
/// <param name="Settings">Whether the flag's settings (name, description, tags, variations, migration settings) are restored too; true when absent.</param>
public sealed record RevertRequest(string? Comment = null, IReadOnlyList<string>? Environments = null, bool? Settings = null);

public sealed record SegmentRequest
{
    public string? Key { get; init; }

    public string? Name { get; init; }

    public string? Description { get; init; }

    public IReadOnlyList<Clause>? Clauses { get; init; }

    public string? IdProperty { get; init; }

    public IReadOnlyList<string>? Ids { get; init; }
}

/// <summary>The properties learned from reports that a bulk removal removed.</summary>
public sealed record RemovedProperties(int Removed, IReadOnlyList<string> Keys);

/// <summary>How much that usage reports carried was dropped for one reason, and when last.</summary>
public sealed record ReportDropCount(string Reason, long Count, DateTimeOffset LastAt);

public sealed record ContextPropertyRequest
{
    public string? Key { get; init; }

    public string? Name { get; init; }

    public string? Description { get; init; }

    public PropertyType? Type { get; init; }

    public IReadOnlyList<string>? Options { get; init; }

    public bool? Hidden { get; init; }
}

public sealed record CreateApiKeyRequest(string Name, ApiKeyKind Kind);

/// <summary>A new API key: <see cref="Secret"/> is shown this once and never again.</summary>
public sealed record CreatedApiKey(ApiKey Key, string Secret);

public sealed record ImportResult(string Project, int Created, int Updated, int Unchanged, bool Changed);

/// <summary>An audit entry with readable names for its project, environment and flag.</summary>
public sealed record AuditView
{
    public required AuditEntry Entry { get; init; }

    public string? Project { get; init; }

    public string? Environment { get; init; }

    public string? Flag { get; init; }
}

public sealed record AuditPage(IReadOnlyList<AuditView> Items, long? Next);

/// <summary>
/// A flag's evaluations in one environment over a period, as SDKs reported them: one entry in
/// <see cref="Values"/> per value served (largest total first) and one bucket per
/// <see cref="BucketMinutes"/>, whose counts are in the order of <see cref="Values"/>.
/// </summary>
public sealed record FlagUsage
{
    public required string Flag { get; init; }

    public required string Environment { get; init; }

    /// <summary>The start of the first bucket.</summary>
    public DateTimeOffset From { get; init; }

    /// <summary>The end of the last bucket (exclusive).</summary>
    public DateTimeOffset To { get; init; }

    public int BucketMinutes { get; init; }

    /// <summary>Every evaluation in the period.</summary>
    public long Total { get; init; }

    /// <summary>The start of the last minute the flag was evaluated in this environment, at any time usage is kept; null if never.</summary>
    public DateTimeOffset? LastEvaluated { get; init; }

    public IReadOnlyList<UsageValue> Values { get; init; } = [];

    public IReadOnlyList<UsageBucket> Buckets { get; init; } = [];
}

/// <summary>A value SDKs reported (JSON text, as sent), the flag's variation with that value if any, and how often it was served in the period.</summary>
public sealed record UsageValue(string Value, string? Variation, long Total);

/// <summary>One bucket of a period: when it starts, its evaluations, and their split by value (in the order of <see cref="FlagUsage.Values"/>).</summary>
public sealed record UsageBucket(DateTimeOffset Start, long Total, IReadOnlyList<long> Counts);

/// <summary>When each flag was last evaluated (the start of that minute), by environment key then flag key.</summary>
public sealed record LastEvaluated(IReadOnlyDictionary<string, IReadOnlyDictionary<string, DateTimeOffset>> Environments);

public sealed record Me(Account Account, bool SetupRequired);

public sealed record SetupStatus(bool SetupRequired);

/// <summary>How members can sign in.</summary>
/// <param name="Password">Who may sign in with a password.</param>
/// <param name="SingleSignOn">The OpenID Connect provider, when configured.</param>
public sealed record SignInMethods(
    [property: JsonConverter(typeof(JsonStringEnumConverter<Flagstaff.Management.Security.PasswordSignInMode>))] Flagstaff.Management.Security.PasswordSignInMode Password,
    SingleSignOnMethod? SingleSignOn);

/// <summary>The single sign-on provider: its name, and the path a browser opens to sign in with it (add <c>?returnUrl=/path</c>).</summary>
public sealed record SingleSignOnMethod(string Name, string Path);

/// <summary>Source-generated JSON for the management API's own types.</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    MaxDepth = 64)]
[JsonSerializable(typeof(SetupRequest))]
[JsonSerializable(typeof(LoginRequest))]
[JsonSerializable(typeof(ChangePasswordRequest))]
[JsonSerializable(typeof(CreateMemberRequest))]
[JsonSerializable(typeof(UpdateMemberRequest))]
[JsonSerializable(typeof(CreateTokenRequest))]
[JsonSerializable(typeof(CreatedToken))]
[JsonSerializable(typeof(CreateProjectRequest))]
[JsonSerializable(typeof(UpdateProjectRequest))]
[JsonSerializable(typeof(CreateEnvironmentRequest))]
[JsonSerializable(typeof(UpdateEnvironmentRequest))]
[JsonSerializable(typeof(CreateFlagRequest))]
[JsonSerializable(typeof(UpdateFlagRequest))]
[JsonSerializable(typeof(TargetingRequest))]
[JsonSerializable(typeof(TargetingView))]
[JsonSerializable(typeof(FlagDetails))]
[JsonSerializable(typeof(FlagList))]
[JsonSerializable(typeof(FlagRevision))]
[JsonSerializable(typeof(IReadOnlyList<FlagRevision>))]
[JsonSerializable(typeof(RevertRequest))]
[JsonSerializable(typeof(SegmentRequest))]
[JsonSerializable(typeof(ContextPropertyRequest))]
[JsonSerializable(typeof(CreateApiKeyRequest))]
[JsonSerializable(typeof(CreatedApiKey))]
[JsonSerializable(typeof(ImportResult))]
[JsonSerializable(typeof(AuditPage))]
[JsonSerializable(typeof(FlagUsage))]
[JsonSerializable(typeof(LastEvaluated))]
[JsonSerializable(typeof(RemovedProperties))]
[JsonSerializable(typeof(IReadOnlyList<ReportDropCount>))]
[JsonSerializable(typeof(MigrationStatus))]
[JsonSerializable(typeof(MigrationActionRequest))]
[JsonSerializable(typeof(Me))]
[JsonSerializable(typeof(SetupStatus))]
[JsonSerializable(typeof(SignInMethods))]
[JsonSerializable(typeof(IReadOnlyList<Project>))]
[JsonSerializable(typeof(IReadOnlyList<ProjectEnvironment>))]
[JsonSerializable(typeof(IReadOnlyList<Segment>))]
[JsonSerializable(typeof(IReadOnlyList<ContextProperty>))]
[JsonSerializable(typeof(IReadOnlyList<ApiKey>))]
[JsonSerializable(typeof(IReadOnlyList<Account>))]
[JsonSerializable(typeof(IReadOnlyList<AccessToken>))]
[JsonSerializable(typeof(Project))]
[JsonSerializable(typeof(ProjectEnvironment))]
[JsonSerializable(typeof(Segment))]
[JsonSerializable(typeof(ContextProperty))]
[JsonSerializable(typeof(ApiKey))]
[JsonSerializable(typeof(Account))]
[JsonSerializable(typeof(ProjectDocument))]
[JsonSerializable(typeof(JsonElement))]
public sealed partial class ApiJson : JsonSerializerContext;
