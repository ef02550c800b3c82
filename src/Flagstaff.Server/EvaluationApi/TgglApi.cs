using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using Flagstaff.Domain;
using Flagstaff.Evaluation;
using Microsoft.Extensions.Options;

namespace Flagstaff.Server.EvaluationApi;

/// <summary>
/// The Tggl-compatible evaluation API (docs/wire/wire-api.md): <c>POST /flags</c>, <c>GET /config</c>,
/// <c>GET /typing</c> (<c>POST /report</c> is in <see cref="Reports.ReportApi"/>). Every answer comes from the in-memory snapshot of the key's
/// environment; errors are <c>{"error": "..."}</c>. These handlers are the hot path of the server, so
/// they read and write JSON directly on the connection's pipes.
/// </summary>
public static class TgglApi
{
    public static IEndpointRouteBuilder MapTgglApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("").WithTags("Evaluation (Tggl-compatible)").AllowAnonymous();
        group.ShortCircuit();

        // The hot path: counted by flagstaff.http.requests alone, not by ASP.NET Core's request
        // duration histogram as well (measured in docs/benchmarks.md).
        group.DisableHttpMetrics();

        // Errors are Tggl's {"error"}, not problems: a key refused, over its rate, or an environment not loaded yet.
        group.ProducesTgglErrors(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status429TooManyRequests, StatusCodes.Status503ServiceUnavailable);
        group.MapPost("/flags", Flags).Described(Flags).WithName("EvaluateFlags").ProducesTgglErrors(StatusCodes.Status413PayloadTooLarge)
            .WithSummary("Evaluates every flag for one context (an object) or several (an array); answers the active flags, slug to value. Client or server key in X-Tggl-Api-Key.").WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(JsonElement), ["application/json"]));
        group.MapMethods("/flags", ["OPTIONS"], EvaluationHttp.Preflight).ExcludeFromDescription();
        group.MapGet("/config", Config).Described(Config).WithName("GetConfig").ProducesTgglErrors(StatusCodes.Status403Forbidden)
            .WithSummary("The environment's configuration (the flags that are on) in the flag format; ETag and 304. Server key.")
            .WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(JsonElement), ["application/json"]));
        group.MapGet("/typing", Typing).Described(Typing).WithName("GetTyping").ProducesTgglErrors(StatusCodes.Status403Forbidden)
            .WithSummary("The values each flag can serve and the known context properties with their types. Server key.");
        return app;
    }

    private static EvaluationOptions Limits(HttpContext context) => context.RequestServices.GetRequiredService<IOptions<EvaluationOptions>>().Value;

    private static async Task Flags(HttpContext context)
    {
        EvaluationHttp.AllowCors(context);
        var services = context.RequestServices;
        try
        {
            var (_, snapshot) = services.GetRequiredService<EvaluationGate>().Open(context, KeyHeaders.Tggl, serverOnly: false);
            var limits = Limits(context);
            var reader = context.Request.BodyReader;
            var body = await EvaluationHttp.ReadBodyAsync(context, reader, limits).ConfigureAwait(false);
            List<EvaluationContext> contexts;
            bool batch;
            try
            {
                contexts = ParseContexts(body, context, limits, out batch);
            }
            finally
            {
                reader.AdvanceTo(body.End);
            }

            long now = services.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeMilliseconds();
            if (batch)
            {
                var answer = EvaluateBatch(snapshot.Active, contexts, now, limits.BatchBudgetMilliseconds);
                snapshot.CountEvaluations(contexts.Count);
                context.Response.ContentType = "application/json";
                await context.Response.Body.WriteAsync(answer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
                return;
            }

            context.Response.ContentType = "application/json";
            await using var writer = new Utf8JsonWriter(context.Response.BodyWriter);
            WriteActiveFlags(writer, snapshot.Active, contexts[0], now);
            snapshot.CountEvaluations(1);
            await writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (EvaluationException e)
        {
            await WriteErrorAsync(context, e.Status, e.Message).ConfigureAwait(false);
        }
    }

    private static List<EvaluationContext> ParseContexts(ReadOnlySequence<byte> body, HttpContext http, EvaluationOptions limits, out bool batch)
    {
        var reader = new Utf8JsonReader(body, EvaluationHttp.ReaderOptions(limits));
        var contexts = new List<EvaluationContext>();
        batch = false;
        if (body.IsEmpty)
        {
            throw new EvaluationException(StatusCodes.Status400BadRequest, "The body is empty: send a context object, or an array of them.");
        }

        try
        {
            reader.Read();

            if (reader.TokenType == JsonTokenType.StartArray)
            {
                batch = true;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (contexts.Count == limits.MaxBatch)
                    {
                        throw new EvaluationException(StatusCodes.Status400BadRequest, $"A batch holds at most {limits.MaxBatch} contexts.");
                    }

                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        throw new EvaluationException(StatusCodes.Status400BadRequest, $"Element {contexts.Count} of the batch is not a context object.");
                    }

                    contexts.Add(EvaluationHttp.ReadContext(ref reader, http, limits));
                }
            }
            else if (reader.TokenType == JsonTokenType.StartObject)
            {
                contexts.Add(EvaluationHttp.ReadContext(ref reader, http, limits));
            }
            else
            {
                throw new EvaluationException(StatusCodes.Status400BadRequest, "The body must be a context object, or an array of them.");
            }

            if (reader.Read())
            {
                throw new EvaluationException(StatusCodes.Status400BadRequest, "Unexpected data after the JSON value.");
            }
        }
        catch (JsonException e)
        {
            throw new EvaluationException(StatusCodes.Status400BadRequest, $"The body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {EvaluationHttp.FirstSentence(e.Message)}");
        }

        return contexts;
    }

    /// <summary>
    /// Evaluates a batch into a buffer, so that a batch over its time budget is refused whole (413)
    /// rather than answered in part: the clock is read after each context.
    /// </summary>
    private static ArrayBufferWriter<byte> EvaluateBatch(FlagConfiguration configuration, List<EvaluationContext> contexts, long now, int budgetMilliseconds)
    {
        var buffer = new ArrayBufferWriter<byte>(256 * contexts.Count);
        using var writer = new Utf8JsonWriter(buffer);
        long started = Stopwatch.GetTimestamp();
        writer.WriteStartArray();
        for (int i = 0; i < contexts.Count; i++)
        {
            WriteActiveFlags(writer, configuration, contexts[i], now);
            if (i + 1 < contexts.Count && Stopwatch.GetElapsedTime(started).TotalMilliseconds > budgetMilliseconds)
            {
                throw new EvaluationException(
                    StatusCodes.Status413PayloadTooLarge,
                    $"The batch was stopped after {i + 1} of {contexts.Count} contexts: evaluating one request may take at most {budgetMilliseconds} ms. Send smaller batches.");
            }
        }

        writer.WriteEndArray();
        writer.Flush();
        return buffer;
    }

    /// <summary>Writes the active flags for one context as an object, slug to value.</summary>
    internal static void WriteActiveFlags(Utf8JsonWriter writer, FlagConfiguration configuration, EvaluationContext context, long now)
    {
        writer.WriteStartObject();
        foreach (var flag in configuration)
        {
            if (flag.Evaluate(context, now).Value is { } value)
            {
                writer.WritePropertyName(flag.Slug);
                value.WriteTo(writer);
            }
        }

        writer.WriteEndObject();
    }

    private static async Task Config(HttpContext context)
    {
        try
        {
            var (_, snapshot) = context.RequestServices.GetRequiredService<EvaluationGate>().Open(context, KeyHeaders.Tggl, serverOnly: true);
            context.Response.Headers.ETag = snapshot.ETag;
            context.Response.Headers.CacheControl = "no-cache";
            if (context.Request.Headers.IfNoneMatch.ToString() == snapshot.ETag)
            {
                context.Response.StatusCode = StatusCodes.Status304NotModified;
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(snapshot.ConfigJson, context.RequestAborted).ConfigureAwait(false);
        }
        catch (EvaluationException e)
        {
            await WriteErrorAsync(context, e.Status, e.Message).ConfigureAwait(false);
        }
    }

    private static async Task Typing(HttpContext context)
    {
        try
        {
            var services = context.RequestServices;
            var (key, snapshot) = services.GetRequiredService<EvaluationGate>().Open(context, KeyHeaders.Tggl, serverOnly: true);
            var catalogue = await services.GetRequiredService<TypingCatalogue>().GetAsync(key.ProjectId, context.RequestAborted).ConfigureAwait(false);

            context.Response.ContentType = "application/json";
            await using var writer = new Utf8JsonWriter(context.Response.BodyWriter);
            writer.WriteStartObject();
            writer.WriteStartObject("flags");
            foreach (var (slug, flag) in snapshot.Flags.OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                writer.WriteStartArray(slug);
                foreach (var value in flag.ActiveValues)
                {
                    value.WriteTo(writer);
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
            writer.WriteStartObject("context");
            var values = catalogue.Values.ToLookup(v => v.Property);
            foreach (var property in catalogue.Properties)
            {
                writer.WriteStartObject(property.Key);
                writer.WriteString("type", JsonSerializer.Serialize(property.Type, DomainJson.Default.PropertyType).Trim('"'));
                writer.WriteBoolean("hidden", property.Hidden);
                var options = property.Type == PropertyType.Select ? property.Options : [.. values[property.Key].Select(v => v.Value)];
                if (options.Count > 0)
                {
                    writer.WriteStartArray("options");
                    foreach (var option in options)
                    {
                        writer.WriteStartObject();
                        writer.WriteString("value", option);
                        writer.WriteEndObject();
                    }

                    writer.WriteEndArray();
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
            await writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (EvaluationException e)
        {
            await WriteErrorAsync(context, e.Status, e.Message).ConfigureAwait(false);
        }
    }

    internal static async Task WriteErrorAsync(HttpContext context, int status, string message)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(context.Response.BodyWriter, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        writer.WriteStartObject();
        writer.WriteString("error", message);
        writer.WriteEndObject();
        await writer.FlushAsync().ConfigureAwait(false);
    }
}
