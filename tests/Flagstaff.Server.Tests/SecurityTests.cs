using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Flagstaff.Management.Security;
using Flagstaff.Testing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Flagstaff.Server.Tests;

/// <summary>
/// Sessions that end when they should, sign-in throttling under concurrency, cross-site request forgery,
/// and secrets that a copy of the database does not give away.
/// </summary>
public abstract class SecurityTests(ServerFixture fixture) : ServerTest(fixture)
{
    private const string Password = "a long password";

    private async Task<(string Id, string Email)> NewMemberAsync(string role = "editor")
    {
        var email = UniqueKey(role) + "@example.com";
        var member = await (await Admin.PostJsonAsync("api/members", new JsonObject { ["email"] = email, ["name"] = role + " member", ["role"] = role, ["password"] = Password }))
            .ReadJsonAsync(HttpStatusCode.Created);
        return (member["id"]!.GetValue<string>(), email);
    }

    /// <summary>Signs in and returns the session cookie as a Cookie header value, as a thief would keep it.</summary>
    protected static async Task<string> SignInAsync(ServerHost server, string email, string password = Password)
    {
        using var client = WithCookie(server, null);
        var response = await client.PostJsonAsync("api/auth/login", new JsonObject { ["email"] = email, ["password"] = password });
        await response.ReadJsonAsync();
        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(Authentication.CookieName + "=", StringComparison.Ordinal));
        return cookie[..cookie.IndexOf(';', StringComparison.Ordinal)];
    }

    /// <summary>A client that sends exactly this cookie, whatever the server answers.</summary>
    private static HttpClient WithCookie(ServerHost server, string? cookie)
    {
        var client = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = server.Address };
        client.DefaultRequestHeaders.Add(RequestForgery.HeaderName, "1");
        if (cookie is not null)
        {
            client.DefaultRequestHeaders.Add("Cookie", cookie);
        }

        return client;
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client, string path = "api/me") => (await client.GetAsync(path)).StatusCode;

    [Fact]
    public async Task After_signing_out_the_old_cookie_is_refused_at_once_on_every_node()
    {
        var (_, email) = await NewMemberAsync();
        var cookie = await SignInAsync(Server, email);
        await using var other = await ServerHost.StartAsync(Server.Database.Kind, Server.Database);
        using var here = WithCookie(Server, cookie);
        using var there = WithCookie(other, cookie);
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(here));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(there));

        Assert.Equal(HttpStatusCode.NoContent, (await here.PostJsonAsync("api/auth/logout", null)).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(here));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(there));
        Assert.Equal(HttpStatusCode.Unauthorized, (await there.PostJsonAsync("api/me/tokens", Json("""{"name":"stolen"}"""))).StatusCode);
    }

    [Fact]
    public async Task A_password_change_ends_every_other_session_and_keeps_the_one_that_made_it()
    {
        var (_, email) = await NewMemberAsync();
        var mine = await SignInAsync(Server, email);
        var elsewhere = await SignInAsync(Server, email);
        using var me = WithCookie(Server, mine);
        using var thief = WithCookie(Server, elsewhere);
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(thief));

        Assert.Equal(HttpStatusCode.NoContent, (await me.PostJsonAsync("api/me/password", new JsonObject { ["currentPassword"] = Password, ["newPassword"] = "a new long password" })).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(thief));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(me));
        await SignInAsync(Server, email, "a new long password");
    }

    [Fact]
    public async Task Disabling_or_removing_a_member_ends_their_sessions_and_tokens_at_once()
    {
        foreach (var removal in new[] { false, true })
        {
            var (id, email) = await NewMemberAsync();
            var cookie = await SignInAsync(Server, email);
            using var session = WithCookie(Server, cookie);
            var token = await (await session.PostJsonAsync("api/me/tokens", Json("""{"name":"cli"}"""))).ReadJsonAsync(HttpStatusCode.Created);
            using var tokenClient = Server.WithToken(token["secret"]!.GetValue<string>());
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(session));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(tokenClient, "api/projects"));

            var done = removal
                ? await Admin.DeleteAsync($"api/members/{id}", null)
                : await Admin.PatchJsonAsync($"api/members/{id}", Json("""{"disabled":true}"""), "\"1\"");
            Assert.True(done.IsSuccessStatusCode, $"{done.StatusCode}: {await done.Content.ReadAsStringAsync()}");

            // No waiting: not even a cache of a few seconds may keep them alive.
            Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(session));
            Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(tokenClient, "api/projects"));
        }
    }

    [Fact]
    public async Task A_session_ends_at_its_absolute_lifetime_however_busy_it_is()
    {
        var lifetime = TimeSpan.FromSeconds(4);
        await using var server = await ServerHost.StartAsync(Server.Database.Kind, Server.Database, new Dictionary<string, string?>
        {
            ["Flagstaff:Sessions:IdleTimeout"] = "00:00:04",
            ["Flagstaff:Sessions:Lifetime"] = "00:00:04",
        });
        using var client = server.Anonymous();
        await (await client.PostJsonAsync("api/auth/login", new JsonObject { ["email"] = ServerHost.OwnerEmail, ["password"] = ServerHost.OwnerPassword })).ReadJsonAsync();
        var started = DateTimeOffset.UtcNow;

        // Used every half second, so it is never idle, and the sliding cookie is renewed as it goes.
        while (DateTimeOffset.UtcNow - started < lifetime - TimeSpan.FromSeconds(1.5))
        {
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(client));
            await Task.Delay(500);
        }

        await Task.Delay(lifetime - (DateTimeOffset.UtcNow - started) + TimeSpan.FromSeconds(0.5));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(client));
    }

    [Fact]
    public async Task Sixty_guesses_sent_at_once_have_exactly_five_passwords_checked()
    {
        var (_, email) = await NewMemberAsync();
        using var client = Server.Anonymous();
        using var start = new SemaphoreSlim(0);
        var guesses = Enumerable.Range(0, 60).Select(async i =>
        {
            await start.WaitAsync();
            return (await client.PostJsonAsync("api/auth/login", new JsonObject { ["email"] = email, ["password"] = "guess number " + i })).StatusCode;
        }).ToList();
        start.Release(60);
        var answers = await Task.WhenAll(guesses);

        // Each guess whose password was checked is answered 401; each one refused before the check, 429.
        Assert.Equal(5, answers.Count(a => a == HttpStatusCode.Unauthorized));
        Assert.Equal(55, answers.Count(a => a == HttpStatusCode.TooManyRequests));
    }

    [Fact]
    public async Task A_change_made_with_the_cookie_must_come_from_this_server_s_pages()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "kill");
        await (await Admin.PostJsonAsync($"api/projects/{project}/flags/kill/environments/production/on", null)).ReadJsonAsync();
        var cookie = await SignInAsync(Server, ServerHost.OwnerEmail, ServerHost.OwnerPassword);
        string off = $"api/projects/{project}/flags/kill/environments/production/off";

        // What a form on another page sends: the cookie, a form body, no custom header.
        using var bare = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = Server.Address };
        var form = new HttpRequestMessage(HttpMethod.Post, off) { Content = new FormUrlEncodedContent([]) };
        form.Headers.Add("Cookie", cookie);
        form.Headers.Add("Origin", "http://127.0.0.1:1");
        var refused = await (await bare.SendAsync(form)).ReadJsonAsync(HttpStatusCode.Forbidden);
        Assert.Contains("http://127.0.0.1:1", refused["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        var noHeader = new HttpRequestMessage(HttpMethod.Post, off);
        noHeader.Headers.Add("Cookie", cookie);
        refused = await (await bare.SendAsync(noHeader)).ReadJsonAsync(HttpStatusCode.Forbidden);
        Assert.Contains(RequestForgery.HeaderName, refused["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        using var session = WithCookie(Server, cookie);
        foreach (var (header, value) in new[] { ("Origin", "http://localhost:" + Server.Address.Port), ("Origin", "null"), ("Sec-Fetch-Site", "same-site"), ("Sec-Fetch-Site", "cross-site") })
        {
            var request = new HttpRequestMessage(HttpMethod.Post, $"api/projects/{project}/archive");
            request.Headers.Add(header, value);
            refused = await (await session.SendAsync(request)).ReadJsonAsync(HttpStatusCode.Forbidden);
            Assert.Contains("cross-site request forgery", refused["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        // Signing in is checked too, with no cookie yet: a forged sign-in would use the attacker's account.
        var login = new HttpRequestMessage(HttpMethod.Post, "api/auth/login") { Content = JsonContent(new JsonObject { ["email"] = ServerHost.OwnerEmail, ["password"] = ServerHost.OwnerPassword }) };
        await (await bare.SendAsync(login)).ReadJsonAsync(HttpStatusCode.Forbidden);

        var flag = await Admin.GetJsonAsync($"api/projects/{project}/flags/kill");
        Assert.Contains(flag["environments"]!.AsArray(), e => e!["enabled"]!.GetValue<bool>());
        Assert.Null((await Admin.GetJsonAsync($"api/projects/{project}"))["archivedAt"]);

        // The dashboard's way (the header, from the same origin) works, and so does a token without the header.
        var own = new HttpRequestMessage(HttpMethod.Post, off);
        own.Headers.Add("Origin", Server.Address.GetLeftPart(UriPartial.Authority));
        own.Headers.Add("Sec-Fetch-Site", "same-origin");
        await (await session.SendAsync(own)).ReadJsonAsync();
        using var token = new HttpClient { BaseAddress = Server.Address };
        token.DefaultRequestHeaders.Authorization = new("Bearer", ServerHost.AdminToken);
        token.DefaultRequestHeaders.Add("Origin", "http://127.0.0.1:1");
        await (await token.PostJsonAsync($"api/projects/{project}/flags/kill/environments/production/on", null)).ReadJsonAsync();
    }

    private static StringContent JsonContent(JsonNode body) => new(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");

    [Fact]
    public async Task The_database_holds_no_secret_in_plaintext()
    {
        // A session signs a cookie, so the data-protection key ring exists.
        await SignInAsync(Server, ServerHost.OwnerEmail, ServerHost.OwnerPassword);
        await using var store = await Server.Database.CreateStoreAsync();
        var (plain, sealedKey, keys) = await store.ReadAsync(async s =>
            (await s.GetSettingAsync("secret-key"), await s.GetSettingAsync("secret-key-sealed"), await s.ListDataProtectionKeysAsync()));
        Assert.Null(plain);
        Assert.StartsWith("fsk1.", sealedKey, StringComparison.Ordinal);
        Assert.NotEmpty(keys);
        Assert.All(keys, k =>
        {
            Assert.StartsWith("fsk1.", k, StringComparison.Ordinal);
            Assert.DoesNotContain("masterKey", k, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task A_node_without_the_key_or_with_another_key_refuses_to_start()
    {
        var empty = Directory.CreateTempSubdirectory("flagstaff-nokey-").FullName;
        try
        {
            var none = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerHost.StartAsync(Server.Database.Kind, Server.Database, new Dictionary<string, string?> { ["Flagstaff:DataDirectory"] = empty }));
            Assert.Contains("this node has no server key", none.Message, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(empty, "flagstaff.key")), "a node must not make a key of its own for a database that has one");

            var other = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerHost.StartAsync(Server.Database.Kind, Server.Database, new Dictionary<string, string?>
            {
                ["Flagstaff:Secrets:Key"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            }));
            Assert.Contains("Every node must use the same key", other.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public async Task An_installation_from_before_the_server_key_keeps_its_sessions_and_api_keys_and_is_sealed_in_place()
    {
        var directory = Directory.CreateTempSubdirectory("flagstaff-upgrade-").FullName;
        var settings = new Dictionary<string, string?> { ["Flagstaff:DataDirectory"] = directory };
        var keyFile = Path.Combine(directory, "flagstaff.key");
        await using var database = await TestDatabase.CreateAsync(Server.Database.Kind);
        try
        {
            string cookie;
            string apiKey;
            await using (var before = await ServerHost.StartAsync(database.Kind, database, settings))
            {
                cookie = await SignInAsync(before, ServerHost.OwnerEmail, ServerHost.OwnerPassword);
                using var admin = before.Admin();
                await (await admin.PostJsonAsync("api/projects", new JsonObject { ["key"] = "up", ["name"] = "Up" })).ReadJsonAsync(HttpStatusCode.Created);
                apiKey = (await (await admin.PostJsonAsync("api/projects/up/environments/production/keys", new JsonObject { ["name"] = "k", ["kind"] = "server" }))
                    .ReadJsonAsync(HttpStatusCode.Created))["secret"]!.GetValue<string>();
            }

            // Put the database back in the form older versions wrote: the secrets in plaintext, no key file.
            var oldKey = new ServerKey(Microsoft.Extensions.Options.Options.Create(new ServerKeyOptions { KeyFile = keyFile }));
            await using (var store = await database.CreateStoreAsync())
            {
                await store.WriteAsync(async s =>
                {
                    var hashing = oldKey.Open(Secrets.KeyPurpose, (await s.GetSettingAsync("secret-key-sealed"))!, out _);
                    await s.SetSettingAsync("secret-key", Convert.ToBase64String(hashing));
                    await s.DeleteSettingAsync("secret-key-sealed");
                    foreach (var (id, xml) in await s.ListDataProtectionKeyRowsAsync())
                    {
                        await s.UpdateDataProtectionKeyAsync(id, System.Text.Encoding.UTF8.GetString(oldKey.Open("data-protection key", xml, out _)));
                    }

                    return true;
                });
            }

            File.Delete(keyFile);

            await using var after = await ServerHost.StartAsync(database.Kind, database, settings);
            using (var session = WithCookie(after, cookie))
            {
                Assert.Equal(HttpStatusCode.OK, await StatusAsync(session));
            }

            using (var evaluation = after.Anonymous())
            {
                evaluation.DefaultRequestHeaders.Add("X-Tggl-Api-Key", apiKey);
                await (await evaluation.PostJsonAsync("flags", Json("""{"id":"u"}"""))).ReadJsonAsync();
            }

            Assert.True(File.Exists(keyFile));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
            }

            await using var check = await database.CreateStoreAsync();
            Assert.Null(await check.ReadAsync(s => s.GetSettingAsync("secret-key")));
            Assert.All(await check.ReadAsync(s => s.ListDataProtectionKeysAsync()), k => Assert.True(ServerKey.IsSealed(k)));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Rotating_the_server_key_seals_the_secrets_again_and_keeps_sessions()
    {
        var first = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var second = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        await using var database = await TestDatabase.CreateAsync(Server.Database.Kind);
        string cookie;
        string webhookSecret;
        await using (var before = await ServerHost.StartAsync(database.Kind, database, new Dictionary<string, string?> { ["Flagstaff:Secrets:Key"] = first }))
        {
            cookie = await SignInAsync(before, ServerHost.OwnerEmail, ServerHost.OwnerPassword);
            using var admin = before.Admin();
            await (await admin.PostJsonAsync("api/projects", new JsonObject { ["key"] = "rotate", ["name"] = "Rotate" })).ReadJsonAsync(HttpStatusCode.Created);
            var created = await (await admin.PostJsonAsync("api/projects/rotate/webhooks",
                new JsonObject { ["name"] = "w", ["url"] = "https://93.184.215.14/hook", ["events"] = new JsonArray("flag.created") })).ReadJsonAsync(HttpStatusCode.Created);
            webhookSecret = created["secret"]!.GetValue<string>();
        }

        await using (var rotating = await ServerHost.StartAsync(database.Kind, database, new Dictionary<string, string?> { ["Flagstaff:Secrets:Key"] = second, ["Flagstaff:Secrets:PreviousKey"] = first }))
        {
            using var session = WithCookie(rotating, cookie);
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(session));
        }

        await using (var rotated = await ServerHost.StartAsync(database.Kind, database, new Dictionary<string, string?> { ["Flagstaff:Secrets:Key"] = second }))
        {
            using var session = WithCookie(rotated, cookie);
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(session));

            // A webhook's signing secret was sealed again too: the new key alone opens it.
            var (_, stored) = Assert.Single(await rotated.Services.GetRequiredService<Flagstaff.Storage.Store>().ReadAsync(s => s.ListWebhookSecretsAsync()));
            var opened = rotated.Services.GetRequiredService<ServerKey>().Open(Flagstaff.Management.Webhooks.WebhookService.SecretPurpose, stored, out bool stale);
            Assert.False(stale);
            Assert.Equal(webhookSecret, System.Text.Encoding.UTF8.GetString(opened));
        }

        await Assert.ThrowsAsync<InvalidOperationException>(() => ServerHost.StartAsync(database.Kind, database, new Dictionary<string, string?> { ["Flagstaff:Secrets:Key"] = first }));
    }
}

public sealed class SqliteSecurityTests(SqliteServer server) : SecurityTests(server), IClassFixture<SqliteServer>
{
    [Fact]
    public async Task A_copy_of_the_database_file_cannot_start_a_server_and_the_files_are_private()
    {
        var directory = Directory.CreateTempSubdirectory("flagstaff-copy-").FullName;
        try
        {
            var data = Path.Combine(directory, "data");
            await using var database = await TestDatabase.CreateAsync(DatabaseKind.Sqlite);
            await using (var server = await ServerHost.StartAsync(DatabaseKind.Sqlite, database, new Dictionary<string, string?> { ["Flagstaff:DataDirectory"] = data }))
            {
                await SignInAsync(server, ServerHost.OwnerEmail, ServerHost.OwnerPassword);
                if (!OperatingSystem.IsWindows())
                {
                    var owner = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                    Assert.Equal(owner, File.GetUnixFileMode(Path.Combine(data, "flagstaff.key")));
                    foreach (var file in new[] { database.ConnectionString, database.ConnectionString + "-wal", database.ConnectionString + "-shm" })
                    {
                        Assert.Equal(owner, File.GetUnixFileMode(file));
                    }
                }
            }

            var stolen = Path.Combine(directory, "stolen.db");
            File.Copy(database.ConnectionString, stolen);
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerHost.StartAsync(DatabaseKind.Sqlite, settings: new Dictionary<string, string?>
            {
                ["Flagstaff:Storage:SqlitePath"] = stolen,
                ["Flagstaff:DataDirectory"] = Path.Combine(directory, "elsewhere"),
            }));
            Assert.Contains("this node has no server key", refused.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Over_https_the_session_cookie_is_secure_and_host_only()
    {
        using var certificate = SelfSigned();
        await using var server = await ServerHost.StartAsync(DatabaseKind.Sqlite, Server.Database, new Dictionary<string, string?> { ["urls"] = "https://127.0.0.1:0" },
            services => services.Configure<KestrelServerOptions>(kestrel => kestrel.ConfigureHttpsDefaults(https => https.ServerCertificate = certificate)));
        Assert.Equal("https", server.Address.Scheme);
        using var client = new HttpClient(new HttpClientHandler { UseCookies = false, ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator })
        {
            BaseAddress = server.Address,
        };
        client.DefaultRequestHeaders.Add(RequestForgery.HeaderName, "1");
        var response = await client.PostJsonAsync("api/auth/login", new JsonObject { ["email"] = ServerHost.OwnerEmail, ["password"] = ServerHost.OwnerPassword });
        await response.ReadJsonAsync();
        var cookie = Assert.Single(response.Headers.GetValues("Set-Cookie"), c => c.Contains("flagstaff_session", StringComparison.Ordinal));
        Assert.StartsWith(Authentication.SecureCookieName + "=", cookie, StringComparison.Ordinal);
        Assert.Contains("; secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; path=/", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("domain=", cookie, StringComparison.OrdinalIgnoreCase);

        var me = new HttpRequestMessage(HttpMethod.Get, "api/me");
        me.Headers.Add("Cookie", cookie[..cookie.IndexOf(';', StringComparison.Ordinal)]);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(me)).StatusCode);
    }

    private static X509Certificate2 SelfSigned()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }
}

public sealed class PostgresSecurityTests(PostgresServer server) : SecurityTests(server), IClassFixture<PostgresServer>;
