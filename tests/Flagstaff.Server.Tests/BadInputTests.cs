using System.Net;
using Flagstaff.Testing;

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
