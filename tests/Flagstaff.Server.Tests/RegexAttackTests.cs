using System.Net;
using System.Text.Json.Nodes;
using Flagstaff.Testing;

namespace Flagstaff.Server.Tests;

/// <summary>
/// What a client key can make the server compute: patterns that take a backtracking engine 2^40
/// steps, sent in a batch, are answered correctly (only a linear-time engine can), and a batch is cut
/// off by its time budget.
/// </summary>
public sealed class RegexAttackTests(SqliteServer fixture) : EvaluationApiTestsBase(fixture), IClassFixture<SqliteServer>
{
    private async Task<string> SetUpCatastrophicFlagAsync()
    {
        var project = await NewProjectAsync();
        await (await Admin.PostJsonAsync($"api/projects/{project}/segments", Json("""
            {"key":"wordy","name":"Wordy","clauses":[{"property":"name","operator":"REGEXP","value":"^(\\w+\\s?)*$"}]}
            """))).ReadJsonAsync(HttpStatusCode.Created);
        await CreateFlagAsync(project, "route", Json("""{"valueType":"string","variations":[{"key":"new","value":"new"},{"key":"old","value":"old"}]}""").AsObject());
        await (await Admin.PutJsonAsync($"api/projects/{project}/flags/route/environments/production", Json("""
            {"enabled":true,"rules":[
              {"clauses":[{"property":"email","operator":"REGEXP","value":"^(a+)+$"}],"serve":{"variation":"new"}},
              {"clauses":[{"segment":"wordy"}],"serve":{"variation":"new"}}],
             "defaultServe":{"variation":"old"}}
            """), "\"1\"")).ReadJsonAsync();
        return await CreateKeyAsync(project, "production", "client");
    }

    [Fact]
    public async Task A_batch_of_catastrophic_contexts_is_answered_correctly_with_no_match_timeout()
    {
        using var http = WithKey(await SetUpCatastrophicFlagAsync());
        var attack = new string('a', 40) + "!";
        var words = string.Concat(Enumerable.Repeat("word ", 8)) + "!";
        var contexts = new JsonArray();
        for (int i = 0; i < 100; i++)
        {
            contexts.Add(i % 2 == 0
                ? new JsonObject { ["email"] = attack, ["name"] = words }
                : new JsonObject { ["email"] = new string('a', 40), ["name"] = words });
        }

        var answers = (await (await http.PostJsonAsync("flags", contexts)).ReadJsonAsync()).AsArray();

        // With a match timeout the flag would fail into "inactive" (absent) for the attack contexts.
        Assert.Equal(100, answers.Count);
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(i % 2 == 0 ? "old" : "new", answers[i]!["route"]?.GetValue<string>());
        }

        var segmentMatch = await (await http.PostJsonAsync("flags", Json("""{"email":"x","name":"hello brave new world"}"""))).ReadJsonAsync();
        Assert.Equal("new", segmentMatch["route"]!.GetValue<string>());
    }

    [Fact]
    public async Task Patterns_without_linear_time_evaluation_are_refused_at_the_rule_the_segment_clause_and_the_import_naming_the_construct()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "f");
        var problem = await (await Admin.PutJsonAsync($"api/projects/{project}/flags/f/environments/production", Json("""
            {"enabled":true,"rules":[{"clauses":[{"property":"email","operator":"REGEXP","value":"^(a+)b\\1$"}],"serve":{"variation":"on"}}],"defaultServe":{"variation":"off"}}
            """), "\"1\"")).ReadJsonAsync(HttpStatusCode.BadRequest);

        var detail = problem.ToJsonString();
        Assert.Contains("rules[0].clauses[0].value", detail, StringComparison.Ordinal);
        Assert.Contains("backreference", detail, StringComparison.Ordinal);

        var segment = await (await Admin.PostJsonAsync($"api/projects/{project}/segments", Json("""
            {"key":"s","name":"S","clauses":[{"property":"name","operator":"REGEXP","value":"^(?=a)"}]}
            """))).ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains("lookahead", segment.ToJsonString(), StringComparison.Ordinal);

        var key = UniqueKey("imported");
        var document = Json("""
            {"key":"KEY","name":"Imported","environments":[{"key":"production","name":"Production"}],
             "flags":[{"key":"f","name":"F","variations":[{"key":"on","value":true}],"environments":{"production":{"enabled":true,"rules":[{"clauses":[{"property":"x","operator":"REGEXP","value":"(?<!a)b"}],"serve":{"variation":"on"}}],"defaultServe":{"variation":"on"}}}}]}
            """.Replace("KEY", key, StringComparison.Ordinal));
        var imported = await (await Admin.PostJsonAsync("api/import", document)).ReadJsonAsync(HttpStatusCode.BadRequest);
        var error = imported["errors"]!["flags[0].environments.production.rules[0].clauses[0].value"]![0]!.GetValue<string>();
        Assert.Contains("lookbehind ((?<!...)", error, StringComparison.Ordinal);
        await (await Admin.GetAsync($"api/projects/{key}")).ReadJsonAsync(HttpStatusCode.NotFound);
    }
}

