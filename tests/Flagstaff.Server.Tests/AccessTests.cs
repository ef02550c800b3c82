using System.Net;
using System.Text.Json.Nodes;
using Flagstaff.Testing;

namespace Flagstaff.Server.Tests;

/// <summary>Who may do what: sessions, tokens, roles on every kind of route, and resources under the wrong parent.</summary>
public abstract class AccessTests(ServerFixture fixture) : ServerTest(fixture)
{
    private async Task<HttpClient> MemberAsync(string role)
    {
        var email = UniqueKey(role) + "@example.com";
        await (await Admin.PostJsonAsync("api/members", new JsonObject { ["email"] = email, ["name"] = role + " member", ["role"] = role, ["password"] = "a long password" }))
            .ReadJsonAsync(HttpStatusCode.Created);
        var client = Server.Anonymous();
        await (await client.PostJsonAsync("api/auth/login", new JsonObject { ["email"] = email, ["password"] = "a long password" })).ReadJsonAsync();
        return client;
    }

    [Fact]
    public async Task Nothing_is_served_without_signing_in()
    {
        using var anonymous = Server.Anonymous();
        foreach (var path in new[] { "api/projects", "api/members", "api/audit", "api/me", "api/me/tokens" })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(path)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostJsonAsync("api/projects", Json("""{"key":"x","name":"x"}"""))).StatusCode);
        using var badToken = Server.WithToken("fs_pat_doesnotexist");
        Assert.Equal(HttpStatusCode.Unauthorized, (await badToken.GetAsync("api/projects")).StatusCode);
    }

    [Fact]
    public async Task A_session_cookie_is_http_only_and_same_site_and_signing_out_ends_it()
    {
        using var client = Server.Anonymous();
        var response = await client.PostJsonAsync("api/auth/login", new JsonObject { ["email"] = ServerHost.OwnerEmail, ["password"] = ServerHost.OwnerPassword });
        await response.ReadJsonAsync();
        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("flagstaff_session=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", cookie, StringComparison.OrdinalIgnoreCase);

        var me = await client.GetJsonAsync("api/me");
        Assert.Equal("owner", me["role"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.NoContent, (await client.PostJsonAsync("api/auth/logout", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("api/me")).StatusCode);
    }

    [Fact]
    public async Task A_wrong_password_is_refused_and_repeated_failures_are_slowed_down()
    {
        using var client = Server.Anonymous();
        var email = UniqueKey("nobody") + "@example.com";
        for (int i = 0; i < 5; i++)
        {
            var failed = await (await client.PostJsonAsync("api/auth/login", new JsonObject { ["email"] = email, ["password"] = "wrong password" })).ReadJsonAsync(HttpStatusCode.Unauthorized);
            Assert.Contains("wrong", failed["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        var slowed = await client.PostJsonAsync("api/auth/login", new JsonObject { ["email"] = email, ["password"] = "wrong password" });
        Assert.Equal(HttpStatusCode.TooManyRequests, slowed.StatusCode);
        Assert.True(int.Parse(slowed.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
    }

    [Fact]
    public async Task A_viewer_reads_everything_and_changes_nothing()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "f");
        using var viewer = await MemberAsync("viewer");

        await viewer.GetJsonAsync($"api/projects/{project}/flags");
        await viewer.GetJsonAsync($"api/projects/{project}/flags/f/history");
        await viewer.GetJsonAsync($"api/audit?project={project}");
        await viewer.GetJsonAsync($"api/projects/{project}/export");

        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostJsonAsync($"api/projects/{project}/flags", Json("""{"key":"g","name":"G"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostJsonAsync($"api/projects/{project}/flags/f/environments/production/off", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PutJsonAsync($"api/projects/{project}/flags/f/environments/production", Json("""{"enabled":true,"defaultServe":{"variation":"on"}}"""), "\"1\"")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostJsonAsync($"api/projects/{project}/segments", Json("""{"key":"s","name":"S","ids":["a"]}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostJsonAsync($"api/projects/{project}/environments/production/keys", Json("""{"name":"k","kind":"client"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostJsonAsync("api/import", Json("""{"key":"x","name":"x"}"""))).StatusCode);

        var flag = await Admin.GetJsonAsync($"api/projects/{project}/flags/f");
        Assert.DoesNotContain(flag["environments"]!.AsArray(), e => e!["enabled"]!.GetValue<bool>());
    }

    [Fact]
    public async Task An_editor_changes_flags_but_not_projects_keys_or_members()
    {
        var project = await NewProjectAsync();
        using var editor = await MemberAsync("editor");

        await (await editor.PostJsonAsync($"api/projects/{project}/flags", Json("""{"key":"mine","name":"Mine"}"""))).ReadJsonAsync(HttpStatusCode.Created);
        await (await editor.PostJsonAsync($"api/projects/{project}/flags/mine/environments/staging/on", null)).ReadJsonAsync();

        Assert.Equal(HttpStatusCode.Forbidden, (await editor.PostJsonAsync("api/projects", Json("""{"key":"x","name":"x"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await editor.PostJsonAsync($"api/projects/{project}/environments", Json("""{"key":"qa","name":"QA"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await editor.PostJsonAsync($"api/projects/{project}/environments/production/keys", Json("""{"name":"k","kind":"server"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await editor.PostJsonAsync("api/members", Json("""{"email":"x@example.com","name":"X","role":"viewer","password":"a long password"}"""))).StatusCode);

        var history = await editor.GetJsonAsync($"api/projects/{project}/flags/mine/history");
        Assert.Equal("editor member", history[0]!["actor"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_admin_cannot_raise_anyone_above_admin_and_only_an_owner_deletes_projects()
    {
        using var admin = await MemberAsync("admin");
        var refused = await (await admin.PostJsonAsync("api/members", Json("""{"email":"boss@example.com","name":"Boss","role":"owner","password":"a long password"}"""))).ReadJsonAsync(HttpStatusCode.Forbidden);
        Assert.Contains("higher role", refused["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        var project = await NewProjectAsync();
        await (await admin.PostJsonAsync($"api/projects/{project}/archive", null)).ReadJsonAsync();
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.DeleteAsync($"api/projects/{project}", "\"2\"")).StatusCode);

        using var owner = Server.Anonymous();
        await (await owner.PostJsonAsync("api/auth/login", new JsonObject { ["email"] = ServerHost.OwnerEmail, ["password"] = ServerHost.OwnerPassword })).ReadJsonAsync();
        Assert.Equal(HttpStatusCode.NoContent, (await owner.DeleteAsync($"api/projects/{project}", "\"2\"")).StatusCode);
    }

    [Fact]
    public async Task A_disabled_member_loses_access_at_once_and_a_revoked_token_stops_working()
    {
        var email = UniqueKey("leaver") + "@example.com";
        var member = await (await Admin.PostJsonAsync("api/members", new JsonObject { ["email"] = email, ["name"] = "Leaver", ["role"] = "editor", ["password"] = "a long password" })).ReadJsonAsync(HttpStatusCode.Created);
        using var session = Server.Anonymous();
        await (await session.PostJsonAsync("api/auth/login", new JsonObject { ["email"] = email, ["password"] = "a long password" })).ReadJsonAsync();
        var token = await (await session.PostJsonAsync("api/me/tokens", Json("""{"name":"cli"}"""))).ReadJsonAsync(HttpStatusCode.Created);
        using var tokenClient = Server.WithToken(token["secret"]!.GetValue<string>());
        await tokenClient.GetJsonAsync("api/projects");

        await (await session.DeleteAsync($"api/me/tokens/{token["token"]!["id"]}", null)).ReadJsonAsync(HttpStatusCode.NoContent);
        Assert.Equal(HttpStatusCode.Unauthorized, (await tokenClient.GetAsync("api/projects")).StatusCode);

        await (await Admin.PatchJsonAsync($"api/members/{member["id"]}", Json("""{"disabled":true}"""), "\"1\"")).ReadJsonAsync();
        await Task.Delay(TimeSpan.FromSeconds(6)); // the member cache lives five seconds
        Assert.Equal(HttpStatusCode.Unauthorized, (await session.GetAsync("api/projects")).StatusCode);
        await (await Server.Anonymous().PostJsonAsync("api/auth/login", new JsonObject { ["email"] = email, ["password"] = "a long password" })).ReadJsonAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Resources_addressed_under_the_wrong_parent_are_not_found()
    {
        var first = await NewProjectAsync();
        var second = await NewProjectAsync();
        await CreateFlagAsync(first, "only-in-first");
        await (await Admin.PostJsonAsync($"api/projects/{first}/segments", Json("""{"key":"first-segment","name":"S","ids":["a"]}"""))).ReadJsonAsync(HttpStatusCode.Created);
        var key = await (await Admin.PostJsonAsync($"api/projects/{first}/environments/production/keys", Json("""{"name":"k","kind":"client"}"""))).ReadJsonAsync(HttpStatusCode.Created);
        var keyId = key["key"]!["id"]!.GetValue<string>();

        await (await Admin.GetAsync($"api/projects/{second}/flags/only-in-first")).ReadJsonAsync(HttpStatusCode.NotFound);
        await (await Admin.PostJsonAsync($"api/projects/{second}/flags/only-in-first/environments/production/off", null)).ReadJsonAsync(HttpStatusCode.NotFound);
        await (await Admin.GetAsync($"api/projects/{second}/segments/first-segment")).ReadJsonAsync(HttpStatusCode.NotFound);
        await (await Admin.DeleteAsync($"api/projects/{second}/environments/production/keys/{keyId}", null)).ReadJsonAsync(HttpStatusCode.NotFound);
        await (await Admin.DeleteAsync($"api/projects/{first}/environments/staging/keys/{keyId}", null)).ReadJsonAsync(HttpStatusCode.NotFound);
        await (await Admin.GetAsync($"api/projects/{first}/flags/only-in-first/environments/nowhere")).ReadJsonAsync(HttpStatusCode.NotFound);

        var listed = await Admin.GetJsonAsync($"api/projects/{first}/environments/production/keys");
        Assert.Null(Assert.Single(listed.AsArray())!["revokedAt"]);
    }
}

public sealed class SqliteAccessTests(SqliteServer server) : AccessTests(server), IClassFixture<SqliteServer>;

public sealed class PostgresAccessTests(PostgresServer server) : AccessTests(server), IClassFixture<PostgresServer>;
