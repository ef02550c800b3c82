using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Flagstaff.Client.Internal;
using Flagstaff.Evaluation;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flagstaff.Client;

/// <summary>The settings of a <see cref="FlagstaffRemoteClient"/>.</summary>
public sealed class FlagstaffRemoteOptions
{
    /// <summary>The server's address.</summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>A client or server API key of the environment.</summary>
    public string? ApiKey { get; set; }

    /// <summary>The most contexts sent in one request; larger batches are split. Default 100 (the server takes up to 1,000).</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>How long one request may take. Default 5 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Remote evaluation: asks the server to evaluate every flag for contexts (<c>POST /flags</c>), for
/// services that prefer not to hold the configuration. Never throws: a failed call gives results whose
/// getters return the caller's defaults (with <see cref="FlagReason.Error"/> and the reason).
/// </summary>
public sealed class FlagstaffRemoteClient : IDisposable
{
    private readonly FlagstaffRemoteOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly Uri _flagsUri;
    private readonly ILogger _logger;

    /// <summary>Creates a client.</summary>
    /// <param name="options">The settings (an invalid address, key or batch size throws <see cref="ArgumentException"/>).</param>
    /// <param name="loggerFactory">Where to log.</param>
    /// <param name="httpClient">The HTTP client to use (not disposed here).</param>
    public FlagstaffRemoteClient(FlagstaffRemoteOptions options, ILoggerFactory? loggerFactory = null, HttpClient? httpClient = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.BaseUrl is not { IsAbsoluteUri: true } baseUrl)
        {
            throw new ArgumentException("BaseUrl must be an absolute address.", nameof(options));
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(options.ApiKey, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1, nameof(options));
        _options = options;
        _http = httpClient ?? new HttpClient { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        _ownsHttp = httpClient is null;
        var root = baseUrl.AbsoluteUri.EndsWith('/') ? baseUrl : new Uri(baseUrl.AbsoluteUri + "/");
        _flagsUri = new Uri(root, "flags");
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Flagstaff.Client.Remote");
    }

    /// <summary>Evaluates every flag for one context.</summary>
    /// <param name="context">Who the flags are evaluated for.</param>
    /// <param name="cancellationToken">Cancels the call (the result is then a failed one; nothing is thrown).</param>
    public async Task<RemoteFlags> EvaluateAsync(EvaluationContext context, CancellationToken cancellationToken = default)
    {
        var results = await EvaluateAsync([context ?? EvaluationContext.Empty], cancellationToken).ConfigureAwait(false);
        return results[0];
    }

    /// <summary>Evaluates every flag for several contexts, in batches of <see cref="FlagstaffRemoteOptions.BatchSize"/>; the results are in the same order.</summary>
    /// <param name="contexts">Who the flags are evaluated for.</param>
    /// <param name="cancellationToken">Cancels the calls (results not yet received are failed ones; nothing is thrown).</param>
    public async Task<IReadOnlyList<RemoteFlags>> EvaluateAsync(IReadOnlyList<EvaluationContext> contexts, CancellationToken cancellationToken = default)
    {
        if (contexts is null || contexts.Count == 0)
        {
            return [];
        }

        var results = new List<RemoteFlags>(contexts.Count);
        for (int start = 0; start < contexts.Count; start += _options.BatchSize)
        {
            int count = Math.Min(_options.BatchSize, contexts.Count - start);
            results.AddRange(await SendAsync(contexts, start, count, cancellationToken).ConfigureAwait(false));
        }

        return results;
    }

    private async Task<IReadOnlyList<RemoteFlags>> SendAsync(IReadOnlyList<EvaluationContext> contexts, int start, int count, CancellationToken cancellationToken)
    {
        string? error;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.Timeout);
            using var request = new HttpRequestMessage(HttpMethod.Post, _flagsUri) { Content = new ByteArrayContent(WriteContexts(contexts, start, count)) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.TryAddWithoutValidation("X-Tggl-Api-Key", _options.ApiKey);
            using var response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
            var body = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                using var document = JsonDocument.Parse(body);
                if (document.RootElement.ValueKind == JsonValueKind.Array && document.RootElement.GetArrayLength() == count)
                {
                    return [.. document.RootElement.EnumerateArray().Select(RemoteFlags.Read)];
                }

                error = "The server answered with the wrong number of results.";
            }
            else
            {
                string? message = null;
                try
                {
                    message = JsonSerializer.Deserialize(body, WireJson.Default.ErrorBody)?.Error;
                }
                catch (JsonException)
                {
                    // No JSON error: the status says it.
                }

                error = string.Create(CultureInfo.InvariantCulture, $"POST /flags answered {(int)response.StatusCode}{(message is null ? "" : ": " + message)}");
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            error = "The call was cancelled.";
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException or JsonException)
        {
            error = e is OperationCanceledException ? $"No answer within {_options.Timeout.TotalSeconds:0.#} s." : e.Message;
        }

        Log.RemoteFailed(_logger, error);
        var failed = new RemoteFlags(null, error);
        return [.. Enumerable.Repeat(failed, count)];
    }

    internal static byte[] WriteContexts(IReadOnlyList<EvaluationContext> contexts, int start, int count)
    {
        var buffer = new ArrayBufferWriter<byte>(256 * count);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            for (int i = start; i < start + count; i++)
            {
                WriteContext(writer, contexts[i] ?? EvaluationContext.Empty);
            }

            writer.WriteEndArray();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes a context as the JSON object the server reads.</summary>
    internal static void WriteContext(Utf8JsonWriter writer, EvaluationContext context)
    {
        writer.WriteStartObject();
        foreach (var key in context.Keys)
        {
            context.TryGetValue(key, out var value);
            writer.WritePropertyName(key);
            switch (value.Kind)
            {
                case ContextValueKind.String:
                    writer.WriteStringValue(value.String);
                    break;
                case ContextValueKind.Number:
                    writer.WriteNumberValue(value.Number);
                    break;
                case ContextValueKind.Boolean:
                    writer.WriteBooleanValue(value.Boolean);
                    break;
                case ContextValueKind.Array:
                    writer.WriteStartArray();
                    foreach (var element in value.ArrayStrings)
                    {
                        writer.WriteStringValue(element);
                    }

                    writer.WriteEndArray();
                    break;
                case ContextValueKind.Object:
                    // Contexts do not keep objects' content (no rule reads it): an empty object stands for it.
                    writer.WriteStartObject();
                    writer.WriteEndObject();
                    break;
                default:
                    writer.WriteNullValue();
                    break;
            }
        }

        writer.WriteEndObject();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }
}