/// <summary>A batch that evaluates longer than its budget is refused whole; other requests are not held up by it.</summary>
public sealed class BatchBudgetTests : IAsyncLifetime
{
    private ServerHost _server = null!;

    public async ValueTask InitializeAsync() => _server = await ServerHost.StartAsync(DatabaseKind.Sqlite, settings: new Dictionary<string, string?>
    {
        ["Flagstaff:Evaluation:BatchBudgetMilliseconds"] = "1",
        ["Flagstaff:Evaluation:MaxBodyBytes"] = "16000000",
    });

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_batch_over_its_time_budget_gets_413_and_a_single_context_is_still_answered()
    {
        using var admin = _server.Admin();
        var project = "budget";
        await (await admin.PostJsonAsync("api/projects", new JsonObject { ["key"] = project, ["name"] = "Budget" })).ReadJsonAsync(HttpStatusCode.Created);
        await (await admin.PostJsonAsync($"api/projects/{project}/flags", new JsonObject { ["key"] = "f", ["name"] = "F" })).ReadJsonAsync(HttpStatusCode.Created);
        await (await admin.PutJsonAsync($"api/projects/{project}/flags/f/environments/production", JsonNode.Parse("""
            {"enabled":true,"rules":[{"clauses":[{"property":"text","operator":"REGEXP","value":"(x+x+)+y"}],"serve":{"variation":"on"}}],"defaultServe":{"variation":"on"}}
            """), "\"1\"")).ReadJsonAsync();
        var key = (await (await admin.PostJsonAsync($"api/projects/{project}/environments/production/keys", new JsonObject { ["name"] = "c", ["kind"] = "client" }))
            .ReadJsonAsync(HttpStatusCode.Created))["secret"]!.GetValue<string>();
        using var http = _server.Anonymous();
        http.DefaultRequestHeaders.Add("X-Tggl-Api-Key", key);

        // A thousand contexts of 10,000 characters: tens of milliseconds of matching at least, far over 1 ms.
        var text = new string('x', 10_000);
        var batch = new JsonArray([.. Enumerable.Range(0, 1000).Select(_ => (JsonNode)new JsonObject { ["text"] = text })]);
        var refused = await (await http.PostJsonAsync("flags", batch)).ReadJsonAsync(HttpStatusCode.RequestEntityTooLarge);
        var message = refused["error"]!.GetValue<string>();
        Assert.Contains("of 1000 contexts", message, StringComparison.Ordinal);
        Assert.Contains("at most 1 ms", message, StringComparison.Ordinal);

        var one = await (await http.PostJsonAsync("flags", new JsonObject { ["text"] = "xxy" })).ReadJsonAsync();
        Assert.True(one["f"]!.GetValue<bool>());
    }
}
