using System.Text.Json;
using System.Text.Json.Serialization;

namespace Flagstaff.Client.Internal;

/// <summary>The body of <c>POST /report</c> (spec/wire-api.md): every part optional.</summary>
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

/// <summary>An error answer: <c>{"error": "..."}</c>.</summary>
internal sealed class ErrorBody
{
    public string? Error { get; set; }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(UsageReportBody))]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(string))]
internal sealed partial class WireJson : JsonSerializerContext;
