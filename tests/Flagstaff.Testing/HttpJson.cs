using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Flagstaff.Testing;

/// <summary>Small helpers for talking JSON to the server and checking answers loudly.</summary>
public static class HttpJson
{
    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, JsonNode? body, string? ifMatch = null) =>
        client.SendJsonAsync(HttpMethod.Post, path, body, ifMatch);

    public static Task<HttpResponseMessage> PutJsonAsync(this HttpClient client, string path, JsonNode? body, string? ifMatch = null) =>
        client.SendJsonAsync(HttpMethod.Put, path, body, ifMatch);

    public static Task<HttpResponseMessage> PatchJsonAsync(this HttpClient client, string path, JsonNode? body, string? ifMatch = null) =>
        client.SendJsonAsync(HttpMethod.Patch, path, body, ifMatch);

    public static Task<HttpResponseMessage> DeleteAsync(this HttpClient client, string path, string? ifMatch) =>
        client.SendJsonAsync(HttpMethod.Delete, path, null, ifMatch);

    public static Task<HttpResponseMessage> SendJsonAsync(this HttpClient client, HttpMethod method, string path, JsonNode? body, string? ifMatch = null) =>
        client.SendRawAsync(method, path, body?.ToJsonString(), "application/json", ifMatch);

    public static async Task<HttpResponseMessage> SendRawAsync(this HttpClient client, HttpMethod method, string path, string? body, string contentType = "application/json", string? ifMatch = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);

            // A large body asks first (Expect: 100-continue): a body over the server's limit is then
            // answered 413 before it is sent, instead of racing the upload into a broken pipe.
            request.Headers.ExpectContinue = body.Length > 64 * 1024;
        }

        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        return await client.SendAsync(request);
    }

    /// <summary>Reads the body as JSON after checking the status (the body is in the failure message).</summary>
    public static async Task<JsonNode> ReadJsonAsync(this HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != expected)
        {
            throw new InvalidOperationException($"Expected {(int)expected} {expected}, got {(int)response.StatusCode} {response.StatusCode}: {text}{(response.RequestMessage?.Options.TryGetValue(ServerLogKey, out var log) == true ? Environment.NewLine + "Server log:" + Environment.NewLine + log : "")}");
        }

        return JsonNode.Parse(text.Length == 0 ? "null" : text)!;
    }

    public static async Task<JsonNode> GetJsonAsync(this HttpClient client, string path, HttpStatusCode expected = HttpStatusCode.OK) =>
        await (await client.GetAsync(path)).ReadJsonAsync(expected);

    /// <summary>Where a server's log is attached to a failed request (see <see cref="ServerHost"/>).</summary>
    public static readonly HttpRequestOptionsKey<string> ServerLogKey = new("flagstaff-server-log");

    /// <summary>The ETag of a response (the version to send back in If-Match).</summary>
    public static string ETag(this HttpResponseMessage response) =>
        response.Headers.ETag?.ToString() ?? throw new InvalidOperationException($"No ETag on {response.RequestMessage?.RequestUri}");
}
