using System.Globalization;
using System.Text.Json.Nodes;
using Flagstaff.Domain;
using Flagstaff.Evaluation;
using Flagstaff.Management.Services;
using Flagstaff.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Flagstaff.Dashboard.Tests;

/// <summary>The Test tab: where a context falls in a split, and evaluation at a chosen time, in the project's stickiness property.</summary>
public sealed class TestPanelTests(DashboardFixture fixture) : DashboardTest(fixture)
{
    [Fact]
    public async Task The_test_panel_shows_the_bucket_position_and_its_range_and_evaluates_at_a_chosen_time()
    {
        var project = UniqueKey("p");
        await Service<ProjectService>().CreateAsync(new CreateProjectRequest { Key = project, Name = "Accounts", StickinessProperty = "accountId" }, TestActor);
        var start = DateTimeOffset.UtcNow.AddDays(2);
        start = new DateTimeOffset(start.Year, start.Month, start.Day, 9, 0, 0, TimeSpan.Zero);
        var details = await Service<FlagService>().CreateAsync(project, new CreateFlagRequest
        {
            Key = "search",
            Name = "Search",
            Environments = new Dictionary<string, EnvironmentTargeting>
            {
                ["production"] = new()
                {
                    Enabled = true,
                    Rules = [new TargetingRule { Id = "pro", Name = "Pro rollout", Clauses = [new Clause { Property = "plan", Operator = "STR_EQUAL", Values = ["pro"] }], Serve = Serve.Of("on"), Schedule = new Schedule { Steps = [new RolloutStep { At = start, Percentage = 50 }] } }],
                    DefaultServe = new Serve { Split = new Split { Buckets = [new SplitBucket { Variation = "on", Weight = 30 }, new SplitBucket { Variation = "off", Weight = 70 }] } },
                },
            },
        }, TestActor);
        uint seed = details.Flag.Seed;
        var key = (await Service<ApiKeyService>().CreateAsync(project, "production", new CreateApiKeyRequest("test", ApiKeyKind.Server), TestActor)).Secret;

        var page = await SignedInPageAsync();
        await page.GotoAsync($"projects/{project}/flags/search?env=production&tab=test");
        var context = page.GetByLabel("Context (JSON: the properties your application sends)");
        await Expect(context).ToHaveAccessibleDescriptionAsync("Splits and rollouts place contexts by accountId, this project's stickiness property, unless a split names another.");
        Assert.Contains("\"accountId\"", await context.InputValueAsync(), StringComparison.Ordinal);
        await context.FillAsync("not json");
        await Expect(page.Locator(".test-result .field-error")).ToContainTextAsync("{\"accountId\": \"u-42\"}");

        // An account in the default split: its position, from the evaluation core, and the range that has it.
        var account = Enumerable.Range(0, 100).Select(i => "acct-" + i).First(a => Bucketing.Position(EvaluationContext.FromDictionary([new("accountId", a)]), "accountId", seed) >= 0.3);
        double position = Bucketing.Position(EvaluationContext.FromDictionary([new("accountId", account)]), "accountId", seed)!.Value;
        await context.FillAsync($$"""{"accountId": "{{account}}", "plan": "pro"}""");
        var placement = page.Locator(".placement");
        await Expect(placement.Locator(".placement-position")).ToHaveTextAsync(Percent(position));
        await Expect(placement.Locator(".placement-range")).ToHaveTextAsync("30% to 100%");
        await Expect(placement).ToContainTextAsync("accountId places this context at");
        await Expect(page.Locator(".decided")).ToContainTextAsync("the default (no rule matched), in its percentage split");
        // As applications are served: the split puts this account in off.
        Assert.False((await FlagsAsync(key, new JsonObject { ["accountId"] = account, ["plan"] = "pro" })).ContainsKey("search"));

        // The rollout of pro accounts starts in two days: checked before it starts.
        var inRollout = Enumerable.Range(0, 100).Select(i => "acct-" + i).First(a => Bucketing.Position(EvaluationContext.FromDictionary([new("accountId", a)]), "accountId", seed) < 0.5);
        double rolloutPosition = Bucketing.Position(EvaluationContext.FromDictionary([new("accountId", inRollout)]), "accountId", seed)!.Value;
        await context.FillAsync($$"""{"accountId": "{{inRollout}}", "plan": "pro"}""");
        await Expect(page.Locator(".decided")).ToContainTextAsync("the default");
        await page.GetByLabel("Evaluate at (UTC)").FillAsync(start.AddHours(1).ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture));
        await Expect(page.Locator(".decided")).ToContainTextAsync("rule 1 “Pro rollout”, in its percentage split");
        await Expect(page.Locator(".result-big")).ToHaveTextAsync("true");
        await Expect(placement.Locator(".placement-position")).ToHaveTextAsync(Percent(rolloutPosition));
        await Expect(placement.Locator(".placement-range")).ToHaveTextAsync("0% to 50%");
        await Expect(placement).ToContainTextAsync($"in the rollout (the rollout is at 50% since {start:yyyy-MM-dd} 09:00 UTC)");
        await ScreenshotAsync(page, "flag-test-panel");
        // The server agrees once that time has come (the context's timestamp stands for it).
        Assert.True((await FlagsAsync(key, new JsonObject { ["accountId"] = inRollout, ["plan"] = "pro", ["timestamp"] = start.AddHours(1).ToUnixTimeMilliseconds() }))["search"]!.GetValue<bool>());

        await page.GetByRole(AriaRole.Button, new() { Name = "Now", Exact = true }).ClickAsync();
        await Expect(page.Locator(".decided")).ToContainTextAsync("the default");
    }

    private static string Percent(double fraction) => Math.Round(fraction * 100, 3).ToString("0.###", CultureInfo.InvariantCulture) + "%";

    private async Task<JsonObject> FlagsAsync(string apiKey, JsonObject context)
    {
        using var client = Server.Anonymous();
        client.DefaultRequestHeaders.Add("X-Tggl-Api-Key", apiKey);
        return (await (await client.PostJsonAsync("flags", context)).ReadJsonAsync()).AsObject();
    }
}
