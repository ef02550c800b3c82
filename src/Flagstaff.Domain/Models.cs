using System.Text.Json;
using System.Text.Json.Serialization;

namespace Flagstaff.Domain;

/// <summary>What a flag is for; drives defaults, templates and stale-flag detection.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FlagKind>))]
public enum FlagKind
{
    /// <summary>A release toggle: temporary, removed once fully rolled out.</summary>
    [JsonStringEnumMemberName("release")]
    Release,

    /// <summary>A kill switch: long-lived, turns a code path off in an emergency.</summary>
    [JsonStringEnumMemberName("kill-switch")]
    KillSwitch,

    /// <summary>An experiment (A/B/n test): temporary.</summary>
    [JsonStringEnumMemberName("experiment")]
    Experiment,

    /// <summary>An operational setting (remote configuration): long-lived.</summary>
    [JsonStringEnumMemberName("operational")]
    Operational,

    /// <summary>A permission (entitlement): long-lived.</summary>
    [JsonStringEnumMemberName("permission")]
    Permission,

    /// <summary>A migration: its variations are the stages of moving from an old system to a new one.</summary>
    [JsonStringEnumMemberName("migration")]
    Migration,
}

/// <summary>The JSON type of a flag's values.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FlagValueType>))]
public enum FlagValueType
{
    /// <summary>true or false.</summary>
    [JsonStringEnumMemberName("boolean")]
    Boolean,

    /// <summary>Text.</summary>
    [JsonStringEnumMemberName("string")]
    String,

    /// <summary>A number.</summary>
    [JsonStringEnumMemberName("number")]
    Number,

    /// <summary>Any JSON value (objects and arrays for remote configuration).</summary>
    [JsonStringEnumMemberName("json")]
    Json,
}

/// <summary>A member's role, from least to most powerful.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Role>))]
public enum Role
{
    /// <summary>Sees everything, changes nothing.</summary>
    [JsonStringEnumMemberName("viewer")]
    Viewer,

    /// <summary>Changes flags, targeting, segments and context properties.</summary>
    [JsonStringEnumMemberName("editor")]
    Editor,

    /// <summary>Also manages projects, environments, API keys and members below owner.</summary>
    [JsonStringEnumMemberName("admin")]
    Admin,

    /// <summary>Everything, including other owners and admins.</summary>
    [JsonStringEnumMemberName("owner")]
    Owner,
}

/// <summary>Whether an API key may read the configuration (server) or only evaluated results (client).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ApiKeyKind>))]
public enum ApiKeyKind
{
    /// <summary>For browsers and mobile apps: evaluation results only, never the configuration.</summary>
    [JsonStringEnumMemberName("client")]
    Client,

    /// <summary>For back ends: may read the whole configuration and stream it.</summary>
    [JsonStringEnumMemberName("server")]
    Server,
}

/// <summary>The type of a context property, as the wire format's <c>GET /typing</c> names them.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PropertyType>))]
public enum PropertyType
{
    /// <summary>Text.</summary>
    [JsonStringEnumMemberName("STRING")]
    String,

    /// <summary>A version such as 1.2.3.</summary>
    [JsonStringEnumMemberName("VERSION")]
    Version,

    /// <summary>A phone number.</summary>
    [JsonStringEnumMemberName("PHONE")]
    Phone,

    /// <summary>A browser user agent.</summary>
    [JsonStringEnumMemberName("USER_AGENT")]
    UserAgent,

    /// <summary>An IP address.</summary>
    [JsonStringEnumMemberName("IP")]
    Ip,

    /// <summary>A language code.</summary>
    [JsonStringEnumMemberName("LANGUAGE")]
    Language,

    /// <summary>A country code.</summary>
    [JsonStringEnumMemberName("COUNTRY")]
    Country,

    /// <summary>A currency code.</summary>
    [JsonStringEnumMemberName("CURRENCY")]
    Currency,

    /// <summary>A number.</summary>
    [JsonStringEnumMemberName("NUMBER")]
    Number,

    /// <summary>A list of strings.</summary>
    [JsonStringEnumMemberName("STRING_ARRAY")]
    StringArray,

    /// <summary>A date (ISO text or a timestamp).</summary>
    [JsonStringEnumMemberName("DATE")]
    Date,

