using System.Buffers;
using System.ComponentModel.DataAnnotations;
using System.IO.Pipelines;
using System.Text.Json;
using Flagstaff.Domain;
using Flagstaff.Evaluation;
using Flagstaff.Server.Http;

namespace Flagstaff.Server.EvaluationApi;

/// <summary>The limits and timings of the evaluation endpoints (<c>Flagstaff:Evaluation</c>).</summary>
public sealed class EvaluationOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Flagstaff:Evaluation";

    /// <summary>How often an idle stream gets a heartbeat comment.</summary>
    public double HeartbeatSeconds { get; set; } = 15;

    /// <summary>The largest body of POST /flags, POST /report and OFREP.</summary>
    public long MaxBodyBytes { get; set; } = 1 << 20;

    /// <summary>The most contexts in one POST /flags batch.</summary>
    public int MaxBatch { get; set; } = 1_000;

    /// <summary>
    /// How long one POST /flags batch may evaluate before it is cut off with 413, so that one request
    /// cannot starve the others whatever its contexts and the environment's rules cost.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(1, 60_000)]
    public int BatchBudgetMilliseconds { get; set; } = 1_000;

    /// <summary>The most properties in one context.</summary>
    public int MaxProperties { get; set; } = 500;

    /// <summary>How deeply a body's JSON may nest.</summary>
    public int MaxDepth { get; set; } = 32;

    /// <summary>Requests per second allowed per API key on the evaluation endpoints (0: no limit).</summary>
    public int RequestsPerSecondPerKey { get; set; }

    // What usage reports may add. Reports come with public client keys: past a limit, the rest is
    // dropped and counted (GET /api/projects/{project}/usage/dropped), never refused.

    /// <summary>The most context properties a project learns from reports (those defined by hand are not counted).</summary>
    [Range(0, 100_000)]
    public int MaxLearnedProperties { get; set; } = 1_000;

    /// <summary>The most values remembered per context property.</summary>
    [Range(0, 10_000)]
    public int MaxLearnedValues { get; set; } = 100;

    /// <summary>The longest value (and label) remembered; longer values are dropped, longer labels left out.</summary>
    [Range(1, Limits.ValueLength)]
    public int MaxLearnedValueLength { get; set; } = 200;

    /// <summary>The most property names one report may add or refresh.</summary>
    [Range(1, 100_000)]
    public int MaxReportProperties { get; set; } = 500;

    /// <summary>The most values one report may add or refresh.</summary>
    [Range(1, 1_000_000)]
    public int MaxReportValues { get; set; } = 5_000;

    /// <summary>The most usage series (distinct value and client) per flag, environment and minute.</summary>
    [Range(1, 10_000)]
    public int MaxUsageSeriesPerFlag { get; set; } = 50;
}

/// <summary>A request the evaluation endpoints refuse, with its status and message.</summary>
public sealed class EvaluationException(int status, string message, string? errorCode = null) : Exception(message)
{
    public int Status { get; } = status;

    /// <summary>The OFREP error code, where one applies.</summary>
    public string? ErrorCode { get; } = errorCode;
}

/// <summary>CORS, bodies and contexts for the evaluation endpoints, shared by the Tggl and OFREP routes.</summary>
public static class EvaluationHttp
{
    /// <summary>Opens CORS for browsers: any origin may call these routes with a client key.</summary>
    public static void AllowCors(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers.AccessControlAllowOrigin = "*";
        headers.AccessControlExposeHeaders = "ETag, Retry-After";
    }

    /// <summary>Answers a CORS preflight.</summary>
    public static Task Preflight(HttpContext context)
    {
        AllowCors(context);
        var headers = context.Response.Headers;
        headers.AccessControlAllowMethods = "GET, POST, OPTIONS";
        headers.AccessControlAllowHeaders = "Content-Type, X-Tggl-Api-Key, Authorization, X-API-Key, If-None-Match, Last-Event-ID";
        headers.AccessControlMaxAge = "86400";
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    }

