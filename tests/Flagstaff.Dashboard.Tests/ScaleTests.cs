using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flagstaff.Domain;
using Flagstaff.Evaluation;
using Flagstaff.Management.Services;
using Flagstaff.Server.Reports;
using Flagstaff.Storage;
using Flagstaff.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Flagstaff.Dashboard.Tests;

/// <summary>
/// A project of 1,000 flags, imported as a user would, on the flags page. The timings are measured in
/// the browser and written to the test output (and to <c>flags-1000-timings.json</c> beside the
/// screenshots) for docs/benchmarks.md; they are never asserted, only that everything works.
/// </summary>
public sealed class ScaleTests(DashboardFixture fixture) : DashboardTest(fixture)
{
    private const int FlagCount = 1_000;

    private static readonly string[] Areas =
    [
        "checkout", "search", "payments", "onboarding", "catalog", "cart", "shipping", "accounts", "pricing", "reviews",
        "recommendations", "notifications", "billing", "support", "mobile", "admin", "analytics", "inventory", "promotions", "loyalty",
    ];

    // Set in the page before its scripts run: when the first flag row appears, from the navigation's start.
    private const string ObserveFirstRow = """
        new MutationObserver((_, observer) => {
          if (document.querySelector('.flags-table tbody tr td.flag-cell')) {
            window.__firstRow = performance.now();
            observer.disconnect();
          }
        }).observe(document, { childList: true, subtree: true });
        """;

    // Types a query one character at a time; for each keystroke, the time from the input event until
    // the page says it shows the matches for what is typed so far, and a frame has been painted.
    private const string TypeAndMeasure = """
        async (query) => {
          const input = document.querySelector('input[type=search]');
          const count = document.querySelector('.result-count');
          const times = [];
          for (let i = 1; i <= query.length; i++) {
            const typed = query.slice(0, i);
            const start = performance.now();
            await new Promise(resolve => {
              const observer = new MutationObserver(() => {
                if (count.textContent.includes('\u201c' + typed + '\u201d')) { observer.disconnect(); resolve(); }
              });
              observer.observe(document.querySelector('main'), { childList: true, characterData: true, subtree: true });
              input.value = typed;
              input.dispatchEvent(new Event('input', { bubbles: true }));
            });
            await new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve, 0)));
            times.push(performance.now() - start);
          }
          return times;
        }
        """;

    // Changes a control (the search box or a select) and measures until the result line reads `expected`.
    private const string ChangeAndMeasure = """
        async ([selector, value, eventName, expected]) => {
          const control = document.querySelector(selector);
          const count = document.querySelector('.result-count');
          const start = performance.now();
          await new Promise(resolve => {
            const observer = new MutationObserver(() => {
              if (count.textContent.trim() === expected) { observer.disconnect(); resolve(); }
            });
            observer.observe(document.querySelector('main'), { childList: true, characterData: true, subtree: true });
            control.value = value;
            control.dispatchEvent(new Event(eventName, { bubbles: true }));
          });
          await new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve, 0)));
          return performance.now() - start;
        }
        """;

