using System.Net;
using System.Text.Json.Nodes;
using Flagstaff.Evaluation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Flagstaff.Client.AspNetCore.Tests;

public sealed class AspNetCoreTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Options_come_from_configuration_and_are_checked_at_start()
    {
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => TestApp.StartAsync(
            new Dictionary<string, string?> { ["Flagstaff:BaseUrl"] = "not a url" },
            b => b.Services.AddFlagstaff(),
            _ => { }));
        Assert.Contains(e.Failures, f => f.Contains("ServerKey is required", StringComparison.Ordinal));

        var environment = await FlagEnvironment.CreateAsync(fixture.Server);
        var settings = environment.Settings();
        settings["Flagstaff:PollInterval"] = "00:00:07";
        settings["Flagstaff:AppName"] = "shop";
        await using var app = await TestApp.StartAsync(settings, b => b.Services.AddFlagstaff(), _ => { });
        var options = app.Services.GetRequiredService<IOptions<FlagstaffClientOptions>>().Value;
        Assert.Equal((TimeSpan.FromSeconds(7), "shop", fixture.Server.Address), (options.PollInterval, options.AppName, options.BaseUrl));
        Assert.Same(app.Client(), app.Services.GetRequiredService<IFlagstaffClient>());
    }

    [Fact]
    public async Task The_request_context_holds_the_user_claim_the_ip_the_user_agent_and_what_the_app_adds()
    {
        var environment = await FlagEnvironment.CreateAsync(fixture.Server);
        await using var app = await TestApp.StartAsync(environment.Settings(),
            b => b.Services.AddFlagstaff().EnrichContext((http, context) => context.Set("plan", http.Request.Headers["X-Plan"].ToString())),
            a => a.MapGet("/context", (RequestFlags flags) => flags.Context.Keys.ToDictionary(k => k, k => flags.Context.TryGetString(k, out var v) ? v : null)));
        using var request = TestApp.Get("/context", user: "u-42");
        request.Headers.UserAgent.ParseAdd("tests/1.0");
        request.Headers.Add("X-Plan", "pro");

        var context = JsonNode.Parse(await (await app.Http().SendAsync(request)).Content.ReadAsStringAsync())!;

        Assert.Equal("u-42", context["userId"]!.GetValue<string>());
        Assert.Equal("tests/1.0", context["userAgent"]!.GetValue<string>());
        Assert.Equal("pro", context["plan"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_endpoint_gated_on_a_flag_is_not_found_for_whom_the_flag_is_off_and_follows_changes()
    {
        var environment = await FlagEnvironment.CreateAsync(fixture.Server);
        await environment.FlagAsync("new-checkout", "u-1");
        await using var app = await TestApp.StartAsync(environment.Settings(),
            b => b.Services.AddFlagstaff(),
            a =>
            {
                a.MapGet("/checkout", () => "new checkout").RequireFlag("new-checkout");
                a.MapGet("/teapot", () => "tea").RequireFlag("new-checkout", _ => Results.StatusCode(StatusCodes.Status418ImATeapot));
            });
        var http = app.Http();

        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(TestApp.Get("/checkout", "u-1"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(TestApp.Get("/checkout", "u-2"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(TestApp.Get("/checkout"))).StatusCode);
        Assert.Equal((HttpStatusCode)418, (await http.SendAsync(TestApp.Get("/teapot", "u-2"))).StatusCode);

        await environment.TargetAsync("new-checkout", "u-1", "u-2");
        await TestApp.UntilAsync(() => app.Client().IsActive("new-checkout", EvaluationContext.CreateBuilder().Set("userId", "u-2").Build()), "the change to reach the app");
        Assert.Equal("new checkout", await (await http.SendAsync(TestApp.Get("/checkout", "u-2"))).Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_flag_cannot_change_halfway_through_a_request()
    {
        var environment = await FlagEnvironment.CreateAsync(fixture.Server);
        await environment.FlagAsync("route-reads", "nobody");
        var firstRead = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var goOn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestApp.StartAsync(environment.Settings(),
            b => b.Services.AddFlagstaff(),
            a => a.MapGet("/twice", async (RequestFlags flags) =>
            {
                bool before = flags.IsEnabled("route-reads");
                firstRead.TrySetResult();
                await goOn.Task;
                return new[] { before, flags.IsEnabled("route-reads") };
            }));
        var http = app.Http();

        var inFlight = http.SendAsync(TestApp.Get("/twice", "u-9"));
        await firstRead.Task;
        await environment.TargetAsync("route-reads", "u-9");
        await TestApp.UntilAsync(() => app.Client().IsActive("route-reads", EvaluationContext.CreateBuilder().Set("userId", "u-9").Build()), "the change to reach the app");
        goOn.SetResult();

        Assert.Equal("[false,false]", await (await inFlight).Content.ReadAsStringAsync());
        Assert.Equal("[true,true]", await (await http.SendAsync(TestApp.Get("/twice", "u-9"))).Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_mvc_action_is_gated_by_the_attribute()
    {
        var environment = await FlagEnvironment.CreateAsync(fixture.Server);
        await environment.FlagAsync("reports", "u-1");
        await using var app = await TestApp.StartAsync(environment.Settings(),
            b =>
            {
                b.Services.AddFlagstaff();
                b.Services.AddControllers().AddApplicationPart(typeof(ReportsController).Assembly);
            },
            a => a.MapControllers());

        Assert.Equal(HttpStatusCode.OK, (await app.Http().SendAsync(TestApp.Get("/reports", "u-1"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await app.Http().SendAsync(TestApp.Get("/reports", "u-2"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await app.Http().SendAsync(TestApp.Get("/reports/export", "u-2"))).StatusCode);
    }

    [Fact]
    public async Task The_health_check_reports_ready_stale_and_no_configuration()
    {
        var environment = await FlagEnvironment.CreateAsync(fixture.Server);
        await environment.FlagAsync("anything");
        await using var app = await TestApp.StartAsync(environment.Settings(),
            b =>
            {
                b.Services.AddFlagstaff();
                b.Services.AddHealthChecks().AddFlagstaff(maxStaleness: TimeSpan.FromMinutes(1));
            },
            a => a.MapHealthChecks("/health"));
        Assert.Equal("Healthy", await app.Http().GetStringAsync("/health"));

        // A client with nowhere to connect to and nothing persisted has no configuration.
        var nowhere = new Dictionary<string, string?>
        {
            ["Flagstaff:BaseUrl"] = "http://127.0.0.1:9/",
            ["Flagstaff:ServerKey"] = "fs_server_none",
            ["Flagstaff:PersistConfiguration"] = "false",
        };
        await using var lost = await TestApp.StartAsync(nowhere,
            b =>
            {
                b.Services.AddFlagstaff().WaitForReadyOnStart(TimeSpan.Zero);
                b.Services.AddHealthChecks().AddFlagstaff();
            },
            a => a.MapHealthChecks("/health"));
        var unhealthy = await lost.Http().GetAsync("/health");
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Unhealthy"), (unhealthy.StatusCode, await unhealthy.Content.ReadAsStringAsync()));

        // The same, started from a bootstrap file: it evaluates, but nothing says it is current.
        nowhere["Flagstaff:BootstrapJson"] = """[{"slug":"x","conditions":[],"defaultVariation":{"active":true,"value":true}}]""";
        await using var stale = await TestApp.StartAsync(nowhere,
            b =>
            {
                b.Services.AddFlagstaff().WaitForReadyOnStart(TimeSpan.Zero);
                b.Services.AddHealthChecks().AddFlagstaff();
            },
            a => a.MapHealthChecks("/health"));
        Assert.Equal("Degraded", await stale.Http().GetStringAsync("/health"));
    }
}

[ApiController]
[Route("reports")]
public sealed class ReportsController : ControllerBase
{
    [HttpGet]
    [FlagGate("reports")]
    public IActionResult Index() => Ok("reports");

    [HttpGet("export")]
    [FlagGate("export", StatusCode = StatusCodes.Status403Forbidden)]
    public IActionResult Export() => Ok("export");
}
