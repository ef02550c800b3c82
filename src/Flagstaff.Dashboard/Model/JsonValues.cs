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

    /// <summary>
    /// The warning for a JSON value that OpenFeature clients cannot read: OFREP has no array type, so
    /// the server answers an evaluation that serves an array with an error (<c>GENERAL</c>) and those
    /// clients get the default in their code; null for any other value (or text that is not JSON).
    /// </summary>
    public static string? OfrepWarning(string? text) => Parse(text) is { ValueKind: JsonValueKind.Array }
        ? "OpenFeature (OFREP) clients cannot read an array: they get an error and the default in their code. Tggl's and Flagstaff's SDKs read it. For every client, wrap it in an object, such as {\"items\": [...]}."
        : null;

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