    [Fact]
    public async Task The_flags_page_renders_and_filters_1000_flags()
    {
        var project = UniqueKey("big");
        using (var admin = Server.Admin())
        {
            var document = JsonSerializer.SerializeToNode(Document(project), DomainJson.Default.ProjectDocument)!;
            var imported = await (await admin.PostJsonAsync("api/import", document)).ReadJsonAsync();
            Assert.Equal(FlagCount + 4, imported["created"]!.GetValue<int>());
        }

        // Applications report every flag, so each row has a "last evaluated" too.
        await ReportAsync(project);

        // The server's part: reading the project's 1,000 flags with their targeting (warm, median of 5).
        var service = Service<FlagService>();
        var reads = new List<double>();
        for (int i = 0; i < 6; i++)
        {
            var watch = Stopwatch.StartNew();
            var list = await service.ListAsync(project, new FlagQuery { Archived = null, Limit = 100_000 });
            reads.Add(watch.Elapsed.TotalMilliseconds);
            Assert.Equal(FlagCount, list.Items.Count);
        }

        var page = await SignedInPageAsync();
        await page.AddInitScriptAsync(ObserveFirstRow);
        var loads = new List<double>();
        var documents = new List<double>();
        for (int i = 0; i < 3; i++)
        {
            await page.GotoAsync($"projects/{project}/flags");
            await Expect(page.Locator(".result-count")).ToHaveTextAsync("1,000 flags shown");
            await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Accounts 003" })).ToBeVisibleAsync();
            loads.Add(await page.EvaluateAsync<double>("() => window.__firstRow"));
            documents.Add(await page.EvaluateAsync<double>("() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"));
        }

        await ScreenshotAsync(page, "flags-1000");
        var renderedRows = await Rows(page).CountAsync();

        // Typing in the search, keystroke by keystroke: 50 payments flags, then the one.
        var typing = await page.EvaluateAsync<double[]>(TypeAndMeasure, "payments-047");
        await Expect(page.Locator(".result-count")).ToHaveTextAsync("1 flag matches “payments-047”");
        await Expect(Rows(page)).ToHaveCountAsync(1);
        var clearing = await page.EvaluateAsync<double>(ChangeAndMeasure, new object[] { "input[type=search]", "", "input", "1,000 flags shown" });
        var onSomewhere = await page.EvaluateAsync<double>(ChangeAndMeasure, new object[] { "select[aria-label=State]", "on", "change", "500 flags shown" });
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Accounts 002" })).ToBeVisibleAsync();
        var byTag = await page.EvaluateAsync<double>(ChangeAndMeasure, new object[] { "select[aria-label=Tag]", "pricing", "change", "25 flags shown" });
        await Expect(Rows(page)).ToHaveCountAsync(25);
        await page.GetByLabel("Tag", new() { Exact = true }).SelectOptionAsync("");
        await page.GetByLabel("State", new() { Exact = true }).SelectOptionAsync("active");

        // The list is virtualised: scrolling to the end brings the last flag in.
        await Expect(page.Locator(".result-count")).ToHaveTextAsync("1,000 flags shown");
        var last = page.GetByRole(AriaRole.Link, new() { Name = "Support 049" });
        for (int i = 0; i < 10 && await last.CountAsync() == 0; i++)
        {
            await page.EvaluateAsync("() => window.scrollTo(0, document.documentElement.scrollHeight)");
            await page.WaitForTimeoutAsync(200);
        }

        await Expect(last).ToBeInViewportAsync();

        // Really typed, as a person would (Playwright's keystrokes, through the whole browser pipeline).
        await page.EvaluateAsync("() => window.scrollTo(0, 0)");
        var search = page.GetByLabel("Search flags");
        var watchTyping = Stopwatch.StartNew();
        await search.PressSequentiallyAsync("loyalty");
        await Expect(page.Locator(".result-count")).ToHaveTextAsync("50 flags match “loyalty”");
        var typedByPlaywright = watchTyping.Elapsed.TotalMilliseconds;
        await ScreenshotAsync(page, "flags-1000-search");

        var timings = new JsonObject
        {
            ["flags"] = FlagCount,
            ["serverListMsMedian"] = Median(reads.Skip(1)),
            ["renderedRowsAfterLoad"] = renderedRows,
            ["pageLoadToFirstRowMs"] = new JsonArray([.. loads.Select(l => (JsonNode)Round(l))]),
            ["pageLoadToDomContentLoadedMs"] = new JsonArray([.. documents.Select(l => (JsonNode)Round(l))]),
            ["keystrokeMs"] = new JsonArray([.. typing.Select(t => (JsonNode)Round(t))]),
            ["keystrokeMsMedian"] = Median(typing),
            ["keystrokeMsMax"] = Round(typing.Max()),
            ["clearSearchTo1000Ms"] = Round(clearing),
            ["stateFilterOnMs"] = Round(onSomewhere),
            ["tagFilterMs"] = Round(byTag),
            ["playwrightTyped7KeysTo50ResultsMs"] = Round(typedByPlaywright),
        };
        TestContext.Current.TestOutputHelper?.WriteLine(timings.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Directory.CreateDirectory(Screenshots.Folder);
        await File.WriteAllTextAsync(Path.Combine(Screenshots.Folder, "flags-1000-timings.json"), timings.ToJsonString());
    }

    private static ILocator Rows(IPage page) => page.Locator(".flags-table tbody tr:not([aria-hidden])");

    private static double Round(double value) => Math.Round(value, 1);

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return Round(sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2);
    }

