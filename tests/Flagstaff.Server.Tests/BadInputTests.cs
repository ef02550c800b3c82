using System.Net;
using System.Text.Json.Nodes;
using Flagstaff.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Flagstaff.Server.Tests;

/// <summary>
/// Every kind of bad input gets an RFC 7807 problem that names the field and the reason, and changes
/// nothing (the audit log does not grow, versions do not move).
/// </summary>
public abstract class BadInputTests(ServerFixture fixture) : ServerTest(fixture)
{
    public static TheoryData<string, string, string, string, int, string> Cases() => new()
    {
        // name, method, path (P = project, F = flag), body, status, expected error path, expected message part
        { "unknown field", "PUT", "P/flags/F/environments/production", """{"enabled":true,"defaultServe":{"variation":"on"},"rulez":[]}""", 400, "rulez|unknown field \"rulez\"" },
        { "unknown nested field", "PUT", "P/flags/F/environments/production", """{"enabled":true,"rules":[{"clauses":[],"serve":{"variation":"on"},"when":1}],"defaultServe":{"variation":"on"}}""", 400, "rules[0].when|unknown field" },
        { "wrong type", "PUT", "P/flags/F/environments/production", """{"enabled":"yes","defaultServe":{"variation":"on"}}""", 400, "enabled|wrong type" },
        { "not JSON", "PUT", "P/flags/F/environments/production", """{"enabled":""", 400, "|not valid JSON" },
        { "bad key characters", "POST", "P/flags", """{"key":"new flag!","name":"x"}""", 400, "key|not a valid key" },
        { "key too long", "POST", "P/flags", "{\"key\":\"" + new string('k', 101) + "\",\"name\":\"x\"}", 400, "key|1 to 100" },
        { "missing name", "POST", "P/flags", """{"key":"fine","name":""}""", 400, "name|is required" },
        { "duplicate key", "POST", "P/flags", """{"key":"F","name":"again"}""", 409, "|already exists" },
        { "unknown operator", "PUT", "P/flags/F/environments/production", """{"enabled":true,"rules":[{"clauses":[{"property":"a","operator":"STR_EQUALS","values":["x"]}],"serve":{"variation":"on"}}],"defaultServe":{"variation":"on"}}""", 400, "rules[0].clauses[0].operator|not an operator" },
        { "invalid regex", "PUT", "P/flags/F/environments/production", """{"enabled":true,"rules":[{"clauses":[{"property":"a","operator":"REGEXP","value":"[z-a]"}],"serve":{"variation":"on"}}],"defaultServe":{"variation":"on"}}""", 400, "rules[0].clauses[0].value|regular expression" },
        { "markup in a clause property", "PUT", "P/flags/F/environments/production", """{"enabled":true,"rules":[{"clauses":[{"property":"<script>","operator":"STR_EQUAL","values":["x"]}],"serve":{"variation":"on"}}],"defaultServe":{"variation":"on"}}""", 400, "rules[0].clauses[0].property|without control characters" },
        { "control character in a split property", "PUT", "P/flags/F/environments/production", """{"enabled":true,"rules":[],"defaultServe":{"split":{"property":"id\u0007","buckets":[{"variation":"on","weight":50},{"variation":"off","weight":50}]}}}""", 400, "defaultServe.split.property|without control characters" },
        { "markup in the stickiness property", "PATCH", "P/", """{"stickinessProperty":"<b>"}""", 400, "stickinessProperty|without control characters" },
        { "missing operand", "PUT", "P/flags/F/environments/production", """{"enabled":true,"rules":[{"clauses":[{"property":"a","operator":"SEMVER_GTE"}],"serve":{"variation":"on"}}],"defaultServe":{"variation":"on"}}""", 400, "rules[0].clauses[0].version|is required" },
        { "missing segment", "PUT", "P/flags/F/environments/production", """{"enabled":true,"rules":[{"clauses":[{"segment":"ghosts"}],"serve":{"variation":"on"}}],"defaultServe":{"variation":"on"}}""", 400, "rules[0].clauses[0].segment|no segment \"ghosts\"" },
        { "missing variation", "PUT", "P/flags/F/environments/production", """{"enabled":true,"rules":[],"defaultServe":{"variation":"maybe"}}""", 400, "defaultServe.variation|no variation \"maybe\"" },
        { "split not adding up", "PUT", "P/flags/F/environments/production", """{"enabled":true,"rules":[],"defaultServe":{"split":{"buckets":[{"variation":"on","weight":20},{"variation":"off","weight":70}]}}}""", 400, "defaultServe.split.buckets|add up to 90" },
        { "value of the wrong type", "PATCH", "P/flags/F", """{"variations":[{"key":"on","value":"yes"},{"key":"off","fallback":true}]}""", 400, "variations[0].value|must be a boolean value" },
        { "removing a variation in use", "PATCH", "P/flags/F", """{"variations":[{"key":"off","fallback":true}]}""", 400, "environments.production.defaultServe.variation|no variation \"on\"" },
        { "deep nesting", "PATCH", "P/flags/F", "{\"variations\":[{\"key\":\"on\",\"value\":" + new string('[', 40) + new string(']', 40) + "}]}", 400, "variations[0].value|nests too deeply" },
        { "wrong content type", "PUT+text", "P/flags/F/environments/production", """{"enabled":true,"defaultServe":{"variation":"on"}}""", 415, "|must be JSON" },
        { "oversized body", "PUT", "P/flags/F/environments/production", "{\"enabled\":true,\"defaultServe\":{\"variation\":\"on\"},\"x\":\"" + new string('x', 1_100_000) + "\"}", 413, "|larger than the limit" },
        { "bad colour", "PATCH", "P/environments/production", """{"color":"red"}""", 400, "color|#rrggbb" },
        { "schedule out of order", "PUT", "P/flags/F/environments/production", """{"enabled":true,"rules":[{"clauses":[],"serve":{"variation":"on"},"schedule":{"from":"2027-01-02T00:00:00Z","until":"2027-01-01T00:00:00Z"}}],"defaultServe":{"variation":"on"}}""", 400, "rules[0].schedule.until|must be after from" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_input_is_refused_with_what_and_where_and_changes_nothing(string name, string method, string path, string body, int status, string expected)
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "F");
        await (await Admin.PutJsonAsync($"api/projects/{project}/flags/F/environments/production", Json("""{"enabled":true,"rules":[],"defaultServe":{"variation":"on"}}"""), "\"1\"")).ReadJsonAsync();
        var before = await SnapshotAsync(project);

        var url = "api/projects/" + path.Replace("P/", project + "/", StringComparison.Ordinal);
        var ifMatch = method is "PUT" or "PUT+text" ? "\"2\"" : method == "PATCH" ? "\"1\"" : null;
        var response = await Admin.SendRawAsync(new HttpMethod(method.Split('+')[0]), url, body, method.EndsWith("+text", StringComparison.Ordinal) ? "text/plain" : "application/json", ifMatch);

        var problem = await response.ReadJsonAsync((HttpStatusCode)status);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(status, problem["status"]!.GetValue<int>());
        var (field, message) = (expected.Split('|')[0], expected.Split('|')[1]);
        if (field.Length > 0)
        {
            var errors = problem["errors"]?.AsObject();
            Assert.True(errors is not null && errors.ContainsKey(field), $"{name}: expected an error at \"{field}\" in {problem.ToJsonString()}");
            Assert.Contains(message, string.Join(" ", errors![field]!.AsArray().Select(m => m!.GetValue<string>())), StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains(message, problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        Assert.Equal(before, await SnapshotAsync(project));
    }

    private async Task<string> SnapshotAsync(string project)
    {
        var audit = await Admin.GetJsonAsync($"api/audit?project={project}&limit=200");
        var export = await Admin.GetJsonAsync($"api/projects/{project}/export");
        var environments = await Admin.GetJsonAsync($"api/projects/{project}/environments");
        return audit["items"]!.AsArray().Count + export.ToJsonString() + environments.AsArray().Select(e => e!["version"]!.ToJsonString()).Aggregate((a, b) => a + b);
    }

    // The shapes of bad input a client can send where a value is expected, as raw JSON bytes.
    private static readonly (string Name, byte[] Json)[] BadValues =
    [
        ("invalid UTF-8", [(byte)'"', (byte)'o', (byte)'k', 0xFF, 0xFE, (byte)'"']),
        ("lone surrogate escape", "\"\\ud800\""u8.ToArray()),
        ("unpaired low surrogate escape", "\"x\\udc00y\""u8.ToArray()),
        ("number beyond a double", "1e400"u8.ToArray()),
        ("deep nesting", System.Text.Encoding.ASCII.GetBytes(new string('[', 40) + new string(']', 40))),
        ("wrong type", "{\"x\":[true,{}]}"u8.ToArray()),
    ];

    private const string Hole = "\u0001hole\u0001";

    // Where the evaluation routes, which read their bodies by hand, read strings and numbers.
    private static readonly Dictionary<string, string[]> HandReadBodies = new(StringComparer.Ordinal)
    {
        ["/flags"] = ["""{"a":HOLE}""", """[{"a":"x"},{"a":HOLE}]""", """{"a":[HOLE]}""", """{"a":{"b":HOLE}}"""],
        ["/ofrep/v1/evaluate/flags"] = ["""{"context":{"a":HOLE}}""", """{"context":{"targetingKey":HOLE}}""", """{"context":HOLE}""", """{"other":HOLE,"context":{}}"""],
        ["/ofrep/v1/evaluate/flags/{key}"] = ["""{"context":{"a":HOLE}}""", """{"context":{"targetingKey":HOLE}}""", """{"context":HOLE}"""],
        ["/report"] = [
            """{"receivedValues":{"a":[[HOLE]]}}""", """{"receivedValues":{"a":[["v",HOLE]]}}""", """{"receivedValues":{"a":HOLE}}""",
            """{"receivedProperties":{"a":[HOLE,1]}}""", """{"receivedProperties":{"a":HOLE}}""",
            """{"clients":[{"id":HOLE,"flags":{}}]}""", """{"clients":[{"id":"c","flags":{"F":[{"value":HOLE,"count":1}]}}]}""",
            """{"clients":[{"id":"c","flags":{"F":[{"value":true,"default":HOLE,"count":1}]}}]}""", """{"clients":[{"id":"c","flags":{"F":[{"value":true,"count":HOLE}]}}]}"""],
    };

    /// <summary>
    /// Every route that takes a body, found in the running server's endpoints, gets every bad shape in
    /// every field its OpenAPI request schema names (and where the hand-read routes read): each answer
    /// is below 500, in the route's error shape, and nothing is logged as an error.
    /// </summary>
    [Fact]
    public async Task Every_route_answers_bad_bytes_numbers_and_types_with_a_4xx_and_logs_no_error()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "F");
        await (await Admin.PostJsonAsync($"api/projects/{project}/segments", Json("""{"key":"S","name":"S","ids":["a1"]}"""))).ReadJsonAsync(HttpStatusCode.Created);
        var key = (await (await Admin.PostJsonAsync($"api/projects/{project}/environments/production/keys", Json("""{"name":"sweep","kind":"server"}"""))).ReadJsonAsync(HttpStatusCode.Created))["secret"]!.GetValue<string>();
        var openApi = await Admin.GetJsonAsync("openapi/v1.json");
        var schemas = openApi["components"]?["schemas"]?.AsObject();
        using var withKey = Server.Anonymous();
        withKey.DefaultRequestHeaders.Add("X-Tggl-Api-Key", key);
        withKey.DefaultRequestHeaders.Add("X-API-Key", key);

        var routes = Server.Services.GetRequiredService<Microsoft.AspNetCore.Routing.EndpointDataSource>().Endpoints
            .OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.IHttpMethodMetadata>()?.HttpMethods ?? []).Select(m => (Method: m, Template: "/" + e.RoutePattern.RawText!.Trim('/'))))
            .Where(r => r.Method is "POST" or "PUT" or "PATCH")
            .Distinct()
            // Evaluation first: the management routes include archiving and revoking, which would end them.
            .OrderBy(r => r.Template.StartsWith("/api/", StringComparison.Ordinal))
            .ToList();

