using System.Text.Json.Serialization;

namespace Flagstaff.Domain;

/// <summary>
/// A flag with its targeting in every environment, by environment key: the shape of a flag in exports
/// and imports, and in its history (each revision records one).
/// </summary>
public sealed record FlagDocument
{
    /// <summary>The key applications use.</summary>
    public required string Key { get; init; }

    /// <summary>Display name.</summary>
    public required string Name { get; init; }

    /// <summary>Free text.</summary>
    public string? Description { get; init; }

    /// <summary>Labels.</summary>
    public IReadOnlyList<string> Tags { get; set; } = [];

    /// <summary>What the flag is for.</summary>
    public FlagKind Kind { get; init; }

    /// <summary>The JSON type of its values.</summary>
    public FlagValueType ValueType { get; init; }

    /// <summary>The values it can serve.</summary>
    public IReadOnlyList<Variation> Variations { get; set; } = [];

    /// <summary>A migration flag's settings.</summary>
    public MigrationSettings? Migration { get; init; }

    /// <summary>Whether it is archived.</summary>
    public bool Archived { get; init; }

    /// <summary>Targeting by environment key.</summary>
    public IReadOnlyDictionary<string, EnvironmentTargeting> Environments { get; set; } = new Dictionary<string, EnvironmentTargeting>();
}

/// <summary>A flag's targeting in one environment, without identifiers.</summary>
public sealed record EnvironmentTargeting
{
    /// <summary>The main switch.</summary>
    public bool Enabled { get; init; }

    /// <summary>Ordered rules.</summary>
    public IReadOnlyList<TargetingRule> Rules { get; set; } = [];

    /// <summary>What everyone else gets.</summary>
    public required Serve DefaultServe { get; init; }
}

/// <summary>An environment in an export.</summary>
public sealed record EnvironmentDocument
{
    /// <summary>Key.</summary>
    public required string Key { get; init; }

    /// <summary>Display name.</summary>
    public required string Name { get; init; }

    /// <summary>Colour.</summary>
    public string Color { get; set; } = "#64748b";

    /// <summary>Whether it is critical (production).</summary>
    public bool Critical { get; init; }
}

/// <summary>A segment in an export.</summary>
public sealed record SegmentDocument
{
    /// <summary>Key.</summary>
    public required string Key { get; init; }

    /// <summary>Display name.</summary>
    public required string Name { get; init; }

    /// <summary>Free text.</summary>
    public string? Description { get; init; }

    /// <summary>Clauses that must all hold.</summary>
    public IReadOnlyList<Clause> Clauses { get; set; } = [];

    /// <summary>The property ids are matched on.</summary>
    public string? IdProperty { get; init; }

    /// <summary>Explicit ids.</summary>
    public IReadOnlyList<string> Ids { get; set; } = [];
}

/// <summary>A context property in an export.</summary>
public sealed record ContextPropertyDocument
{
    /// <summary>Key.</summary>
    public required string Key { get; init; }

    /// <summary>Display name.</summary>
    public required string Name { get; init; }

    /// <summary>Free text.</summary>
    public string? Description { get; init; }

    /// <summary>Type.</summary>
    public PropertyType Type { get; init; }

    /// <summary>SELECT options.</summary>
    public IReadOnlyList<string> Options { get; set; } = [];

    /// <summary>Hidden from suggestions.</summary>
    public bool Hidden { get; init; }
}

/// <summary>
/// A whole project as one document (never API key secrets): what export produces and import takes.
/// Importing the same document twice changes nothing the second time.
/// </summary>
public sealed record ProjectDocument
{
    /// <summary>The document format's version.</summary>
    [JsonPropertyName("flagstaff")]
    public int FormatVersion { get; set; } = 1;

    /// <summary>The project key.</summary>
    public required string Key { get; init; }

    /// <summary>Display name.</summary>
    public required string Name { get; init; }

    /// <summary>Free text.</summary>
    public string? Description { get; init; }

    /// <summary>The default property for splits.</summary>
    public string StickinessProperty { get; set; } = "userId";

    /// <summary>Environments, in display order.</summary>
    public IReadOnlyList<EnvironmentDocument> Environments { get; set; } = [];

    /// <summary>Segments.</summary>
    public IReadOnlyList<SegmentDocument> Segments { get; set; } = [];

    /// <summary>Context properties.</summary>
    public IReadOnlyList<ContextPropertyDocument> ContextProperties { get; set; } = [];

    /// <summary>Flags with their targeting.</summary>
    public IReadOnlyList<FlagDocument> Flags { get; set; } = [];
}
