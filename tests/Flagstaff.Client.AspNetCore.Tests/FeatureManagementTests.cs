using System.Net;
using Flagstaff.Client.FeatureManagement;
using Flagstaff.Evaluation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.FeatureManagement;
using Microsoft.FeatureManagement.FeatureFilters;
using Microsoft.FeatureManagement.Mvc;

namespace Flagstaff.Client.AspNetCore.Tests;

/// <summary>Code written for Microsoft.FeatureManagement reads Flagstaff flags unchanged.</summary>
public sealed class FeatureManagementTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static async Task<WebApplication> StartAsync(FlagEnvironment environment) =>
        await TestApp.StartAsync(environment.Settings(),
            b =>
            {
                b.Services.AddFlagstaff();
                b.Services.AddFeatureManagement().AddFlagstaff();
                b.Services.AddControllers().AddApplicationPart(typeof(BetaController).Assembly);
            },
            a =>
            {
                a.MapControllers();
                a.MapGet("/enabled/{feature}", async (string feature, IFeatureManagerSnapshot features) => await features.IsEnabledAsync(feature));
            });

    [Fact]
    public async Task IsEnabledAsync_and_FeatureGate_read_the_flag_for_the_current_request()
    {
        var environment = await FlagEnvironment.CreateAsync(fixture.Server);
        await environment.FlagAsync("beta", "u-1");
        await using var app = await StartAsync(environment);
        var http = app.Http();

        Assert.Equal("true", await (await http.SendAsync(TestApp.Get("/enabled/beta", "u-1"))).Content.ReadAsStringAsync());
        Assert.Equal("false", await (await http.SendAsync(TestApp.Get("/enabled/beta", "u-2"))).Content.ReadAsStringAsync());
        Assert.Equal("false", await (await http.SendAsync(TestApp.Get("/enabled/unknown", "u-1"))).Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(TestApp.Get("/beta", "u-1"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(TestApp.Get("/beta", "u-2"))).StatusCode);

        await environment.TargetAsync("beta", "u-1", "u-2");
        await TestApp.UntilAsync(() => app.Client().IsActive("beta", EvaluationContext.CreateBuilder().Set("userId", "u-2").Build()), "the change to reach the app");
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(TestApp.Get("/beta", "u-2"))).StatusCode);
    }

    [Fact]
    public async Task Explicit_contexts_and_the_feature_list_come_from_flagstaff()
    {
        var environment = await FlagEnvironment.CreateAsync(fixture.Server);
        await environment.FlagAsync("beta", "u-1");
        await environment.FlagAsync("dark-mode");
        await using var app = await StartAsync(environment);
        var features = app.Services.GetRequiredService<IFeatureManager>();

        Assert.True(await features.IsEnabledAsync("beta", EvaluationContext.CreateBuilder().Set("userId", "u-1").Build()));
        Assert.False(await features.IsEnabledAsync("beta", EvaluationContext.CreateBuilder().Set("userId", "u-2").Build()));
        Assert.True(await features.IsEnabledAsync<ITargetingContext>("beta", new TargetingContext { UserId = "u-1", Groups = ["staff"] }));
        Assert.True(await features.IsEnabledAsync("dark-mode"));

        var names = new List<string>();
        await foreach (var name in features.GetFeatureNamesAsync())
        {
            names.Add(name);
        }

        Assert.Equal(["beta", "dark-mode"], names.Order(StringComparer.Ordinal));
    }
}

[ApiController]
[Route("beta")]
public sealed class BetaController : ControllerBase
{
    [HttpGet]
    [FeatureGate("beta")]
    public IActionResult Index() => Ok("beta");
}
