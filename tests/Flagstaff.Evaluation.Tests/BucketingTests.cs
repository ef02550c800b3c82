namespace Flagstaff.Evaluation.Tests;

/// <summary>Bucketing.Position tells where a context falls exactly as a PERCENTAGE rule places it.</summary>
public class BucketingTests
{
    private static readonly FlagConfiguration Configuration = FlagConfiguration.Load(
        FlagJson.Configuration(FlagJson.Flag("split").When("in", FlagJson.Percentage("accountId", 0.25, 0.6, 911)).Otherwise("out")),
        LoadMode.Strict).GetConfigurationOrThrow();

    [Fact]
    public void A_position_is_in_a_percentage_rules_range_exactly_when_the_rule_matches()
    {
        int inside = 0;
        for (int i = 0; i < 2_000; i++)
        {
            // Strings, and numbers as JavaScript writes them.
            var context = i % 2 == 0
                ? EvaluationContext.FromDictionary([new("accountId", "acct-" + i)])
                : EvaluationContext.FromDictionary([new("accountId", i * 1.5)]);
            double position = Bucketing.Position(context, "accountId", 911)!.Value;
            bool matched = Configuration.Evaluate("split", context).Reason == EvaluationReason.Split;
            Assert.Equal(position is >= 0.25 and < 0.6, matched);
            inside += matched ? 1 : 0;
        }

        Assert.InRange(inside, 600, 800);
    }

    [Fact]
    public void A_context_without_a_string_or_number_there_has_no_position()
    {
        Assert.Null(Bucketing.Position(EvaluationContext.Empty, "accountId", 911));
        Assert.Null(Bucketing.Position(EvaluationContext.FromDictionary([new("accountId", true)]), "accountId", 911));
        Assert.Null(Bucketing.Position(EvaluationContext.FromDictionary([new("accountId", null)]), "accountId", 911));
    }
}
