using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Flagstaff.Testing;

namespace Flagstaff.Server.Tests;

/// <summary>A fresh install, and provisioning from configuration for CI and containers.</summary>
public sealed partial class StartupTests
{
    [Fact]
    public async Task A_fresh_install_is_set_up_once_with_the_token_it_printed()
    {
        await using var server = await ServerHost.StartAsync(DatabaseKind.Sqlite, provisionOwner: false);
        using var client = server.Anonymous();
        Assert.True((await client.GetJsonAsync("api/setup"))["setupRequired"]!.GetValue<bool>());

        var line = Assert.Single(server.Logs.Lines, l => l.Contains("/setup?token=", StringComparison.Ordinal));
        var token = SetupToken().Match(line).Groups[1].Value;
        Assert.StartsWith("setup_", token, StringComparison.Ordinal);

        var refused = await (await client.PostJsonAsync("api/setup", new JsonObject { ["token"] = "setup_guess", ["email"] = "me@example.com", ["name"] = "Me", ["password"] = "a long password" }))
            .ReadJsonAsync(HttpStatusCode.Forbidden);
        Assert.Contains("not valid", refused["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        var weak = await (await client.PostJsonAsync("api/setup", new JsonObject { ["token"] = token, ["email"] = "me@example.com", ["name"] = "Me", ["password"] = "short" }))
            .ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.True(weak["errors"]!.AsObject().ContainsKey("password"));

        var owner = await (await client.PostJsonAsync("api/setup", new JsonObject { ["token"] = token, ["email"] = "me@example.com", ["name"] = "Me", ["password"] = "a long password" })).ReadJsonAsync();
        Assert.Equal("owner", owner["role"]!.GetValue<string>());
        Assert.Equal("me@example.com", (await client.GetJsonAsync("api/me"))["email"]!.GetValue<string>());

        await (await server.Anonymous().PostJsonAsync("api/setup", new JsonObject { ["token"] = token, ["email"] = "x@example.com", ["name"] = "X", ["password"] = "a long password" }))
            .ReadJsonAsync(HttpStatusCode.Conflict);
        Assert.False((await client.GetJsonAsync("api/setup"))["setupRequired"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData("Flagstaff:Sso:DefaultRole", "Owner", "Flagstaff:Sso:DefaultRole must be Viewer, Editor or Admin")]
    [InlineData("Flagstaff:Sso:RoleMappings:root", "Owner", "Flagstaff:Sso:RoleMappings:root must be Viewer, Editor or Admin")]
    [InlineData("Flagstaff:Sso:Authority", "http://login.example.com", "Flagstaff:Sso:Authority must use https")]
    [InlineData("Flagstaff:Sso:Authority", "login.example.com", "Flagstaff:Sso:Authority must be the provider's issuer")]
    [InlineData("Flagstaff:Sso:ClientId", "", "Flagstaff:Sso:ClientId is required")]
    [InlineData("Flagstaff:Sso:CallbackPath", "/api/callback", "outside /api")]
    public async Task A_single_sign_on_setting_that_cannot_work_stops_the_server_saying_what_to_fix(string key, string value, string message)
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseKind.Sqlite);
        var settings = new Dictionary<string, string?>
        {
            ["Flagstaff:Sso:Authority"] = "https://login.example.com/realms/staff",
            ["Flagstaff:Sso:ClientId"] = "flagstaff",
            [key] = value,
        };
        var refused = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => ServerHost.StartAsync(DatabaseKind.Sqlite, database, settings));
        Assert.Contains(message, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_provisioned_document_with_a_number_a_double_cannot_hold_is_refused_naming_the_field()
    {
        // The file is read at start, not through an HTTP body: the flag rules themselves refuse it.
        var folder = Directory.CreateTempSubdirectory("flagstaff-provisioning-").FullName;
        try
        {
            var file = Path.Combine(folder, "pricing.flagstaff.json");
            await File.WriteAllTextAsync(file, """
                {"flagstaff":1,"key":"pricing","name":"Pricing","environments":[{"key":"ci","name":"CI"}],
                 "flags":[{"key":"discount","name":"Discount","valueType":"number","variations":[{"key":"huge","value":1e400},{"key":"off","fallback":true}]},
                          {"key":"banner","name":"Banner","valueType":"json","variations":[{"key":"big","value":{"sizes":[1,2e999]}},{"key":"none","fallback":true}]}]}
                """);
            await using var database = await TestDatabase.CreateAsync(DatabaseKind.Sqlite);
            var refused = await Assert.ThrowsAsync<Flagstaff.Domain.DomainValidationException>(() => ServerHost.StartAsync(DatabaseKind.Sqlite, database, new Dictionary<string, string?> { ["Flagstaff:Provisioning:ProjectFile"] = file }));
            var paths = refused.Errors.Select(e => e.Path).ToList();
            Assert.Contains(paths, p => p.EndsWith("variations[0].value", StringComparison.Ordinal));
            Assert.Contains(paths, p => p.EndsWith("variations[0].value.sizes[1]", StringComparison.Ordinal));
            Assert.All(refused.Errors, e => Assert.Contains("too large for a double", e.Message, StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task A_project_document_keys_and_an_admin_token_are_provisioned_once_from_configuration()
    {
        var folder = Directory.CreateTempSubdirectory("flagstaff-provisioning-").FullName;
        try
        {
            var file = Path.Combine(folder, "checkout.flagstaff.json");
            await File.WriteAllTextAsync(file, """
                {"flagstaff":1,"key":"checkout","name":"Checkout","environments":[{"key":"ci","name":"CI"}],
                 "flags":[{"key":"new-payment","name":"New payment","variations":[{"key":"on","value":true},{"key":"off","fallback":true}],
                           "environments":{"ci":{"enabled":true,"defaultServe":{"variation":"on"}}}}]}
                """);
            await using var database = await TestDatabase.CreateAsync(DatabaseKind.Sqlite);
            var settings = new Dictionary<string, string?>
            {
                ["Flagstaff:Provisioning:ProjectFile"] = file,
                ["FLAGSTAFF_INIT_SERVER_API_KEYS"] = "checkout:ci:fs_server_provisionedprovisioned0001",
                ["FLAGSTAFF_INIT_CLIENT_API_KEYS"] = "checkout:ci:fs_client_provisionedprovisioned0001",
                ["FLAGSTAFF_INIT_ADMIN_TOKEN"] = "fs_pat_provisionedadmintoken00001",
            };

            for (int start = 0; start < 2; start++)
            {
                await using var server = await ServerHost.StartAsync(DatabaseKind.Sqlite, database, settings, provisionOwner: false);
                using var serverKey = server.Anonymous();
                serverKey.DefaultRequestHeaders.Add("X-Tggl-Api-Key", "fs_server_provisionedprovisioned0001");
                var config = await serverKey.GetJsonAsync("config");
                Assert.Equal("new-payment", Assert.Single(config.AsArray())!["slug"]!.GetValue<string>());

                using var clientKey = server.Anonymous();
                clientKey.DefaultRequestHeaders.Add("X-Tggl-Api-Key", "fs_client_provisionedprovisioned0001");
                Assert.True((await (await clientKey.PostJsonAsync("flags", new JsonObject())).ReadJsonAsync())["new-payment"]!.GetValue<bool>());

                using var admin = server.WithToken("fs_pat_provisionedadmintoken00001");
                var keys = await admin.GetJsonAsync("api/projects/checkout/environments/ci/keys");
                Assert.Equal(2, keys.AsArray().Count);
                // The principal that holds the token is no member.
                Assert.Empty((await admin.GetJsonAsync("api/members")).AsArray());
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task A_provisioned_admin_token_leaves_the_first_owner_to_the_setup_link_and_is_no_member()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseKind.Sqlite);
        var settings = new Dictionary<string, string?> { ["FLAGSTAFF_INIT_ADMIN_TOKEN"] = "fs_pat_provisionedadmintoken00002" };
        string provisioning;
        await using (var first = await ServerHost.StartAsync(DatabaseKind.Sqlite, database, settings, provisionOwner: false))
        {
            using var admin = first.WithToken("fs_pat_provisionedadmintoken00002");
            provisioning = (await admin.GetJsonAsync("api/me"))["id"]!.GetValue<string>();
            Assert.True((await first.Anonymous().GetJsonAsync("api/setup"))["setupRequired"]!.GetValue<bool>());
            Assert.Single(first.Logs.Lines, l => l.Contains("/setup?token=", StringComparison.Ordinal));
        }

        // The next start (the token exists now) still prints a link, and the link makes the human owner.
        await using var server = await ServerHost.StartAsync(DatabaseKind.Sqlite, database, settings, provisionOwner: false);
        var token = SetupToken().Match(Assert.Single(server.Logs.Lines, l => l.Contains("/setup?token=", StringComparison.Ordinal))).Groups[1].Value;
        using var client = server.Anonymous();
        Assert.True((await client.GetJsonAsync("api/setup"))["setupRequired"]!.GetValue<bool>());
        var owner = await (await client.PostJsonAsync("api/setup", new JsonObject { ["token"] = token, ["email"] = "ada@example.com", ["name"] = "Ada", ["password"] = "a long password" })).ReadJsonAsync();
        Assert.Equal("owner", owner["role"]!.GetValue<string>());
        Assert.False((await client.GetJsonAsync("api/setup"))["setupRequired"]!.GetValue<bool>());

        // Among the members, only the owner; the principal cannot be disabled, removed, or impersonated.
        var members = (await client.GetJsonAsync("api/members")).AsArray();
        Assert.Equal("ada@example.com", Assert.Single(members)!["email"]!.GetValue<string>());
        await (await client.PatchJsonAsync($"api/members/{provisioning}", new JsonObject { ["disabled"] = true }, "\"1\"")).ReadJsonAsync(HttpStatusCode.NotFound);
        await (await client.DeleteAsync($"api/members/{provisioning}", null)).ReadJsonAsync(HttpStatusCode.NotFound);
        var reserved = await (await client.PostJsonAsync("api/members", new JsonObject { ["email"] = "someone@flagstaff.invalid", ["name"] = "Someone", ["role"] = "viewer", ["password"] = "a long password" }))
            .ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.True(reserved["errors"]!.AsObject().ContainsKey("email"));

        using var stillAdmin = server.WithToken("fs_pat_provisionedadmintoken00002");
        Assert.Equal(provisioning, (await stillAdmin.GetJsonAsync("api/me"))["id"]!.GetValue<string>());
        Assert.Single((await stillAdmin.GetJsonAsync("api/members")).AsArray());
    }

    [Fact]
    public async Task Without_a_data_directory_the_database_and_key_go_to_the_users_data_folder()
    {
        Assert.True(Path.IsPathRooted(FlagstaffOptions.DefaultDataDirectory), FlagstaffOptions.DefaultDataDirectory);
        var home = Directory.CreateTempSubdirectory("flagstaff-home-").FullName;
        try
        {
            await using var database = await TestDatabase.CreateAsync(DatabaseKind.Sqlite);
            var settings = new Dictionary<string, string>
            {
                ["Flagstaff__DataDirectory"] = "",
                ["Flagstaff__Storage__SqlitePath"] = "",
                ["XDG_DATA_HOME"] = Path.Combine(home, "share"),
            };
            await using (var server = await ServerProcess.StartAsync(database, settings: settings))
            {
                using var client = new HttpClient { BaseAddress = server.Address };
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("health/ready")).StatusCode);
            }

            var folder = Path.Combine(home, "share", "flagstaff");
            Assert.True(File.Exists(Path.Combine(folder, "flagstaff.db")), "no database in " + folder);
            Assert.True(File.Exists(Path.Combine(folder, "flagstaff.key")), "no key file in " + folder);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    [GeneratedRegex("token=(setup_[A-Za-z0-9]+)")]
    private static partial Regex SetupToken();
}