    /// <summary>true or false.</summary>
    [JsonStringEnumMemberName("BOOLEAN")]
    Boolean,

    /// <summary>One of a fixed set of options.</summary>
    [JsonStringEnumMemberName("SELECT")]
    Select,
}

/// <summary>A project: flags, segments and context properties shared by its environments.</summary>
public sealed record Project
{
    /// <summary>Stable identifier.</summary>
    public required string Id { get; init; }

    /// <summary>URL-safe key, unique on the server; never changes.</summary>
    public required string Key { get; init; }

    /// <summary>Display name.</summary>
    public required string Name { get; init; }

    /// <summary>Free text.</summary>
    public string? Description { get; init; }

    /// <summary>The context property percentage splits use unless a rule says otherwise (default <c>userId</c>).</summary>
    public required string StickinessProperty { get; init; }

    /// <summary>Incremented by every change; the ETag for optimistic concurrency.</summary>
    public long Version { get; init; }

    /// <summary>When it was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>When it was archived, if it is.</summary>
    public DateTimeOffset? ArchivedAt { get; init; }
}

/// <summary>An environment of a project (development, staging, production...).</summary>
public sealed record ProjectEnvironment
{
    /// <summary>Stable identifier.</summary>
    public required string Id { get; init; }

    /// <summary>The project it belongs to.</summary>
    public required string ProjectId { get; init; }

    /// <summary>URL-safe key, unique in the project; never changes.</summary>
    public required string Key { get; init; }

    /// <summary>Display name.</summary>
    public required string Name { get; init; }

    /// <summary>A CSS colour (<c>#rrggbb</c>) that marks the environment in the dashboard.</summary>
    public required string Color { get; init; }

    /// <summary>Display order.</summary>
    public int Position { get; init; }

    /// <summary>Whether turning a flag off here asks for confirmation (production).</summary>
    public bool Critical { get; init; }

    /// <summary>Incremented by every change to the environment itself.</summary>
    public long Version { get; init; }

    /// <summary>Incremented by every change to the environment's compiled configuration.</summary>
    public long ConfigVersion { get; init; }

    /// <summary>When it was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>One value a flag can serve.</summary>
public sealed record Variation
{
    /// <summary>Key, unique in the flag (letters, digits, <c>-</c>, <c>_</c>, <c>.</c>).</summary>
    public required string Key { get; init; }

    /// <summary>Display name.</summary>
    public string? Name { get; init; }

    /// <summary>
    /// The value served (of the flag's value type); none for the fallback. A JSON <c>null</c> is a
    /// value (a JSON flag may serve it), told apart from no value at all.
    /// </summary>
    [JsonConverter(typeof(JsonValueConverter))]
    public JsonElement? Value { get; init; }

    /// <summary>Free text.</summary>
    public string? Description { get; init; }

    /// <summary>
    /// The fallback: serving it makes the flag inactive, so applications use the default written in
    /// their code. At most one variation is the fallback.
    /// </summary>
    public bool Fallback { get; init; }
}

/// <summary>A feature flag's settings, shared by all environments.</summary>
public sealed record Flag
{
    /// <summary>Stable identifier.</summary>
    public required string Id { get; init; }

    /// <summary>The project it belongs to.</summary>
    public required string ProjectId { get; init; }

    /// <summary>The key applications use; unique in the project and never changes.</summary>
    public required string Key { get; init; }

    /// <summary>Display name.</summary>
    public required string Name { get; init; }

    /// <summary>Free text.</summary>
    public string? Description { get; init; }

    /// <summary>Labels for search and filters.</summary>
    public IReadOnlyList<string> Tags { get; set; } = [];

    /// <summary>What the flag is for.</summary>
    public FlagKind Kind { get; init; }

    /// <summary>The JSON type of its values.</summary>
    public FlagValueType ValueType { get; init; }

    /// <summary>The values it can serve.</summary>
    public IReadOnlyList<Variation> Variations { get; set; } = [];

    /// <summary>A migration flag's settings (path, compare rate, guards); null for other kinds.</summary>
    public MigrationSettings? Migration { get; init; }

    /// <summary>The seed of its percentage rules: one per flag, so its splits are independent of other flags'.</summary>
    public uint Seed { get; init; }

