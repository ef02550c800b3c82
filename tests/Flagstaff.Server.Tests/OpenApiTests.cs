using System.Text.Json.Nodes;
using Flagstaff.Testing;

namespace Flagstaff.Server.Tests;

/// <summary>
/// The OpenAPI document says what the endpoints really answer: a stable, unique name per operation, the
/// problems (application/problem+json) of the management API, and the evaluation routes' own error shapes.
/// </summary>
public sealed class OpenApiTests(SqliteServer server) : ServerTest(server), IClassFixture<SqliteServer>
{
    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch"];

    // The sign-in routes anyone may call: they cannot answer "not signed in".
    private static readonly HashSet<string> Anonymous = ["GET /api/setup", "POST /api/setup", "POST /api/auth/login", "GET /api/auth/methods", "POST /api/auth/logout"];

    [Fact]
    public async Task Every_operation_has_a_unique_name_and_every_management_error_is_a_declared_problem()
    {
        using var client = Server.Anonymous();
        var document = await client.GetJsonAsync("openapi/v1.json");
        var names = new List<string>();
        var missing = new List<string>();
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var method in Methods)
            {
                if (item![method] is not JsonObject operation)
                {
                    continue;
                }

                string what = $"{method.ToUpperInvariant()} {path}";
                if (operation["operationId"]?.GetValue<string>() is { Length: > 0 } id)
                {
                    names.Add(id);
                }
                else
                {
                    missing.Add(what + ": no operationId");
                }

                if (!path.StartsWith("/api/", StringComparison.Ordinal))
                {
                    continue;
                }

                var errors = Errors(operation);
                foreach (var (status, content) in errors)
                {
                    if (content?["application/problem+json"] is null)
                    {
                        missing.Add($"{what}: {status} is not declared as application/problem+json");
                    }
                }

                if (!Anonymous.Contains(what) && !errors.ContainsKey("401"))
                {
                    missing.Add(what + ": no 401");
                }

                if (method != "get" && !errors.ContainsKey("403"))
                {
                    // Every change made with the session cookie is checked for request forgery.
                    missing.Add(what + ": no 403");
                }
            }
        }

        Assert.Empty(missing);
        Assert.Empty(names.GroupBy(n => n, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key));
    }

    [Fact]
    public async Task The_routes_declare_the_statuses_they_answer_in_their_own_shape()
    {
        using var client = Server.Anonymous();
        var paths = (await client.GetJsonAsync("openapi/v1.json"))["paths"]!;

        var putTargeting = paths["/api/projects/{project}/flags/{flag}/environments/{environment}"]!["put"]!;
        Assert.Equal("UpdateTargeting", putTargeting["operationId"]?.GetValue<string>());
        Assert.Superset(new HashSet<string> { "400", "401", "403", "404", "409", "413", "415", "428" }, Errors(putTargeting).Keys.ToHashSet());

        var createFlag = paths["/api/projects/{project}/flags"]!["post"]!;
        Assert.Superset(new HashSet<string> { "400", "401", "403", "404", "409" }, Errors(createFlag).Keys.ToHashSet());
        var listProjects = paths["/api/projects"]!["get"]!;
        Assert.DoesNotContain("404", Errors(listProjects).Keys);
        var login = paths["/api/auth/login"]!["post"]!;
        Assert.Superset(new HashSet<string> { "400", "401", "403", "429" }, Errors(login).Keys.ToHashSet());

        // The evaluation routes answer their own shapes, never problems.
        var tggl = Errors(paths["/flags"]!["post"]!);
        Assert.Superset(new HashSet<string> { "400", "401", "413", "429", "503" }, tggl.Keys.ToHashSet());
        Assert.All(tggl.Values, content => Assert.Null(content?["application/problem+json"]));
        Assert.EndsWith("/TgglError", tggl["401"]!["application/json"]!["schema"]!["$ref"]!.GetValue<string>());
        var ofrep = Errors(paths["/ofrep/v1/evaluate/flags/{key}"]!["post"]!);
        Assert.Superset(new HashSet<string> { "400", "401", "404", "429" }, ofrep.Keys.ToHashSet());
        Assert.EndsWith("/OfrepError", ofrep["404"]!["application/json"]!["schema"]!["$ref"]!.GetValue<string>());
        Assert.Superset(new HashSet<string> { "401", "403" }, Errors(paths["/stream"]!["get"]!).Keys.ToHashSet());
    }

    private static Dictionary<string, JsonNode?> Errors(JsonNode operation) =>
        (operation["responses"]?.AsObject() ?? [])
            .Where(r => r.Key.Length == 3 && r.Key[0] is '4' or '5')
            .ToDictionary(r => r.Key, r => r.Value?["content"]);
}
