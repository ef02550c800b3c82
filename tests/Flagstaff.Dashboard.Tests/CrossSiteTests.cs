using System.Net;
using Flagstaff.Domain;
using Flagstaff.Management.Services;
using Flagstaff.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Flagstaff.Dashboard.Tests;

/// <summary>
/// A page on another port of the same host (same site, other origin) tries to change things with the
/// session cookie of a member signed in to the dashboard in the same browser: the plain form and the
/// no-cors fetch of the attack that once worked.
/// </summary>
public sealed class CrossSiteTests(DashboardFixture fixture) : DashboardTest(fixture)
{
    [Fact]
    public async Task A_page_on_another_port_can_neither_switch_a_flag_off_nor_archive_a_project()
    {
        var project = await NewProjectAsync("Target");
        await Service<FlagService>().CreateAsync(project, new CreateFlagRequest
        {
            Key = "kill-switch",
            Name = "Kill switch",
            Environments = new Dictionary<string, EnvironmentTargeting> { ["production"] = new() { Enabled = true, DefaultServe = Serve.Of("on") } },
        }, TestActor);
        var page = await SignedInPageAsync();

        var off = new Uri(Server.Address, $"api/projects/{project}/flags/kill-switch/environments/production/off");
        var archive = new Uri(Server.Address, $"api/projects/{project}/archive");
        await using var attacker = await AttackerSiteAsync(off, archive);

        // A new page of the same browser context (it sends the member's cookie); its refused requests are
        // expected to show up as console errors, so it has no error watch of its own.
        var evil = await page.Context.NewPageAsync();
        await evil.GotoAsync(new Uri(attacker.Address, "fetch").ToString());
        await evil.WaitForFunctionAsync("document.title === 'sent'");

        var submitted = evil.WaitForResponseAsync(r => r.Url == off.ToString());
        await evil.GotoAsync(new Uri(attacker.Address, "form").ToString());
        var response = await submitted;
        Assert.Equal((int)HttpStatusCode.Forbidden, response.Status);
        Assert.Contains("cross-site request forgery", await response.TextAsync(), StringComparison.Ordinal);

        using var admin = Server.Admin();
        var flag = await admin.GetJsonAsync($"api/projects/{project}/flags/kill-switch");
        Assert.Contains(flag["environments"]!.AsArray(), e => e!["enabled"]!.GetValue<bool>());
        Assert.Null((await admin.GetJsonAsync($"api/projects/{project}"))["archivedAt"]);

        // The member's own session still works in the dashboard afterwards.
        await evil.CloseAsync();
        await page.GotoAsync($"projects/{project}/flags");
        await Microsoft.Playwright.Assertions.Expect(page.GetByText("kill-switch", new() { Exact = true })).ToBeVisibleAsync();
    }

    /// <summary>The attacker's pages, served from another loopback port.</summary>
    private static async Task<Attacker> AttackerSiteAsync(Uri off, Uri archive)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapGet("/form", () => Results.Content(
            $"""<!doctype html><html><body><form id="f" method="post" action="{off}"></form><script>document.getElementById('f').submit();</script></body></html>""",
            "text/html"));
        app.MapGet("/fetch", () => Results.Content(
            $$"""<!doctype html><html><head><title>sending</title></head><body><script>fetch('{{archive}}', { method: 'POST', mode: 'no-cors', credentials: 'include' }).finally(() => { document.title = 'sent'; });</script></body></html>""",
            "text/html"));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Attacker(app, new Uri(address.TrimEnd('/') + "/"));
    }

    private sealed class Attacker(WebApplication app, Uri address) : IAsyncDisposable
    {
        public Uri Address { get; } = address;

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
