using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Flagstaff.Testing;

namespace Flagstaff.Server.Tests;

/// <summary>
/// The per-key request budget (<c>Flagstaff:Evaluation:RequestsPerSecondPerKey</c>) holds on every route
/// that takes an API key, because they all open through one gate: none can be called past it.
/// </summary>
public sealed class RateLimitTests
{
    private const int Rate = 3;

    public static TheoryData<string> Routes => ["POST /flags", "GET /config", "GET /typing", "POST /report", "POST /ofrep/v1/evaluate/flags", "POST /ofrep/v1/evaluate/flags/f", "POST /migrations/report", "GET /stream"];

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task A_key_past_its_budget_is_refused_with_429_and_Retry_After(string route)
    {
        await using var server = await ServerHost.StartAsync(DatabaseKind.Sqlite, settings: new Dictionary<string, string?> { ["Flagstaff:Evaluation:RequestsPerSecondPerKey"] = Rate.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        using var admin = server.Admin();
        var project = "p-" + Guid.NewGuid().ToString("N")[..10];
        await admin.CreateProjectAsync(project);
        await admin.CreateFlagAsync(project, "f");
        var key = (await (await admin.PostJsonAsync($"api/projects/{project}/environments/production/keys", new JsonObject { ["name"] = "server", ["kind"] = "server" }))
            .ReadJsonAsync(HttpStatusCode.Created))["secret"]!.GetValue<string>();

        using var client = server.Anonymous();
        var parts = route.Split(' ');
        var answers = new List<HttpResponseMessage>();
        for (int i = 0; i < Rate * 3; i++)
        {
            using var request = new HttpRequestMessage(new HttpMethod(parts[0]), parts[1].TrimStart('/'));
            request.Headers.Add("Authorization", "Bearer " + key);
            if (parts[0] == "POST")
            {
                request.Content = new StringContent(parts[1].StartsWith("/ofrep", StringComparison.Ordinal) ? "{\"context\":{}}" : parts[1] == "/migrations/report" ? "{\"measurements\":[]}" : "{}", Encoding.UTF8, "application/json");
            }

            // A stream that is let in stays open: its headers are enough.
            answers.Add(await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead));
        }

        try
        {
            Assert.All(answers.Take(Rate), a => Assert.True(a.IsSuccessStatusCode, $"{route}: {a.StatusCode} within the budget"));
            var refused = answers.Skip(Rate).Where(a => a.StatusCode == HttpStatusCode.TooManyRequests).ToList();
            Assert.True(refused.Count >= Rate, $"{route}: only {refused.Count} of {answers.Count} requests were refused");
            Assert.All(refused, a => Assert.Equal("1", a.Headers.GetValues("Retry-After").Single()));
        }
        finally
        {
            answers.ForEach(a => a.Dispose());
        }
    }
}
