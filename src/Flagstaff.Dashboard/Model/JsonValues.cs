using System.Globalization;
using System.Text.Json;
using Flagstaff.Domain;

namespace Flagstaff.Dashboard.Model;

/// <summary>JSON values made from what people type.</summary>
public static class JsonValues
{
    /// <summary>A JSON string.</summary>
    public static JsonElement String(string text) => JsonSerializer.SerializeToElement(text, DomainJson.Default.String);

    /// <summary>A JSON number.</summary>
    public static JsonElement Number(double value) => Parse(value.ToString("R", CultureInfo.InvariantCulture))!.Value;

    /// <summary>A JSON boolean.</summary>
    public static JsonElement Boolean(bool value) => Parse(value ? "true" : "false")!.Value;

    /// <summary>Parses JSON text; null when it is not JSON.</summary>
    public static JsonElement? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A value compactly, for display: strings quoted, JSON as written.</summary>
    public static string Show(JsonElement? value) => value is { } element ? element.GetRawText() : "—";

    /// <summary>A value as a person would type it in a field: strings unquoted, JSON indented.</summary>
    public static string Edit(JsonElement? value) => value switch
    {
        { ValueKind: JsonValueKind.String } text => text.GetString()!,
        { ValueKind: JsonValueKind.Object or JsonValueKind.Array } json => Indent(json),
        { } other => other.GetRawText(),
        null => "",
    };

    private static string Indent(JsonElement json)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteTo(writer);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
