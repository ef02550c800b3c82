using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Flagstaff.MigrationDemo;

/// <summary>The few calls of Flagstaff's management API the driver makes, with an access token.</summary>
public sealed class ManagementApi : IDisposable
{
    private readonly HttpClient _http;

    public ManagementApi(Uri flagstaff, string accessToken)
    {
        _http = new HttpClient { BaseAddress = flagstaff, Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
    }

    public Uri Address => _http.BaseAddress!;

    public async Task CreateProjectAsync(string project, CancellationToken cancellationToken) =>
        await SendAsync(HttpMethod.Post, "api/projects", new JsonObject { ["key"] = project, ["name"] = "Migration demo " + project }, null, cancellationToken);

    /// <summary>Creates a server key of the environment and returns its secret.</summary>
    public async Task<string> CreateServerKeyAsync(string project, string environment, CancellationToken cancellationToken)
    {
        var created = await SendAsync(HttpMethod.Post, $"api/projects/{project}/environments/{environment}/keys", new JsonObject { ["name"] = "records service", ["kind"] = "server" }, null, cancellationToken);
        return created["secret"]!.GetValue<string>();
    }

    /// <summary>Waits until the server takes a new key (its key directory refreshes in the background).</summary>
    public async Task WaitForKeyAsync(string key, CancellationToken cancellationToken)
    {
        using var probe = new HttpClient { BaseAddress = Address };
        probe.DefaultRequestHeaders.Add("X-Tggl-Api-Key", key);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await probe.GetAsync("config", cancellationToken)).StatusCode == HttpStatusCode.Unauthorized)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The server still refuses the new key.");
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    public async Task CreateMigrationFlagAsync(string project, string flag, JsonObject migration, CancellationToken cancellationToken) =>
        await SendAsync(HttpMethod.Post, $"api/projects/{project}/flags", new JsonObject
        {
            ["key"] = flag,
            ["name"] = "Records store (SQLite to PostgreSQL)",
            ["kind"] = "migration",
            ["migration"] = migration,
        }, null, cancellationToken);

    public Task<JsonNode> GetTargetingAsync(string project, string flag, string environment, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, $"api/projects/{project}/flags/{flag}/environments/{environment}", null, null, cancellationToken);

    /// <summary>
    /// Replaces a flag's targeting in an environment (with the version just read, as the dashboard does);
    /// returns when the change was sent and when the answer came.
    /// </summary>
    public async Task<(DateTimeOffset Sent, DateTimeOffset Answered)> SetTargetingAsync(string project, string flag, string environment, JsonNode targeting, CancellationToken cancellationToken)
    {
        var path = $"api/projects/{project}/flags/{flag}/environments/{environment}";
        using var current = await _http.GetAsync(path, cancellationToken);
        await EnsureAsync(current, cancellationToken);
        var sent = DateTimeOffset.UtcNow;
        await SendAsync(HttpMethod.Put, path, targeting, current.Headers.ETag?.ToString(), cancellationToken);
        return (sent, DateTimeOffset.UtcNow);
    }

    /// <summary>The flag's migration status in an environment: cohorts, measurements, guards, last rollback.</summary>
    public Task<JsonNode> GetStatusAsync(string project, string flag, string environment, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, $"api/projects/{project}/flags/{flag}/migration?environment={environment}", null, null, cancellationToken);

    private async Task<JsonNode> SendAsync(HttpMethod method, string path, JsonNode? body, string? ifMatch, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        using var response = await _http.SendAsync(request, cancellationToken);
        await EnsureAsync(response, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return text.Length == 0 ? new JsonObject() : JsonNode.Parse(text)!;
    }

    private static async Task EnsureAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException(
                $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.AbsolutePath} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}",
                null,
                response.StatusCode);
        }
    }

    public void Dispose() => _http.Dispose();
}