    // 20 areas of 50 flags: every kind, two tags each; half of them on in development and in
    // production (there with an e-mail rule and a 20% split), a sixth on in staging.
    private static ProjectDocument Document(string project)
    {
        var kinds = Enum.GetValues<FlagKind>();
        var flags = new List<FlagDocument>(FlagCount);
        for (int i = 0; i < FlagCount; i++)
        {
            var area = Areas[i / 50];
            int n = i % 50;
            var kind = kinds[i % kinds.Length];

            // Migration flags serve stages: "live" where the others serve "on".
            bool migration = kind == FlagKind.Migration;
            string on = migration ? MigrationStageNames.Live : "on";
            var production = i % 2 == 0
                ? new EnvironmentTargeting
                {
                    Enabled = true,
                    Rules = [new TargetingRule { Name = "Staff", Clauses = [new Clause { Property = "email", Operator = "STR_ENDS_WITH", Values = ["@example.com"] }], Serve = Serve.Of(on) }],
                    DefaultServe = new Serve { Split = new Split { Buckets = [new() { Variation = on, Weight = 20 }, new() { Variation = "off", Weight = 80 }] } },
                }
                : new EnvironmentTargeting { Enabled = false, DefaultServe = Serve.Of("off") };
            flags.Add(new FlagDocument
            {
                Key = string.Create(CultureInfo.InvariantCulture, $"{area}-{n:000}"),
                Name = string.Create(CultureInfo.InvariantCulture, $"{char.ToUpperInvariant(area[0])}{area[1..]} {n:000}"),
                Description = $"Part {n} of the {area} work",
                Tags = [area, "q" + ((n % 4) + 1).ToString(CultureInfo.InvariantCulture)],
                Kind = kind,
                ValueType = migration ? FlagValueType.String : FlagValueType.Boolean,
                Variations = migration ? MigrationPaths.Variations(MigrationPath.Full) : [new Variation { Key = "on", Value = JsonSerializer.SerializeToElement(true) }, new Variation { Key = "off", Fallback = true }],
                Migration = migration ? new MigrationSettings { Path = MigrationPath.Full } : null,
                Environments = new Dictionary<string, EnvironmentTargeting>
                {
                    ["development"] = new() { Enabled = i % 2 == 0, DefaultServe = Serve.Of(on) },
                    ["staging"] = new() { Enabled = i % 6 == 0, DefaultServe = Serve.Of(on) },
                    ["production"] = production,
                },
            });
        }

        return new ProjectDocument
        {
            Key = project,
            Name = "Big shop",
            Environments =
            [
                new EnvironmentDocument { Key = "development", Name = "Development", Color = "#3b82f6" },
                new EnvironmentDocument { Key = "staging", Name = "Staging", Color = "#f59e0b" },
                new EnvironmentDocument { Key = "production", Name = "Production", Color = "#ef4444", Critical = true },
            ],
            Flags = flags,
        };
    }

    private async Task ReportAsync(string project)
    {
        var key = (await Service<ApiKeyService>().CreateAsync(project, "production", new CreateApiKeyRequest("shop", ApiKeyKind.Server), TestActor)).Secret;
        var evaluated = new JsonObject();
        for (int i = 0; i < FlagCount; i++)
        {
            evaluated[string.Create(CultureInfo.InvariantCulture, $"{Areas[i / 50]}-{i % 50:000}")] = new JsonArray(new JsonObject { ["value"] = true, ["default"] = false, ["count"] = 10 + i });
        }

        using var sdk = Server.Anonymous();
        sdk.DefaultRequestHeaders.Add("X-Tggl-Api-Key", key);
        await (await sdk.PostJsonAsync("report", new JsonObject { ["clients"] = new JsonArray(new JsonObject { ["id"] = "shop", ["flags"] = evaluated }) })).ReadJsonAsync();
        await Service<UsageAggregator>().FlushAsync(CancellationToken.None);
    }
}
