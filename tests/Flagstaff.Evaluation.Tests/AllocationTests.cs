namespace Flagstaff.Evaluation.Tests;

/// <summary>
/// Evaluation on a warm path must not allocate: allocation is counted exactly by the runtime, so this
/// is a deterministic property, not a timing. (Speed itself is measured in bench/, never asserted.)
/// </summary>
public class AllocationTests
{
    [Fact]
    public void Evaluating_a_flag_of_every_operator_allocates_nothing()
    {
        var configuration = FlagConfiguration.Load(
            """
            [{"slug":"all","conditions":[{"rules":[
              {"key":"s","operator":"STR_EQUAL","negate":true,"values":["x","y"]},
              {"key":"s","operator":"STR_EQUAL_SOFT","negate":false,"values":["user-42"]},
              {"key":"n","operator":"STR_EQUAL_SOFT","negate":false,"values":["42.5"]},
              {"key":"s","operator":"STR_CONTAINS","negate":false,"values":["er-"]},
              {"key":"s","operator":"STR_STARTS_WITH","negate":false,"values":["us"]},
              {"key":"s","operator":"STR_ENDS_WITH","negate":false,"values":["42"]},
              {"key":"s","operator":"STR_AFTER","negate":false,"value":"a"},
              {"key":"s","operator":"STR_BEFORE","negate":false,"value":"z"},
              {"key":"s","operator":"REGEXP","negate":false,"value":"^[a-z]+-\\d+$"},
              {"key":"n","operator":"GT","negate":false,"value":1},
              {"key":"n","operator":"LT","negate":false,"value":100},
              {"key":"n","operator":"EQ","negate":true,"value":7},
              {"key":"b","operator":"TRUE","negate":false},
              {"key":"e","operator":"EMPTY","negate":false},
              {"key":"a","operator":"ARR_OVERLAP","negate":false,"values":["beta"]},
              {"key":"d","operator":"DATE_AFTER","negate":false,"timestamp":1600000000000,"iso":"2020-09-13T12:26:40"},
              {"key":"timestamp","operator":"DATE_BEFORE","negate":false,"timestamp":4000000000000,"iso":"2096-10-02T07:06:40"},
              {"key":"v","operator":"SEMVER_GTE","negate":false,"version":[1,2]},
              {"key":"v","operator":"SEMVER_LTE","negate":false,"version":[3]},
              {"key":"v","operator":"SEMVER_EQ","negate":false,"version":[1,20]},
              {"key":"s","operator":"PERCENTAGE","negate":false,"rangeStart":0,"rangeEnd":1,"seed":5},
              {"key":"n","operator":"PERCENTAGE","negate":false,"rangeStart":0,"rangeEnd":1,"seed":6}
            ],"variation":{"active":true,"value":{"on":true}}}],"defaultVariation":{"active":false,"value":null}}]
            """, LoadMode.Strict).GetConfigurationOrThrow();
        var context = EvaluationContext.CreateBuilder()
            .Set("s", "USER-42").Set("n", 42.5).Set("b", true).Set("e", "").Set("a", ["beta", "x"])
            .Set("d", "2021-01-01").Set("v", "1.20.4").Build();

        // "USER-42" fails the case-sensitive rules, so check the soft rule's lower-casing separately.
        var lower = EvaluationContext.CreateBuilder()
            .Set("s", "user-42").Set("n", 42.5).Set("b", true).Set("e", "").Set("a", ["beta", "x"])
            .Set("d", "2021-01-01").Set("v", "1.20.4").Build();

        Assert.True(configuration.Evaluate("all", lower, now: 1_700_000_000_000).IsActive);
        Assert.False(configuration.Evaluate("all", context, now: 1_700_000_000_000).IsActive);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1_000; i++)
        {
            configuration.Evaluate("all", lower, now: 1_700_000_000_000);
            configuration.Evaluate("all", context, now: 1_700_000_000_000);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