    /// <summary>Incremented by every change to the settings; the ETag for optimistic concurrency.</summary>
    public long Version { get; init; }

    /// <summary>Incremented by every change to the flag or its targeting in any environment: its history.</summary>
    public long Revision { get; init; }

    /// <summary>When it was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>When it was archived, if it is (archived flags are served to no one).</summary>
    public DateTimeOffset? ArchivedAt { get; init; }
}

/// <summary>How a flag behaves in one environment.</summary>
public sealed record Targeting
{
    /// <summary>The flag.</summary>
    public required string FlagId { get; init; }

    /// <summary>The environment.</summary>
    public required string EnvironmentId { get; init; }

    /// <summary>The main switch: off makes the flag inactive for everyone (the kill switch).</summary>
    public bool Enabled { get; init; }

    /// <summary>Ordered rules: the first that matches decides.</summary>
    public IReadOnlyList<TargetingRule> Rules { get; set; } = [];

    /// <summary>What everyone else gets.</summary>
    public required Serve DefaultServe { get; init; }

    /// <summary>Incremented by every change; the ETag for optimistic concurrency.</summary>
    public long Version { get; init; }

    /// <summary>When it last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>A targeting rule: clauses that must all match, what it serves, and optionally when.</summary>
public sealed record TargetingRule
{
    /// <summary>Stable identifier within the flag (kept across edits, shown in history).</summary>
    public string? Id { get; init; }

    /// <summary>A label for people.</summary>
    public string? Name { get; init; }

    /// <summary>Conditions on the context, all of which must hold (none: everyone).</summary>
    public IReadOnlyList<Clause> Clauses { get; set; } = [];

    /// <summary>What the rule serves to the contexts it matches.</summary>
    public required Serve Serve { get; init; }

    /// <summary>When the rule applies, and an optional progressive rollout plan.</summary>
    public Schedule? Schedule { get; init; }
}

/// <summary>
/// One condition of a rule: an operator of the flag format applied to a context property, or
/// membership of a segment.
/// </summary>
public sealed record Clause
{
    /// <summary>The context property read (not for segment clauses).</summary>
    public string? Property { get; init; }

    /// <summary>An operator of the flag format, such as <c>STR_EQUAL</c> (not for segment clauses).</summary>
    public string? Operator { get; init; }

    /// <summary>A segment key: the clause holds when the context is in the segment.</summary>
    public string? Segment { get; init; }

    /// <summary>Flips the clause.</summary>
    public bool Negate { get; init; }

    /// <summary>The operand of list operators (<c>STR_*</c>, <c>ARR_OVERLAP</c>).</summary>
    public IReadOnlyList<string>? Values { get; init; }

    /// <summary>The operand of <c>STR_AFTER</c>, <c>STR_BEFORE</c>, <c>REGEXP</c> (text) and <c>EQ</c>, <c>LT</c>, <c>GT</c> (number).</summary>
    public JsonElement? Value { get; init; }

    /// <summary>The operand of <c>SEMVER_*</c>, such as <c>2.4.0</c>.</summary>
    public string? Version { get; init; }

    /// <summary>The operand of <c>DATE_AFTER</c> and <c>DATE_BEFORE</c>.</summary>
    public DateTimeOffset? Date { get; init; }

    /// <summary>The start of a <c>PERCENTAGE</c> clause's range, in percent (0 to 100).</summary>
    public double? From { get; init; }

    /// <summary>The end of a <c>PERCENTAGE</c> clause's range, in percent (0 to 100).</summary>
    public double? To { get; init; }
}

/// <summary>What a rule or the default serves: one variation, or a percentage split.</summary>
public sealed record Serve
{
    /// <summary>The variation served to everyone matched.</summary>
    public string? Variation { get; init; }

    /// <summary>A sticky percentage split across variations.</summary>
    public Split? Split { get; init; }

    /// <summary>Serves one variation.</summary>
    public static Serve Of(string variation) => new() { Variation = variation };
}

/// <summary>A sticky percentage split: each context lands in the same bucket every time.</summary>
public sealed record Split
{
    /// <summary>The context property that decides the bucket; the project's stickiness property when absent.</summary>
    public string? Property { get; init; }

