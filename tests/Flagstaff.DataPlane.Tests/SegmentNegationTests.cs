using System.Text;
using Flagstaff.DataPlane.Compilation;
using Flagstaff.DataPlane.Snapshots;
using Flagstaff.Domain;
using Flagstaff.Evaluation;
using static Flagstaff.DataPlane.Tests.Domain;
using Op = Flagstaff.Evaluation.Operators;

namespace Flagstaff.DataPlane.Tests;

/// <summary>"Not in segment S" compiles to the complement of "in segment S", whatever S's shape.</summary>
public class SegmentNegationTests
{
    private const int Contexts = 500;

    private static readonly Project Shop = Project();

    private static readonly string[] AccountIds = ["acct-1", "acct-2", "acct-vip", "acct-9"];

    private static readonly string[] Countries = ["FR", "BE", "DE"];

    private static readonly string[] Plans = ["pro", "team", "free"];

    public static TheoryData<string> Shapes => ["ids", "clauses", "ids-and-clauses", "empty"];

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Not_in_the_segment_is_the_negation_of_in_it(string shape)
    {
        var segment = shape switch
        {
            "ids" => Segment("s", "accountId", ["acct-1", "acct-vip"]),
            "clauses" => Segment("s", null, [], Values("country", Op.StrEqual, "FR", "BE"), Values("plan", Op.StrEqual, "pro")),
            "ids-and-clauses" => Segment("s", "accountId", ["acct-vip"], Values("country", Op.StrEqual, "FR"), Values("plan", Op.StrEqual, "pro", "team")),
            _ => Segment("s", null, []),
        };
        var inside = Compile("inside", segment, InSegment("s"));
        var outside = Compile("outside", segment, InSegment("s").Not());

        // Every context has every property: a missing one matches no rule, negated or not (see
        // docs/flag-format.md), so such a context is neither in nor "not in" a segment that reads it.
        var random = new Random(20260401);
        for (int i = 0; i < Contexts; i++)
        {
            string json = $$"""{"userId":"u-{{i}}","accountId":"{{Pick(random, AccountIds)}}","country":"{{Pick(random, Countries)}}","plan":"{{Pick(random, Plans)}}"}""";
            var context = EvaluationContext.Parse(Encoding.UTF8.GetBytes(json));
            bool isIn = Matches(inside, context);
            bool isOut = Matches(outside, context);
            Assert.True(isIn != isOut, $"{shape}: {json} is {(isIn ? "both in and not in" : "neither in nor not in")} the segment.");
        }
    }

    [Fact]
    public void A_rule_whose_segments_expand_to_too_many_alternatives_is_refused_at_the_clause()
    {
        // Each negated segment of 10 clauses multiplies the alternatives by 10: the fourth passes 1,000.
        var wide = Segment("wide", null, [], [.. Enumerable.Range(0, 10).Select(n => Values("p" + n, Op.StrEqual, "x"))]);
        var flag = Toggle("wide", 7);
        var clauses = Enumerable.Repeat(InSegment("wide").Not(), 4).ToArray();
        var errors = new ValidationErrors();
        FlagRules.CheckTargeting(flag, Targeting(flag, Serve("off"), Rule(Serve("on"), clauses)), new Dictionary<string, Segment> { ["wide"] = wide }, errors);
        var error = Assert.Single(errors.Items);
        Assert.Equal("rules[0].clauses[3]", error.Path);
        Assert.Contains("at most 1000", error.Message, StringComparison.Ordinal);

        var fewer = new ValidationErrors();
        FlagRules.CheckTargeting(flag, Targeting(flag, Serve("off"), Rule(Serve("on"), clauses[..3])), new Dictionary<string, Segment> { ["wide"] = wide }, fewer);
        Assert.True(fewer.IsEmpty, string.Join("; ", fewer.Items));
    }

    private static SnapshotFlag Compile(string key, Segment segment, Clause clause)
    {
        var flag = Flag(key, 11, Value("matched", "matched"), Value("default", "default"));
        var targeting = Targeting(flag, Serve("default"), Rule(Serve("matched"), clause));
        return FlagCompiler.Compile(Shop, flag, targeting, new Dictionary<string, Segment> { [segment.Key] = segment });
    }

    private static bool Matches(SnapshotFlag flag, EvaluationContext context)
    {
        var result = flag.Evaluator.Evaluate(context, null);
        Assert.True(result.Reason is not EvaluationReason.Error, result.ErrorMessage);
        return flag.VariationOf(result) == "matched";
    }

    private static string Pick(Random random, string[] values) => values[random.Next(values.Length)];
}
