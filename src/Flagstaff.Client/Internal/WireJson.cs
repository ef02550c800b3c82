using System.Text.Json;
using System.Text.Json.Serialization;

namespace Flagstaff.Client.Internal;

/// <summary>The body of <c>POST /report</c> (docs/wire/wire-api.md): every part optional.</summary>
internal sealed class UsageReportBody
{
    public List<UsageReportClient>? Clients { get; set; }

    /// <summary>Property name to [first seen, last seen], Unix seconds.</summary>
    public Dictionary<string, long[]>? ReceivedProperties { get; set; }

    /// <summary>Property name to [value] or [value, label] lists.</summary>
    public Dictionary<string, List<string[]>>? ReceivedValues { get; set; }
}

internal sealed class UsageReportClient
{
    public string? Id { get; set; }

    public Dictionary<string, List<UsageReportValue>> Flags { get; set; } = [];
}

internal sealed class UsageReportValue
{
    public JsonElement? Value { get; set; }

    public JsonElement? Default { get; set; }

    public long Count { get; set; }
}

/// <summary>The body of <c>POST /migrations/report</c> (docs/adr/0004-migrations.md).</summary>
internal sealed class MigrationReportBody
{
    public List<MigrationMeasurement> Measurements { get; set; } = [];
}

/// <summary>One flag, stage and operation over one interval.</summary>
internal sealed class MigrationMeasurement
{
    public string Flag { get; set; } = "";

    public string Stage { get; set; } = "";

    public string Operation { get; set; } = "";

    /// <summary>Unix milliseconds.</summary>
    public long From { get; set; }

    /// <summary>Unix milliseconds.</summary>
    public long To { get; set; }

    public MigrationSideReport? Old { get; set; }

    public MigrationSideReport? New { get; set; }

    public long Compared { get; set; }

    public long Inconsistent { get; set; }

    public long FailedWrites { get; set; }
}

/// <summary>One side's calls, errors and latency histogram as <c>[bucket, count]</c> pairs.</summary>
internal sealed class MigrationSideReport
{
    public long Invoked { get; set; }

    public long Errors { get; set; }

    public List<long[]> Latency { get; set; } = [];
}

/// <summary>An error answer: <c>{"error": "..."}</c>.</summary>
internal sealed class ErrorBody
{
    public string? Error { get; set; }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(UsageReportBody))]
[JsonSerializable(typeof(MigrationReportBody))]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(string))]
internal sealed partial class WireJson : JsonSerializerContext;
