using System.Text.Json;
using System.Text.Json.Nodes;

namespace Flagstaff.Evaluation.Tests;

public class EvaluationTests
{
    private static readonly FlagConfiguration Configuration = FlagConfiguration.Load(
        FlagJson.Configuration(
            FlagJson.Flag("search")
                .When("new", FlagJson.StrEqual("accountId", "a1", "a2"))
                .When("new", FlagJson.Percentage("accountId", 0, 0.5, 911))
                .Otherwise("old"),
            FlagJson.Flag("off-for-all"),
            FlagJson.Flag("scheduled").When(true, FlagJson.Rule("timestamp", "DATE_AFTER", ("timestamp", 1_700_000_000_000), ("iso", "2023-11-14T22:13:20")))),
        LoadMode.Strict).GetConfigurationOrThrow();

    [Fact]
    public void A_matching_condition_says_which_one_decided()
    {
        var result = Configuration.Evaluate("search", Context("a2"));

        Assert.True(result.IsActive);
        Assert.Equal("new", result.Value!.AsString());
        Assert.Equal(EvaluationReason.TargetingMatch, result.Reason);
        Assert.Equal(0, result.ConditionIndex);
    }

    [Fact]
    public void A_percentage_condition_is_reported_as_a_split()
    {
        var (inSplit, outOfSplit) = (0, 0);
        for (int i = 0; i < 200; i++)
        {
            var result = Configuration.Evaluate("search", Context("acct-" + i));
            if (result.Reason == EvaluationReason.Split)
            {
                Assert.Equal(1, result.ConditionIndex);
                Assert.Equal("new", result.Value!.AsString());
                inSplit++;
            }
            else
            {
                Assert.Equal(EvaluationReason.Default, result.Reason);
                Assert.Equal(-1, result.ConditionIndex);
                Assert.Equal("old", result.Value!.AsString());
                outOfSplit++;
            }
        }

        Assert.True(inSplit > 50 && outOfSplit > 50, $"{inSplit} in, {outOfSplit} out");
    }

    [Fact]
    public void An_inactive_default_is_inactive_with_reason_default()
    {
        var result = Configuration.Evaluate("off-for-all", Context("a1"));

        Assert.False(result.IsActive);
        Assert.Null(result.Value);
        Assert.Equal(EvaluationReason.Default, result.Reason);
    }

    [Fact]
    public void An_unknown_flag_is_reported_as_not_found()
    {
        var result = Configuration.Evaluate("nope", Context("a1"));

        Assert.False(result.IsActive);
        Assert.Equal(EvaluationReason.FlagNotFound, result.Reason);
    }

    [Fact]
    public void The_current_time_stands_in_for_a_missing_timestamp()
    {
        Assert.False(Configuration.Evaluate("scheduled", EvaluationContext.Empty).IsActive);
        Assert.False(Configuration.Evaluate("scheduled", EvaluationContext.Empty, now: 1_699_999_999_999).IsActive);
        Assert.True(Configuration.Evaluate("scheduled", EvaluationContext.Empty, now: 1_700_000_000_000).IsActive);

        // A timestamp the caller set wins over the clock.
        var past = EvaluationContext.CreateBuilder().Set("timestamp", 1_600_000_000_000L).Build();
        Assert.False(Configuration.Evaluate("scheduled", past, now: 1_800_000_000_000).IsActive);
    }

    [Fact]
    public void EvaluateActive_returns_only_active_flags()
    {
        var active = Configuration.EvaluateActive(Context("a1"));

        Assert.Equal(["search"], active.Keys);
        Assert.Equal("new", active["search"].AsString());
    }

    [Theory]
    [InlineData("null")]
    [InlineData("false")]
    [InlineData("0")]
    [InlineData("\"\"")]
    [InlineData("[1,\"a\",null]")]
    [InlineData("{\"a\":{\"b\":[true]}}")]
    [InlineData("-1.5e-7")]
    public void Any_JSON_value_can_be_served_and_round_trips(string json)
    {
        var configuration = FlagConfiguration.Load(
            "[{\"slug\":\"v\",\"conditions\":[],\"defaultVariation\":{\"active\":true,\"value\":" + json + "}}]", LoadMode.Strict).GetConfigurationOrThrow();

        var result = configuration.Evaluate("v", EvaluationContext.Empty);

        Assert.True(result.IsActive);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(json), JsonNode.Parse(result.Value!.ToJson())));
        Assert.Equal(JsonDocument.Parse(json).RootElement.ValueKind, result.Value.Kind);
    }

    [Fact]
    public void Object_values_are_kept_compact_and_equal_values_are_shared()
    {
        var configuration = FlagConfiguration.Load(
            """
            [{"slug":"a","conditions":[],"defaultVariation":{"active":true,"value": { "limits" : [ 1 , 2.50 ] , "name" : "x\u00e9" } }},
             {"slug":"b","conditions":[],"defaultVariation":{"active":true,"value":{"limits":[1,2.50],"name":"xé"}}}]
            """, LoadMode.Strict).GetConfigurationOrThrow();

        var a = configuration.Evaluate("a", EvaluationContext.Empty).Value!;
        var b = configuration.Evaluate("b", EvaluationContext.Empty).Value!;

        Assert.Equal("""{"limits":[1,2.50],"name":"x\u00E9"}""", a.ToJson());
        Assert.Same(a, b);
    }

    [Fact]
    public void A_catastrophic_regular_expression_answers_correctly_with_no_timeout()
    {
        // ^(a+)+$ on forty a's and a '!' takes a backtracking engine 2^40 steps; a linear one answers.
        var configuration = FlagConfiguration.Load(
            FlagJson.Configuration(FlagJson.Flag("re").When("match", FlagJson.Rule("email", "REGEXP", ("value", "^(a+)+$"))).Otherwise("no-match")),
            LoadMode.Strict).GetConfigurationOrThrow();
        var attack = EvaluationContext.CreateBuilder().Set("email", new string('a', 40) + "!").Build();
        var matching = EvaluationContext.CreateBuilder().Set("email", new string('a', 40)).Build();

        var result = configuration.Evaluate("re", attack);

        Assert.Equal(EvaluationReason.Default, result.Reason);
        Assert.Equal("no-match", result.Value!.AsString());
        Assert.Equal("match", configuration.Evaluate("re", matching).Value!.AsString());
    }

    [Fact]
    public void WithChanges_replaces_and_removes_flags_without_touching_the_original()
    {
        var replacement = FlagConfiguration.LoadFlag(
            """{"slug":"search","conditions":[],"defaultVariation":{"active":true,"value":"replaced"}}"""u8, LoadMode.Strict).Flag!;

        var changed = Configuration.WithChanges([replacement], ["off-for-all"]);

        Assert.Equal("replaced", changed.Evaluate("search", Context("a1")).Value!.AsString());
        Assert.Equal(EvaluationReason.FlagNotFound, changed.Evaluate("off-for-all", Context("a1")).Reason);
        Assert.Equal(2, changed.Count);
        Assert.Equal("new", Configuration.Evaluate("search", Context("a1")).Value!.AsString());
        Assert.Equal(3, Configuration.Count);
    }

    private static EvaluationContext Context(string accountId) =>
        EvaluationContext.CreateBuilder().Set("accountId", accountId).Build();
}