        var failures = new List<string>();
        var covered = new HashSet<string>(StringComparer.Ordinal);
        int requests = 0;
        foreach (var (method, template) in routes)
        {
            var url = string.Join("/", template.Split('/').Select(segment => segment.StartsWith('{') ? Argument(segment.Trim('{', '}', '?').Split(':')[0], project) : segment)).TrimStart('/');
            var documented = System.Text.RegularExpressions.Regex.Replace(template, @"\{(\w+)[^}]*\}", "{$1}");
            var schema = openApi["paths"]?[documented]?[method.ToLowerInvariant()]?["requestBody"]?["content"]?["application/json"]?["schema"];
            var bodies = new List<string> { Hole, """{"\ud800":1}""", $$"""{"x":{{Hole}}}""" };
            if (schema is not null)
            {
                bodies.AddRange(Placements(schema, schemas, 0).Select(node => node.ToJsonString().Replace($"\"{JsonEncodedHole}\"", Hole, StringComparison.Ordinal)).Distinct());
            }

            if (HandReadBodies.TryGetValue(template, out var handRead))
            {
                bodies.AddRange(handRead.Select(b => b.Replace("HOLE", Hole, StringComparison.Ordinal)));
            }

            var client = template.StartsWith("/api/", StringComparison.Ordinal) ? Admin : withKey;
            foreach (var body in bodies)
            {
                foreach (var (shape, bytes) in BadValues)
                {
                    var content = Fill(body, bytes);
                    int logged = Server.Logs.Lines.Count;
                    using var request = new HttpRequestMessage(new HttpMethod(method), url) { Content = new ByteArrayContent(content) };
                    request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                    request.Headers.TryAddWithoutValidation("If-Match", "\"1\"");
                    using var response = await client.SendAsync(request);
                    requests++;
                    covered.Add(template);
                    var text = await response.Content.ReadAsStringAsync();
                    string where = $"{method} {template} with {shape} in {System.Text.Encoding.UTF8.GetString(content)}";
                    if ((int)response.StatusCode >= 500)
                    {
                        failures.Add($"{where}: {(int)response.StatusCode} {text}");
                    }
                    else if (response.StatusCode == HttpStatusCode.BadRequest && template.StartsWith("/api/", StringComparison.Ordinal) && response.Content.Headers.ContentType?.MediaType != "application/problem+json")
                    {
                        failures.Add($"{where}: a 400 that is not a problem: {text}");
                    }

                    failures.AddRange(Server.Logs.Lines.Skip(logged).Where(line => line.StartsWith("Error", StringComparison.Ordinal)).Select(line => $"{where}: logged {line}"));
                }
            }
        }

