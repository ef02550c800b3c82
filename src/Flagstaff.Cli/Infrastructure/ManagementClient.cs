using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace Flagstaff.Cli.Infrastructure;

/// <summary>An answer of the management API: its status, body and version (from the <c>ETag</c>).</summary>
internal sealed record ApiResponse(int Status, byte[] Body, long? Version)
{
    public JsonNode? Json => Body.Length == 0 ? null : JsonNode.Parse(Body);

    public T As<T>(JsonTypeInfo<T> type) => JsonSerializer.Deserialize(Body, type) ?? throw new CliException("the server answered an empty body", ExitCodes.Failure);
}

/// <summary>
/// The management API over HTTP with a personal access token. Every command goes through it, so the
/// server's validation, versions, optimistic concurrency and history apply as they do to the dashboard.
/// A refusal becomes a <see cref="CliException"/> carrying the problem's text, status and a suggestion.
/// </summary>
internal sealed class ManagementClient : IDisposable
{
    private readonly HttpClient _http;

    public ManagementClient(Uri server, string token, HttpMessageHandler? handler)
    {
        Server = server;
        _http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.BaseAddress = server;
        _http.Timeout = TimeSpan.FromSeconds(100);
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("flagstaff-cli", typeof(ManagementClient).Assembly.GetName().Version?.ToString(3) ?? "0"));
    }

    public Uri Server { get; }

    /// <summary>A path of escaped segments: <c>Path("api/projects", key)</c>.</summary>
    public static string Path(string prefix, params string[] segments) =>
        prefix + string.Concat(segments.Select(s => "/" + Uri.EscapeDataString(s)));

    public async Task<T> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken cancellationToken) =>
        (await SendAsync(HttpMethod.Get, path, null, null, cancellationToken).ConfigureAwait(false)).As(type);

    public Task<ApiResponse> GetAsync(string path, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, path, null, null, cancellationToken);

    public Task<ApiResponse> SendAsync<T>(HttpMethod method, string path, T body, JsonTypeInfo<T> type, long? ifMatch, CancellationToken cancellationToken) =>
        SendAsync(method, path, JsonSerializer.SerializeToUtf8Bytes(body, type), ifMatch, cancellationToken);

    public Task<ApiResponse> SendJsonAsync(HttpMethod method, string path, JsonNode? body, long? ifMatch, CancellationToken cancellationToken) =>
        SendAsync(method, path, body is null ? null : Encoding.UTF8.GetBytes(body.ToJsonString()), ifMatch, cancellationToken);

    public async Task<ApiResponse> SendAsync(HttpMethod method, string path, byte[]? body, long? ifMatch, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        if (ifMatch is { } version)
        {
            request.Headers.TryAddWithoutValidation("If-Match", "\"" + version.ToString(CultureInfo.InvariantCulture) + "\"");
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new CliException($"cannot reach the server at {Server}: {e.Message}", ExitCodes.Failure, suggestion: "check the server address (FLAGSTAFF_URL or flagstaff login --url)");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CliException($"the server at {Server} did not answer within {_http.Timeout.TotalSeconds:0} s", ExitCodes.Failure, suggestion: "try again; check the server's health at /health/ready");
        }

        using (response)
        {
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            int status = (int)response.StatusCode;
            if (status is >= 200 and < 300)
            {
                return new ApiResponse(status, bytes, ParseVersion(response.Headers.ETag?.Tag));
            }

            throw Refusal(method, path, status, bytes);
        }
    }

    private static long? ParseVersion(string? tag) =>
        tag is not null && long.TryParse(tag.Trim('"'), NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : null;

    // One line: the problem's detail, and each field at fault with why.
    private static CliException Refusal(HttpMethod method, string path, int status, byte[] body)
    {
        string? title = null, detail = null;
        var fields = new List<string>();
        try
        {
            if (body.Length > 0 && JsonNode.Parse(body) is JsonObject problem)
            {
                title = problem["title"]?.GetValue<string>();
                detail = problem["detail"]?.GetValue<string>();
                if (problem["errors"] is JsonObject errors)
                {
                    foreach (var (field, messages) in errors)
                    {
                        foreach (var message in messages?.AsArray() ?? [])
                        {
                            fields.Add(field.Length == 0 ? message!.GetValue<string>() : $"{field}: {message!.GetValue<string>()}");
                        }
                    }
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // Not a problem document (a proxy's page, say): the status alone says enough.
        }

        var text = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"{method} /{path.TrimStart('/')} was refused with {status}"));
        if (title is not null)
        {
            text.Append(" (").Append(title).Append(')');
        }

        if (detail is not null && !(fields.Count > 0 && detail.StartsWith(fields[0], StringComparison.Ordinal)))
        {
            text.Append(": ").Append(detail);
        }

        if (fields.Count > 0)
        {
            text.Append(detail is null ? ": " : "; ").AppendJoin("; ", fields);
        }

        var (exitCode, suggestion) = status switch
        {
            400 or 422 => (ExitCodes.InvalidInput, "fix the fields named and run it again"),
            401 => (ExitCodes.Failure, "the token is missing, expired or revoked: flagstaff login, or set FLAGSTAFF_TOKEN"),
            403 => (ExitCodes.Failure, "your role does not allow this: ask an admin"),
            404 => (ExitCodes.Failure, "check the keys given (flagstaff projects list, flagstaff flags list --project P)"),
            409 => (ExitCodes.Failure, "it was changed meanwhile: read it again and retry"),
            413 => (ExitCodes.InvalidInput, "the request is larger than the server's limit"),
            428 => (ExitCodes.Failure, "this change needs the version it is based on"),
            >= 500 => (ExitCodes.Failure, "the server failed: try again, and check its log"),
            _ => (ExitCodes.Failure, (string?)null),
        };
        return new CliException(text.ToString(), exitCode, status, suggestion);
    }

    public void Dispose() => _http.Dispose();
}
