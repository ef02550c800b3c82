using System.Net;
using System.Text.Json.Nodes;
using Flagstaff.Management.Webhooks;
using Flagstaff.Testing;
using Microsoft.Extensions.Options;

namespace Flagstaff.Server.Tests;

/// <summary>
/// Webhooks reach no internal address in any notation, neither when one is saved (on a server with no
/// allowance, the default) nor when it connects.
/// </summary>
public sealed class WebhookAddressTests(SqliteServer server) : ServerTest(server), IClassFixture<SqliteServer>
{
    public static TheoryData<string, string> RefusedUrls => new()
    {
        { "http://127.0.0.1/", "loopback" },
        { "http://2130706433/", "loopback" },
        { "http://0177.0.0.1/", "loopback" },
        { "http://0x7f.0.0.1/", "loopback" },
        { "http://0x7f000001/", "loopback" },
        { "http://127.1/", "loopback" },
        { "http://localhost/", "loopback" },
        { "http://LocalHost/", "loopback" },
        { "http://[::1]/", "loopback" },
        { "http://[::ffff:127.0.0.1]/", "IPv4-mapped" },
        { "http://[::ffff:a9fe:a9fe]/", "link-local" },
        { "http://[::127.0.0.1]/", "IPv4-compatible" },
        { "http://[64:ff9b::a9fe:a9fe]/", "NAT64" },
        { "http://[2002:7f00:1::]/", "6to4" },
        { "http://[fe80::1]/", "link-local" },
        { "http://[fd00:ec2::254]/", "unique-local" },
        { "http://[fc00::1]/", "unique-local" },
        { "http://[::]/", "unspecified" },
        { "http://10.0.0.1/", "private" },
        { "http://172.16.5.4/", "private" },
        { "http://172.31.255.255/", "private" },
        { "http://192.168.1.1/", "private" },
        { "http://169.254.169.254/latest/meta-data/", "link-local" },
        { "http://100.64.0.1/", "carrier-grade NAT" },
        { "http://0.0.0.0/", "unspecified" },
        { "http://224.0.0.1/", "multicast" },
        { "http://255.255.255.255/", "reserved" },
        { "https://10.1.2.3:8443/hook", "private" },
        { "ftp://example.com/", "http:// or https://" },
        { "file:///etc/passwd", "http:// or https://" },
        { "gopher://127.0.0.1:6379/_INFO", "http:// or https://" },
        { "javascript:alert(1)", "http:// or https://" },
        { "//example.com/hook", "http:// or https://" },
        { "http://user:secret@93.184.215.14/", "user name or password" },
    };

    [Theory]
    [MemberData(nameof(RefusedUrls))]
    public async Task An_internal_or_non_http_url_is_refused_when_saved(string url, string reason)
    {
        var project = UniqueKey("ssrf");
        await (await Admin.PostJsonAsync("api/projects", new JsonObject { ["key"] = project, ["name"] = project })).ReadJsonAsync(HttpStatusCode.Created);
        var request = new JsonObject { ["name"] = "x", ["url"] = url, ["events"] = new JsonArray("flag.created") };

        var problem = await (await Admin.PostJsonAsync($"api/projects/{project}/webhooks", request)).ReadJsonAsync(HttpStatusCode.BadRequest);
        var errors = problem["errors"]!["url"]!.AsArray().Select(m => m!.GetValue<string>()).ToList();
        Assert.Contains(errors, m => m.Contains(reason, StringComparison.Ordinal));
        Assert.Empty((await Admin.GetJsonAsync($"api/projects/{project}/webhooks")).AsArray());

        // Nor can an existing webhook be pointed there.
        request["url"] = "https://93.184.215.14/hook";
        var created = await (await Admin.PostJsonAsync($"api/projects/{project}/webhooks", request)).ReadJsonAsync(HttpStatusCode.Created);
        var id = created["webhook"]!["id"]!.GetValue<string>();
        await (await Admin.PatchJsonAsync($"api/projects/{project}/webhooks/{id}", new JsonObject { ["url"] = url }, "\"1\"")).ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("https://93.184.215.14/hook", (await Admin.GetJsonAsync($"api/projects/{project}/webhooks/{id}"))["url"]!.GetValue<string>());
    }