    /// <summary>
    /// Reads a whole JSON body, refusing one over the limit (413) before reading it all, and one with a
    /// string that is not valid text (400, naming where), so that no handler meets such a string.
    /// The caller advances the reader past the body it returns.
    /// </summary>
    public static async Task<ReadOnlySequence<byte>> ReadBodyAsync(HttpContext context, PipeReader reader, EvaluationOptions limits)
    {
        long limit = limits.MaxBodyBytes;
        if (context.Request.ContentLength > limit)
        {
            throw TooLarge(context, limit);
        }

        while (true)
        {
            var result = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
            if (result.Buffer.Length > limit)
            {
                throw TooLarge(context, limit);
            }

            if (result.IsCompleted)
            {
                if (JsonText.Find(result.Buffer, ReaderOptions(limits)) is { } invalid)
                {
                    reader.AdvanceTo(result.Buffer.End);
                    throw new EvaluationException(StatusCodes.Status400BadRequest, invalid.Describe(), "PARSE_ERROR");
                }

                return result.Buffer;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    // The rest of the body is never read: the connection cannot be reused, and the client must know.
    private static EvaluationException TooLarge(HttpContext context, long limit)
    {
        context.Response.Headers.Connection = "close";
        return new EvaluationException(StatusCodes.Status413PayloadTooLarge, $"The body is larger than the limit of {limit} bytes.");
    }

    /// <summary>Reads one context object at the reader, with the limits, adding what the server adds.</summary>
    public static EvaluationContext ReadContext(ref Utf8JsonReader reader, HttpContext http, EvaluationOptions limits, string? stickiness = null)
    {
        EvaluationContext context;
        try
        {
            context = EvaluationContext.Read(ref reader, ServerProperties(http), limits.MaxProperties);
        }
        catch (ContextTooLargeException)
        {
            throw new EvaluationException(StatusCodes.Status400BadRequest, $"A context holds at most {limits.MaxProperties} properties.", "INVALID_CONTEXT");
        }

        return stickiness is null ? context : WithStickiness(context, stickiness);
    }

    /// <summary>
    /// The keys the server adds unless the caller set them (spec/flag-format.md): <c>ip</c> and
    /// <c>referer</c> here; <c>timestamp</c> is the clock passed to evaluation.
    /// </summary>
    public static KeyValuePair<string, ContextValue>[] ServerProperties(HttpContext http)
    {
        var referer = http.Request.Headers.Referer.ToString();
        var ip = http.Connection.RemoteIpAddress?.ToString();
        return (ip, referer.Length) switch
        {
            (null, 0) => [],
            (null, _) => [new("referer", ContextValue.FromString(referer))],
            (_, 0) => [new("ip", ContextValue.FromString(ip))],
            _ => [new("ip", ContextValue.FromString(ip)), new("referer", ContextValue.FromString(referer))],
        };
    }

    /// <summary>For OFREP: the <c>targetingKey</c> also stands for the project's stickiness property when that is absent.</summary>
    public static EvaluationContext WithStickiness(EvaluationContext context, string stickiness) =>
        !context.ContainsKey(stickiness) && context.TryGetValue("targetingKey", out var targetingKey) && targetingKey.Kind == ContextValueKind.String
            ? context.With(stickiness, targetingKey)
            : context;

    /// <summary>An empty context with what the server adds.</summary>
    public static EvaluationContext Empty(HttpContext http)
    {
        var builder = EvaluationContext.CreateBuilder();
        foreach (var (key, value) in ServerProperties(http))
        {
            builder.Set(key, value);
        }

        return builder.Build();
    }

    /// <summary>The first sentence of a parser's message (the rest repeats what the problem says).</summary>
    public static string FirstSentence(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        int dot = message.IndexOf(". ", StringComparison.Ordinal);
        return dot < 0 ? message : message[..(dot + 1)];
    }

    public static JsonReaderOptions ReaderOptions(EvaluationOptions limits) => new() { MaxDepth = limits.MaxDepth };
}