        // What was accepted is aggregated and written in the background: that must not fail either.
        await Task.Delay(TimeSpan.FromSeconds(6));
        failures.AddRange(Server.Logs.Lines.Where(line => line.StartsWith("Error", StringComparison.Ordinal)).Select(line => "in the background: " + line).Distinct());

        Assert.True(failures.Count == 0, $"{failures.Count} of {requests} requests failed:{Environment.NewLine}{string.Join(Environment.NewLine, failures.Distinct().Take(40))}");
        Assert.Superset(new HashSet<string>(StringComparer.Ordinal) { "/flags", "/report", "/ofrep/v1/evaluate/flags", "/ofrep/v1/evaluate/flags/{key}", "/api/import", "/api/projects/{project}/flags/{flag}", "/api/projects/{project}/flags/{flag}/environments/{environment}", "/api/projects/{project}/segments" }, covered);
    }

    private const string JsonEncodedHole = "\\u0001hole\\u0001";

    private static string Argument(string name, string project) => name switch
    {
        "project" => project,
        "flag" or "key" => "F",
        "environment" => "production",
        "segment" => "S",
        "revision" => "1",
        _ => "x",
    };

    private static byte[] Fill(string body, byte[] value)
    {
        var parts = body.Split(Hole);
        var result = new List<byte>();
        for (int i = 0; i < parts.Length; i++)
        {
            if (i > 0)
            {
                result.AddRange(value);
            }

            result.AddRange(System.Text.Encoding.UTF8.GetBytes(parts[i]));
        }

        return [.. result];
    }

    // Bodies with the hole at one place each: every field of the schema, at every level (a hole where an
    // object is expected is a wrong type), through arrays and dictionaries, a few levels deep.
    private static IEnumerable<JsonNode> Placements(JsonNode schema, JsonObject? schemas, int depth)
    {
        if (schema["$ref"]?.GetValue<string>() is { } reference)
        {
            var resolved = schemas?[reference.Split('/')[^1]];
            return resolved is null || depth > 6 ? [JsonValue.Create(Hole)] : Placements(resolved, schemas, depth + 1);
        }

        var placements = new List<JsonNode> { JsonValue.Create(Hole) };
        foreach (var variant in (schema["oneOf"] ?? schema["anyOf"])?.AsArray() ?? [])
        {
            placements.AddRange(Placements(variant!, schemas, depth + 1).Skip(1));
        }

        if (schema["properties"] is JsonObject properties)
        {
            foreach (var (name, property) in properties)
            {
                placements.AddRange(Placements(property!, schemas, depth + 1).Select(inner => new JsonObject { [name] = inner }));
            }
        }

        if (schema["items"] is { } items)
        {
            placements.AddRange(Placements(items, schemas, depth + 1).Select(inner => new JsonArray(inner)));
        }

        if (schema["additionalProperties"] is JsonObject values)
        {
            placements.AddRange(Placements(values, schemas, depth + 1).Select(inner => new JsonObject { ["a"] = inner }));
        }

        return placements;
    }

    [Fact]
    public async Task Deleting_the_last_environment_or_an_active_project_is_refused()
    {
        var project = await NewProjectAsync(Json("""[{"key":"only","name":"Only"}]"""));

        var last = await (await Admin.DeleteAsync($"api/projects/{project}/environments/only", "\"1\"")).ReadJsonAsync(HttpStatusCode.Conflict);
        Assert.Contains("last environment", last["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        using var owner = await OwnerAsync();
        var active = await (await owner.DeleteAsync($"api/projects/{project}", "\"1\"")).ReadJsonAsync(HttpStatusCode.Conflict);
        Assert.Contains("archive it first", active["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}

public sealed class SqliteBadInputTests(SqliteServer server) : BadInputTests(server), IClassFixture<SqliteServer>;

public sealed class PostgresBadInputTests(PostgresServer server) : BadInputTests(server), IClassFixture<PostgresServer>;
