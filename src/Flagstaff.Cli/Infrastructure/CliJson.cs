using System.Text.Json;
using System.Text.Json.Serialization;

namespace Flagstaff.Cli.Infrastructure;

/// <summary>Source-generated JSON for the tool's own files and reports.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = true)]
[JsonSerializable(typeof(SavedLogin))]
internal sealed partial class CliJson : JsonSerializerContext;