    // Each aims at a receiver listening on 127.0.0.1: refused by the check made at connect time.
    public static TheoryData<string> LoopbackShapes => new()
    {
        "http://127.0.0.1:{port}/hook",
        "http://2130706433:{port}/hook",
        "http://0177.0.0.1:{port}/hook",
        "http://0x7f000001:{port}/hook",
        "http://127.1:{port}/hook",
        "http://localhost:{port}/hook",
        "http://[::ffff:127.0.0.1]:{port}/hook",
        "http://[::1]:{port}/hook",
    };

    [Theory]
    [MemberData(nameof(LoopbackShapes))]
    public async Task Every_shape_of_a_loopback_address_is_refused_at_connect_time(string shape)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var sender = new WebhookSender(Options.Create(new WebhookOptions { TimeoutSeconds = 5 }));
        var url = shape.Replace("{port}", receiver.Address.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

        var result = await sender.SendAsync(url, "e1", "flag.created", "{}", "whsec_test", DateTimeOffset.UtcNow, CancellationToken.None);

        Assert.False(result.Delivered);
        Assert.Null(result.Status);
        Assert.Contains("webhooks do not reach internal networks", result.Error, StringComparison.Ordinal);
        Assert.Empty(receiver.Received);
    }

    [Theory]
    [InlineData("http://127.0.0.1:{port}/hook")]
    [InlineData("http://2130706433:{port}/hook")]
    [InlineData("http://0177.0.0.1:{port}/hook")]
    [InlineData("http://0x7f000001:{port}/hook")]
    [InlineData("http://[::ffff:127.0.0.1]:{port}/hook")]
    public async Task The_same_shapes_reach_the_receiver_when_loopback_is_allowed(string shape)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var sender = new WebhookSender(Options.Create(new WebhookOptions { TimeoutSeconds = 5, AllowedNetworks = ["127.0.0.0/8"] }));
        var url = shape.Replace("{port}", receiver.Address.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

        var result = await sender.SendAsync(url, "e1", "flag.created", """{"a":1}""", "whsec_test", DateTimeOffset.UtcNow, CancellationToken.None);

        Assert.True(result.Delivered, result.Error);
        var received = Assert.Single(receiver.Received);
        Assert.True(WebhookReceiver.Verify("whsec_test", received.Signature, received.Body));
    }

    [Theory]
    [InlineData("8.8.8.8", null)]
    [InlineData("93.184.215.14", null)]
    [InlineData("172.32.0.1", null)]
    [InlineData("100.128.0.1", null)]
    [InlineData("2606:4700:4700::1111", null)]
    [InlineData("::ffff:8.8.8.8", null)]
    [InlineData("2002:808:808::1", null)]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("127.255.255.254", "loopback")]
    [InlineData("10.255.0.1", "private")]
    [InlineData("172.16.0.1", "private")]
    [InlineData("192.168.255.1", "private")]
    [InlineData("169.254.169.254", "link-local")]
    [InlineData("100.100.100.200", "carrier-grade NAT")]
    [InlineData("198.18.0.1", "benchmarking")]
    [InlineData("::1", "loopback")]
    [InlineData("::ffff:10.0.0.1", "IPv4-mapped IPv6 address of 10.0.0.1, a private address")]
    [InlineData("::ffff:169.254.169.254", "link-local")]
    [InlineData("64:ff9b::10.0.0.1", "NAT64")]
    [InlineData("2002:c0a8:0101::1", "6to4 address of 192.168.1.1")]
    [InlineData("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo")]
    [InlineData("fe80::1%1", "link-local")]
    [InlineData("fd12:3456::1", "unique-local")]
    [InlineData("fec0::1", "site-local")]
    [InlineData("ff02::1", "multicast")]
    public void Addresses_are_judged_by_where_they_lead(string address, string? refusal)
    {
        var judged = new WebhookAddresses([]).Refusal(IPAddress.Parse(address));
        if (refusal is null)
        {
            Assert.Null(judged);
        }
        else
        {
            Assert.NotNull(judged);
            Assert.Contains(refusal, judged, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void An_allowed_network_is_reached_and_no_other()
    {
        var addresses = new WebhookAddresses([IPNetwork.Parse("10.20.0.0/16"), IPNetwork.Parse("::1/128")]);
        Assert.Null(addresses.Refusal(IPAddress.Parse("10.20.3.4")));
        Assert.Null(addresses.Refusal(IPAddress.Parse("::ffff:10.20.3.4")));
        Assert.Null(addresses.Refusal(IPAddress.Parse("::1")));
        Assert.NotNull(addresses.Refusal(IPAddress.Parse("10.21.0.1")));
        Assert.NotNull(addresses.Refusal(IPAddress.Parse("127.0.0.1")));
    }
}
