using Flagstaff.Evaluation;

namespace Flagstaff.DataPlane.Tests;

/// <summary>
/// Stickiness pinned: where fixed ids fall for fixed seeds must never change, or every running split
/// would reshuffle its users. The golden cases' probes rely on these positions.
/// </summary>
public class BucketingGoldenTests
{
    [Theory]
    [InlineData("user-1", 911u, 0.47139539673724107)]
    [InlineData("user-2", 911u, 0.7760383241754114)]
    [InlineData("user-11", 911u, 0.994782755383007)]
    [InlineData("user-8", 7u, 0.2499502571881633)]
    [InlineData("user-29", 7u, 0.05427002069872572)]
    [InlineData("user-15", 109u, 0.0047072225726924885)]
    [InlineData("user-1", 105u, 0.5596693203690624)]
    [InlineData("user-5", 103u, 0.3370056381302433)]
    public void A_context_falls_where_it_always_has(string userId, uint seed, double position) =>
        Assert.Equal(position, Bucketing.Position(EvaluationContext.FromDictionary([new("userId", userId)]), "userId", seed));

    [Fact]
    public void A_split_that_grows_keeps_everyone_who_was_in()
    {
        var before = CompilerGoldenTests.Compile(GoldenCases.Get("split-grow-before"));
        var after = CompilerGoldenTests.Compile(GoldenCases.Get("split-grow-after"));
        int inBefore = 0, inAfter = 0;
        for (int i = 0; i < 5_000; i++)
        {
            var context = EvaluationContext.FromDictionary([new("userId", "user-" + i)]);
            bool wasIn = before.VariationOf(before.Evaluator.Evaluate(context)) == "on";
            bool isIn = after.VariationOf(after.Evaluator.Evaluate(context)) == "on";
            Assert.True(!wasIn || isIn, $"user-{i} left the split when it grew.");
            inBefore += wasIn ? 1 : 0;
            inAfter += isIn ? 1 : 0;
        }

        Assert.InRange(inBefore, 400, 600);
        Assert.InRange(inAfter, 1_100, 1_400);
    }
}
