using System.Net;
using System.Text.Json.Nodes;
using Flagstaff.Testing;

namespace Flagstaff.Server.Tests;

/// <summary>Restoring a revision: with a reason, in chosen environments, with or without the settings; bad requests change nothing.</summary>
public abstract class RevertApiTests(ServerFixture fixture) : ServerTest(fixture)
{
    [Fact]
    public async Task A_restore_applies_to_the_chosen_environments_only_and_records_its_reason_and_environment()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "search");
        var flag = $"api/projects/{project}/flags/search";
        await (await Admin.PutJsonAsync($"{flag}/environments/staging", Json("""{"enabled":true,"rules":[],"defaultServe":{"variation":"on"}}"""), "\"1\"")).ReadJsonAsync();
        await (await Admin.PutJsonAsync($"{flag}/environments/production", Json("""{"enabled":true,"rules":[],"defaultServe":{"variation":"on"}}"""), "\"1\"")).ReadJsonAsync();
        await (await Admin.PatchJsonAsync(flag, Json("""{"name":"Search v2"}"""), "\"1\"")).ReadJsonAsync();

        // Back to revision 1 (everything off) in production only, keeping the new name.
        var restored = await (await Admin.PostJsonAsync($"{flag}/history/1/revert", Json("""{"comment":"  errors in production  ","environments":["production"],"settings":false}"""))).ReadJsonAsync();
        Assert.Equal("Search v2", restored["flag"]!["name"]!.GetValue<string>());
        var targeting = restored["environments"]!.AsArray().ToDictionary(e => e!["environment"]!.GetValue<string>(), e => e!);
        Assert.False(targeting["production"]["enabled"]!.GetValue<bool>());
        Assert.Equal("off", targeting["production"]["defaultServe"]!["variation"]!.GetValue<string>());
        Assert.True(targeting["staging"]["enabled"]!.GetValue<bool>());
        Assert.Equal(2, targeting["staging"]["version"]!.GetValue<long>());

        var latest = (await Admin.GetJsonAsync($"{flag}/history"))[0]!;
        Assert.Equal("reverted", latest["action"]!.GetValue<string>());
        Assert.Equal("errors in production", latest["comment"]!.GetValue<string>());
        Assert.Equal("production", latest["environment"]!.GetValue<string>());

        // With the settings: the name comes back too; still only staging's targeting.
        restored = await (await Admin.PostJsonAsync($"{flag}/history/1/revert", Json("""{"environments":["staging"]}"""))).ReadJsonAsync();
        Assert.Equal("Flag search", restored["flag"]!["name"]!.GetValue<string>());
        Assert.All(restored["environments"]!.AsArray(), e => Assert.False(e!["enabled"]!.GetValue<bool>()));
        Assert.Equal("Reverted to revision 1", (await Admin.GetJsonAsync($"{flag}/history"))[0]!["comment"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_restore_naming_an_unknown_environment_or_nothing_or_too_long_a_reason_is_refused_and_changes_nothing()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "search");
        var flag = $"api/projects/{project}/flags/search";
        await (await Admin.PutJsonAsync($"{flag}/environments/production", Json("""{"enabled":true,"rules":[],"defaultServe":{"variation":"on"}}"""), "\"1\"")).ReadJsonAsync();

        var unknown = await (await Admin.PostJsonAsync($"{flag}/history/1/revert", Json("""{"environments":["production","moon"]}"""))).ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains("\"moon\" is not an environment of the project", unknown["errors"]!["environments[1]"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        var nothing = await (await Admin.PostJsonAsync($"{flag}/history/1/revert", Json("""{"environments":[],"settings":false}"""))).ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains("choose what to restore", nothing["errors"]!["environments"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        var reason = new JsonObject { ["comment"] = new string('x', 5_001) };
        var tooLong = await (await Admin.PostJsonAsync($"{flag}/history/1/revert", reason)).ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains("at most 5000", tooLong["errors"]!["comment"]![0]!.GetValue<string>(), StringComparison.Ordinal);

        Assert.Equal(2, (await Admin.GetJsonAsync($"{flag}/history")).AsArray().Count);
        Assert.True((await Admin.GetJsonAsync($"{flag}/environments/production"))["enabled"]!.GetValue<bool>());
    }
}

public sealed class SqliteRevertApiTests(SqliteServer server) : RevertApiTests(server), IClassFixture<SqliteServer>;

public sealed class PostgresRevertApiTests(PostgresServer server) : RevertApiTests(server), IClassFixture<PostgresServer>;