    /// <summary>The buckets, in order; their weights add up to 100.</summary>
    public IReadOnlyList<SplitBucket> Buckets { get; set; } = [];
}

/// <summary>A share of a split.</summary>
public sealed record SplitBucket
{
    /// <summary>The variation served.</summary>
    public required string Variation { get; init; }

    /// <summary>The share, in percent (0 to 100, up to three decimals).</summary>
    public double Weight { get; init; }
}

/// <summary>When a rule applies, and how it rolls out.</summary>
public sealed record Schedule
{
    /// <summary>The rule applies from this instant.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>The rule applies until this instant.</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>
    /// A progressive rollout: from each step's instant, that percentage of contexts (by the project's
    /// stickiness property, or the rule's split property) is served the rule's variation.
    /// </summary>
    public IReadOnlyList<RolloutStep> Steps { get; set; } = [];

    /// <summary>The property that decides who is in a progressive rollout; the project's stickiness property when absent.</summary>
    public string? Property { get; init; }
}

/// <summary>One step of a progressive rollout.</summary>
public sealed record RolloutStep
{
    /// <summary>When the step begins.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>The share of contexts served from then on, in percent.</summary>
    public double Percentage { get; init; }
}

/// <summary>A reusable set of contexts: clauses that must all hold, or explicit ids.</summary>
public sealed record Segment
{
    /// <summary>Stable identifier.</summary>
    public required string Id { get; init; }

    /// <summary>The project it belongs to.</summary>
    public required string ProjectId { get; init; }

    /// <summary>Key, unique in the project.</summary>
    public required string Key { get; init; }

    /// <summary>Display name.</summary>
    public required string Name { get; init; }

    /// <summary>Free text.</summary>
    public string? Description { get; init; }

    /// <summary>Clauses that must all hold (operators only, no nested segments).</summary>
    public IReadOnlyList<Clause> Clauses { get; set; } = [];

    /// <summary>The property explicit ids are matched on; the project's stickiness property when absent.</summary>
    public string? IdProperty { get; init; }

    /// <summary>Explicit ids of contexts in the segment.</summary>
    public IReadOnlyList<string> Ids { get; set; } = [];

    /// <summary>Incremented by every change.</summary>
    public long Version { get; init; }

    /// <summary>When it was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>A context property the project knows about, offered when building rules.</summary>
public sealed record ContextProperty
{
    /// <summary>Stable identifier.</summary>
    public required string Id { get; init; }

    /// <summary>The project it belongs to.</summary>
    public required string ProjectId { get; init; }

    /// <summary>The property's name in contexts.</summary>
    public required string Key { get; init; }

    /// <summary>Display name.</summary>
    public required string Name { get; init; }

    /// <summary>Free text.</summary>
    public string? Description { get; init; }

    /// <summary>Its type, which decides the operators offered.</summary>
    public PropertyType Type { get; init; }

    /// <summary>The allowed values of a SELECT property.</summary>
    public IReadOnlyList<string> Options { get; set; } = [];

    /// <summary>Hidden from the rule builder's suggestions.</summary>
    public bool Hidden { get; init; }

    /// <summary>When an SDK first reported seeing the property in a context.</summary>
    public DateTimeOffset? FirstSeen { get; init; }

    /// <summary>When an SDK last reported seeing the property in a context.</summary>
    public DateTimeOffset? LastSeen { get; init; }

    /// <summary>
    /// Added to the catalogue by a usage report and not defined or changed by a person since: what
    /// the per-project limit on learned properties counts, and what bulk removal removes.
    /// </summary>
    public bool Learned { get; init; }

    /// <summary>Incremented by every change.</summary>
    public long Version { get; init; }

    /// <summary>When it was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>An API key of an environment (the secret itself is never stored).</summary>
public sealed record ApiKey
{
    /// <summary>Stable identifier.</summary>
    public required string Id { get; init; }

    /// <summary>The project.</summary>
    public required string ProjectId { get; init; }

    /// <summary>The environment it reads.</summary>
    public required string EnvironmentId { get; init; }

    /// <summary>A label.</summary>
    public required string Name { get; init; }

    /// <summary>Client or server.</summary>
    public ApiKeyKind Kind { get; init; }

