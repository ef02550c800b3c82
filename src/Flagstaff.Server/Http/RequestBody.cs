using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Flagstaff.Domain;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Flagstaff.Server.Http;

/// <summary>
/// Reads JSON request bodies with explicit limits and errors that say what and where: a body that is
/// not JSON, too deep, too large, of the wrong shape, or with a field the endpoint does not know is
/// refused before anything is changed.
/// </summary>
public static class RequestBody
{
    public static async Task<T> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> typeInfo, long? maxBytes = null)
    {
        var request = context.Request;
        var limits = context.RequestServices.GetRequiredService<IOptions<FlagstaffOptions>>().Value.Limits;
        long limit = maxBytes ?? limits.MaxRequestBodyBytes;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit;
        }

        if (request.ContentLength > limit)
        {
            context.Response.Headers.Connection = "close";
            throw new PayloadTooLargeException(limit);
        }

        if (!(request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) ?? false)
            && !(request.ContentType?.Contains("+json", StringComparison.OrdinalIgnoreCase) ?? false))
        {
            throw new UnsupportedContentTypeException(request.ContentType);
        }

        var options = new JsonSerializerOptions(typeInfo.Options) { MaxDepth = limits.MaxJsonDepth };
        var info = (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));
        var reader = request.BodyReader;
        ReadResult read;
        try
        {
            // The whole body is read first (it is bounded by the limit): its text is checked before
            // anything is parsed, since a bad string would otherwise fail wherever it is first used.
            while (true)
            {
                read = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
                if (read.Buffer.Length > limit)
                {
                    reader.AdvanceTo(read.Buffer.End);
                    context.Response.Headers.Connection = "close";
                    throw new PayloadTooLargeException(limit);
                }

                if (read.IsCompleted)
                {
                    break;
                }

                reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            context.Response.Headers.Connection = "close";
            throw new PayloadTooLargeException(limit);
        }

        try
        {
            var body = read.Buffer;
            if (JsonText.Find(body, new JsonReaderOptions { MaxDepth = limits.MaxJsonDepth }, finiteNumbers: true) is { } invalid)
            {
                throw new DomainValidationException(invalid.Path, invalid.Reason());
            }

            var value = body.IsSingleSegment ? JsonSerializer.Deserialize(body.FirstSpan, info) : JsonSerializer.Deserialize(body.ToArray(), info);
            return value ?? throw new DomainValidationException("", "the body is empty or null; a JSON object is required");
        }
        catch (JsonException e)
        {
            throw new DomainValidationException(JsonPath(e.Path), Describe(e));
        }
        finally
        {
            reader.AdvanceTo(read.Buffer.End);
        }
    }

    // "$.rules[0].clauses" becomes "rules[0].clauses": the same paths validation uses.
    private static string JsonPath(string? path) => path is null or "$" ? "" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');

    private static string Describe(JsonException e)
    {
        var message = e.Message;
        if (message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal))
        {
            int start = message.IndexOf('\'', StringComparison.Ordinal);
            int end = start < 0 ? -1 : message.IndexOf('\'', start + 1);
            var name = end > start ? message[(start + 1)..end] : "?";
            return $"unknown field \"{name}\"";
        }

        if (message.Contains("maximum configured depth", StringComparison.Ordinal))
        {
            return "the JSON nests too deeply";
        }

        if (message.Contains("missing required properties", StringComparison.Ordinal))
        {
            int colon = message.IndexOf(':', StringComparison.Ordinal);
            return "required fields are missing:" + (colon >= 0 ? message[(colon + 1)..].Split('.')[0] : "");
        }

        if (message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal))
        {
            return "has the wrong type";
        }

        int dot = message.IndexOf(". ", StringComparison.Ordinal);
        return "is not valid JSON: " + (dot < 0 ? message : message[..dot]);
    }
}

public sealed class PayloadTooLargeException(long limit) : Exception($"The request body is larger than the limit of {limit} bytes.")
{
    public long Limit { get; } = limit;
}

public sealed class UnsupportedContentTypeException(string? contentType)
    : Exception($"The body must be JSON (Content-Type: application/json), not {(string.IsNullOrEmpty(contentType) ? "missing" : contentType)}.");
