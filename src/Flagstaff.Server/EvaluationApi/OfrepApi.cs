using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using Flagstaff.DataPlane.Snapshots;
using Flagstaff.Domain;
using Flagstaff.Evaluation;
using Flagstaff.Management.Telemetry;
using Flagstaff.Server.Streaming;
using Microsoft.Extensions.Options;

namespace Flagstaff.Server.EvaluationApi;

/// <summary>
/// The OpenFeature Remote Evaluation Protocol (docs/wire/ofrep/openapi.yaml), so that every OpenFeature SDK
/// with an OFREP provider evaluates against Flagstaff. Reasons are the schema's own: TARGETING_MATCH (a
/// rule decided), SPLIT (a percentage decided, whichever bucket), STATIC (no rule decided: the default
/// served), DISABLED (the flag is off or serves its fallback, so the value is left out and the client
/// uses its own default). A value OFREP has no type for (a JSON array) is an evaluation failure.
/// </summary>
public static class OfrepApi
{
    public static IEndpointRouteBuilder MapOfrepApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/ofrep/v1/evaluate").WithTags("OFREP").AllowAnonymous();
        group.DisableHttpMetrics();
        group.ShortCircuit();

        // Errors are OFREP's {"errorCode", "errorDetails"}, not problems.
        group.ProducesOfrepErrors(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status429TooManyRequests, StatusCodes.Status503ServiceUnavailable, StatusCodes.Status413PayloadTooLarge);
        group.MapPost("/flags/{key}", EvaluateOne).WithName("OfrepEvaluateFlag").ProducesOfrepErrors(StatusCodes.Status404NotFound)
            .WithSummary("Evaluates one flag for {\"context\": {...}}. Key in Authorization: Bearer or X-API-Key.");
        group.MapPost("/flags", EvaluateAll).Described(EvaluateAll).WithName("OfrepEvaluateFlags")
            .WithSummary("Evaluates every flag for one context; ETag and 304 on If-None-Match; eventStreams for change notifications.");
        group.MapMethods("/flags/{key}", ["OPTIONS"], EvaluationHttp.Preflight).ExcludeFromDescription();
        group.MapMethods("/flags", ["OPTIONS"], EvaluationHttp.Preflight).ExcludeFromDescription();
        return app;
    }

    private static async Task EvaluateOne(string key, HttpContext context)
    {
        EvaluationHttp.AllowCors(context);
        var services = context.RequestServices;
        try
        {
            var (_, snapshot, evaluationContext) = await ReadRequestAsync(context).ConfigureAwait(false);
            context.Response.ContentType = "application/json";
            await using var writer = new Utf8JsonWriter(context.Response.BodyWriter);
            if (!snapshot.Flags.TryGetValue(key, out var flag))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                WriteError(writer, key, "FLAG_NOT_FOUND", $"There is no flag \"{key}\" in this environment.");
            }
            else
            {
                long now = services.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeMilliseconds();
                var result = flag.Enabled ? flag.Evaluator.Evaluate(evaluationContext, now) : default;
                if (flag.Enabled)
                {
                    services.GetRequiredService<FlagstaffMetrics>().FlagEvaluated(snapshot.Environment.Id, key);
                }

                if (Failure(flag, result) is { } failure)
                {
                    context.Response.StatusCode = StatusCodes.Status400BadRequest;
                    WriteError(writer, key, "GENERAL", failure);
                }
                else
                {
                    WriteResult(writer, flag, result, snapshot);
                }
            }

            await writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (EvaluationException e)
        {
            await WriteFailureAsync(context, e, key).ConfigureAwait(false);
        }
    }

    private static async Task EvaluateAll(HttpContext context)
    {
        EvaluationHttp.AllowCors(context);
        var services = context.RequestServices;
        try
        {
            var (key, snapshot, evaluationContext) = await ReadRequestAsync(context).ConfigureAwait(false);
            long now = services.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeMilliseconds();

            // A client key ships in web pages: the names of flags that are off (unreleased features)
            // are not shown to it. The ETag is computed from what is listed, so it follows this too.
            bool listOff = key.Kind == ApiKeyKind.Server;
            var buffer = new ArrayBufferWriter<byte>(4096);
            await using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartArray();
                foreach (var (_, flag) in snapshot.Flags.OrderBy(f => f.Key, StringComparer.Ordinal))
                {
                    if (!flag.Enabled && !listOff)
                    {
                        continue;
                    }

                    var result = flag.Enabled ? flag.Evaluator.Evaluate(evaluationContext, now) : default;
                    if (Failure(flag, result) is { } failure)
                    {
                        WriteError(writer, flag.Key, "GENERAL", failure);
                    }
                    else
                    {
                        WriteResult(writer, flag, result, snapshot);
                    }
                }

                writer.WriteEndArray();
            }

            snapshot.CountEvaluations(1);

            // The ETag depends only on this context's answers, so it changes only when they do.
            var etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(buffer.WrittenSpan))[..32] + "\"";
            context.Response.Headers.ETag = etag;
            context.Response.Headers.CacheControl = "no-cache";

            // A re-fetch triggered by a change event names the configuration it was told of; when that
            // is not the one answering, the client must get a full answer, whatever its ETag.
            var configEtag = context.Request.Query["flagConfigEtag"].ToString();
            bool staleConfig = configEtag.Length > 0 && configEtag != snapshot.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (!staleConfig && context.Request.Headers.IfNoneMatch.ToString() == etag)
            {
                context.Response.StatusCode = StatusCodes.Status304NotModified;
                return;
            }

            context.Response.ContentType = "application/json";
            var channel = services.GetRequiredService<OfrepChannels>().ChannelOf(snapshot.Environment.Id);
            await using var output = new Utf8JsonWriter(context.Response.BodyWriter);
            output.WriteStartObject();
            output.WritePropertyName("flags");
            output.WriteRawValue(buffer.WrittenSpan, skipInputValidation: true);
            output.WriteStartArray("eventStreams");
            output.WriteStartObject();
            output.WriteString("type", "sse");
            output.WriteString("url", $"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}/ofrep/v1/events/{channel}");
            output.WriteNumber("inactivityDelaySec", 120);
            output.WriteEndObject();
            output.WriteEndArray();
            output.WriteStartObject("metadata");
            output.WriteString("environment", snapshot.Environment.Key);
            output.WriteNumber("configVersion", snapshot.Version);
            output.WriteEndObject();
            output.WriteEndObject();
            await output.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (EvaluationException e)
        {
            await WriteFailureAsync(context, e, null).ConfigureAwait(false);
        }
    }

    private static async Task<(KeyEntry Key, EnvironmentSnapshot Snapshot, EvaluationContext Context)> ReadRequestAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var (key, snapshot) = services.GetRequiredService<EvaluationGate>().Open(context, KeyHeaders.Ofrep, serverOnly: false);
        var limits = services.GetRequiredService<IOptions<EvaluationOptions>>().Value;
        var reader = context.Request.BodyReader;
        var body = await EvaluationHttp.ReadBodyAsync(context, reader, limits).ConfigureAwait(false);
        try
        {
            if (body.IsEmpty)
            {
                return (key, snapshot, EvaluationHttp.Empty(context));
            }

            var json = new Utf8JsonReader(body, EvaluationHttp.ReaderOptions(limits));
            if (!json.Read() || json.TokenType != JsonTokenType.StartObject)
            {
                throw new EvaluationException(StatusCodes.Status400BadRequest, "The body must be an object: {\"context\": {...}}.", "PARSE_ERROR");
            }

            EvaluationContext? evaluationContext = null;
            while (json.Read() && json.TokenType == JsonTokenType.PropertyName)
            {
                bool isContext = json.ValueTextEquals("context"u8);
                json.Read();
                if (!isContext)
                {
                    json.Skip();
                    continue;
                }

                if (json.TokenType != JsonTokenType.StartObject)
                {
                    throw new EvaluationException(StatusCodes.Status400BadRequest, "\"context\" must be an object.", "INVALID_CONTEXT");
                }

                evaluationContext = EvaluationHttp.ReadContext(ref json, context, limits, snapshot.Project.StickinessProperty);
            }

            if (evaluationContext is not null && evaluationContext.TryGetValue("targetingKey", out var targetingKey) && targetingKey.Kind is not (ContextValueKind.String or ContextValueKind.Null))
            {
                throw new EvaluationException(StatusCodes.Status400BadRequest, "\"targetingKey\" must be a string.", "INVALID_CONTEXT");
            }

            return (key, snapshot, evaluationContext ?? EvaluationHttp.Empty(context));
        }
        catch (JsonException e)
        {
            throw new EvaluationException(StatusCodes.Status400BadRequest, $"The body is not valid JSON: {EvaluationHttp.FirstSentence(e.Message)}", "PARSE_ERROR");
        }
        finally
        {
            reader.AdvanceTo(body.End);
        }
    }

    private static void WriteResult(Utf8JsonWriter writer, SnapshotFlag flag, in EvaluationResult result, EnvironmentSnapshot snapshot)
    {
        writer.WriteStartObject();
        writer.WriteString("key", flag.Key);
        string reason;
        string variant;
        if (!flag.Enabled)
        {
            reason = "DISABLED";
            variant = FallbackVariant(flag);
        }
        else
        {
            variant = flag.VariationOf(result);
            reason = !result.IsActive ? "DISABLED"
                : result.ConditionIndex < 0 ? (flag.DefaultIsSplit ? "SPLIT" : "STATIC")
                : flag.ConditionRules[result.ConditionIndex] < 0 || result.Reason == EvaluationReason.Split ? "SPLIT"
                : "TARGETING_MATCH";
            if (result.Value is { } value)
            {
                writer.WritePropertyName("value");
                value.WriteTo(writer);
            }
        }

        writer.WriteString("reason", reason);
        writer.WriteString("variant", variant);

        // Nothing version-specific here: the bulk ETag is a hash of these results, and must change
        // only when this context's answers do.
        writer.WriteStartObject("metadata");
        writer.WriteString("environment", snapshot.Environment.Key);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>Why a result cannot be answered as an OFREP success, or null when it can.</summary>
    private static string? Failure(SnapshotFlag flag, in EvaluationResult result)
    {
        if (!flag.Enabled)
        {
            return null;
        }

        if (result.Reason == EvaluationReason.Error)
        {
            return result.ErrorMessage ?? "The flag could not be evaluated.";
        }

        return result.Value?.Kind switch
        {
            JsonValueKind.Array => $"Flag \"{flag.Key}\" serves a JSON array (variation \"{flag.VariationOf(result)}\"), which OFREP cannot carry: its values are booleans, strings, numbers and objects.",
            JsonValueKind.Null => $"Flag \"{flag.Key}\" serves null (variation \"{flag.VariationOf(result)}\"), which OFREP cannot carry: its values are booleans, strings, numbers and objects.",
            _ => null,
        };
    }

    // A disabled flag serves nothing; its variant is the fallback when it has one.
    private static string FallbackVariant(SnapshotFlag flag) => flag.FallbackVariation ?? flag.DefaultVariation;

    private static void WriteError(Utf8JsonWriter writer, string key, string code, string details)
    {
        writer.WriteStartObject();
        writer.WriteString("key", key);
        writer.WriteString("errorCode", code);
        writer.WriteString("errorDetails", details);
        writer.WriteEndObject();
    }

    private static async Task WriteFailureAsync(HttpContext context, EvaluationException e, string? key)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.StatusCode = e.Status;
        context.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(context.Response.BodyWriter);
        writer.WriteStartObject();
        if (key is not null)
        {
            writer.WriteString("key", key);
        }

        if (e.Status == StatusCodes.Status400BadRequest)
        {
            writer.WriteString("errorCode", e.ErrorCode ?? "GENERAL");
            writer.WriteString("errorDetails", e.Message);
        }
        else
        {
            writer.WriteString("errorDetails", e.Message);
        }

        writer.WriteEndObject();
        await writer.FlushAsync().ConfigureAwait(false);
    }
}