    /// <summary>The first characters of the secret, to recognise it.</summary>
    public required string Prefix { get; init; }

    /// <summary>When it was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Who created it.</summary>
    public string? CreatedBy { get; init; }

    /// <summary>When it was last used (to within a minute).</summary>
    public DateTimeOffset? LastUsedAt { get; init; }

    /// <summary>When it was revoked, if it was.</summary>
    public DateTimeOffset? RevokedAt { get; init; }
}

/// <summary>A person who can sign in to the dashboard and use the management API.</summary>
public sealed record Account
{
    /// <summary>Stable identifier.</summary>
    public required string Id { get; init; }

    /// <summary>E-mail address, unique (case-insensitive); the login.</summary>
    public required string Email { get; init; }

    /// <summary>Display name.</summary>
    public required string Name { get; init; }

    /// <summary>What the member may do.</summary>
    public Role Role { get; init; }

    /// <summary>Incremented by every change.</summary>
    public long Version { get; init; }

    /// <summary>When it was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>When it was disabled, if it was.</summary>
    public DateTimeOffset? DisabledAt { get; init; }
}

/// <summary>A personal access token, for the management API and the CLI (the secret itself is never stored).</summary>
public sealed record AccessToken
{
    /// <summary>Stable identifier.</summary>
    public required string Id { get; init; }

    /// <summary>Whose token it is; it acts with that member's role.</summary>
    public required string AccountId { get; init; }

    /// <summary>A label.</summary>
    public required string Name { get; init; }

    /// <summary>The first characters of the secret, to recognise it.</summary>
    public required string Prefix { get; init; }

    /// <summary>When it was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it was last used.</summary>
    public DateTimeOffset? LastUsedAt { get; init; }

    /// <summary>When it stops working, if ever.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>When it was revoked, if it was.</summary>
    public DateTimeOffset? RevokedAt { get; init; }
}

/// <summary>Who made a change, and from where.</summary>
public sealed record Actor
{
    /// <summary>The account, or null for the system (provisioning, schedules, guards).</summary>
    public string? AccountId { get; init; }

    /// <summary>A readable name ("Ada Lovelace", "provisioning", "guard").</summary>
    public required string Name { get; init; }

    /// <summary>The client's address, when the change came over HTTP.</summary>
    public string? Address { get; init; }

    /// <summary>The system itself.</summary>
    public static Actor System(string name) => new() { Name = name };
}

/// <summary>One recorded change: who, when, from where, and the state before and after.</summary>
public sealed record AuditEntry
{
    /// <summary>Increasing sequence number.</summary>
    public long Id { get; init; }

    /// <summary>When.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>Who.</summary>
    public required Actor Actor { get; init; }

    /// <summary>The project concerned, if any.</summary>
    public string? ProjectId { get; init; }

    /// <summary>The environment concerned, if any.</summary>
    public string? EnvironmentId { get; init; }

    /// <summary>The flag concerned, if any.</summary>
    public string? FlagId { get; init; }

    /// <summary>What kind of thing changed (project, environment, flag, segment...).</summary>
    public required string ResourceType { get; init; }

    /// <summary>Its key.</summary>
    public required string ResourceKey { get; init; }

    /// <summary>What happened (created, updated, archived, enabled, reverted...).</summary>
    public required string Action { get; init; }

    /// <summary>For flags: the flag's revision after the change.</summary>
    public long? Revision { get; init; }

    /// <summary>The state before (null for a creation).</summary>
    public JsonElement? Before { get; init; }

    /// <summary>The state after (null for a deletion).</summary>
    public JsonElement? After { get; init; }

    /// <summary>An optional note.</summary>
    public string? Comment { get; init; }
}

/// <summary>
/// Reads a JSON <c>null</c> as a value (a <see cref="JsonElement"/> of kind Null) rather than as no
/// value, so that a variation can serve <c>null</c>; an absent property is still no value.
/// </summary>
public sealed class JsonValueConverter : JsonConverter<JsonElement?>
{
    /// <inheritdoc />
    public override bool HandleNull => true;

    /// <inheritdoc />
    public override JsonElement? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => JsonElement.ParseValue(ref reader);

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, JsonElement? value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (value is { } element)
        {
            element.WriteTo(writer);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}
