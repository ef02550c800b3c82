using System.Globalization;
using Flagstaff.Evaluation.Internal;

namespace Flagstaff.Evaluation.Tests;

/// <summary>
/// Statistical properties of percentage rollouts. The ids are fixed, so each test gives the same
/// answer on every run: these are not flaky sampling tests but checks of the hash's distribution on
/// a fixed population, with thresholds at the 0.1 % significance level.
/// </summary>
public class PercentageTests
{
    private const int Population = 100_000;

    private static string Id(int i) => "user-" + i.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public void Fractions_are_uniform_over_100_buckets()
    {
        const int Buckets = 100;
        var counts = new int[Buckets];
        for (int i = 0; i < Population; i++)
        {
            double f = PercentageRule.Fraction(Id(i), 911);
            counts[(int)(f * Buckets)]++;
        }

        double expected = (double)Population / Buckets;
        double chiSquare = counts.Sum(c => (c - expected) * (c - expected) / expected);

        // Chi-square critical value for 99 degrees of freedom at p = 0.001.
        Assert.True(chiSquare < 148.23, $"chi-square {chiSquare:F1} over {Buckets} buckets");
    }

    [Fact]
    public void Two_seeds_give_independent_populations()
    {
        const int Buckets = 10;
        var table = new int[Buckets, Buckets];
        for (int i = 0; i < Population; i++)
        {
            var id = Id(i);
            table[(int)(PercentageRule.Fraction(id, 1) * Buckets), (int)(PercentageRule.Fraction(id, 2) * Buckets)]++;
        }

        double expected = (double)Population / (Buckets * Buckets);
        double chiSquare = 0;
        foreach (int observed in table)
        {
            chiSquare += (observed - expected) * (observed - expected) / expected;
        }

        // Chi-square critical value for (10-1)×(10-1) = 81 degrees of freedom at p = 0.001.
        Assert.True(chiSquare < 124.84, $"chi-square {chiSquare:F1} of the 10×10 contingency table");
    }

    [Fact]
    public void The_same_id_always_lands_at_the_same_place()
    {
        var configuration = Load(0, 0.5, 77);
        for (int i = 0; i < 1_000; i++)
        {
            var context = EvaluationContext.CreateBuilder().Set("userId", Id(i)).Build();
            var first = configuration.Evaluate("rollout", context).IsActive;
            for (int repeat = 0; repeat < 3; repeat++)
            {
                Assert.Equal(first, configuration.Evaluate("rollout", context).IsActive);
            }

            var reloaded = Load(0, 0.5, 77);
            Assert.Equal(first, reloaded.Evaluate("rollout", context).IsActive);
        }
    }

    [Fact]
    public void Growing_a_rollout_keeps_everyone_who_was_in()
    {
        var tenPercent = Load(0, 0.1, 4242);
        var quarter = Load(0, 0.25, 4242);
        int inTen = 0, inQuarter = 0;
        for (int i = 0; i < Population; i++)
        {
            var context = EvaluationContext.CreateBuilder().Set("userId", Id(i)).Build();
            bool wasIn = tenPercent.Evaluate("rollout", context).IsActive;
            bool isIn = quarter.Evaluate("rollout", context).IsActive;
            if (wasIn)
            {
                inTen++;
                Assert.True(isIn, $"{Id(i)} was in the 10 % rollout and left it when it grew to 25 %");
            }

            if (isIn)
            {
                inQuarter++;
            }
        }

        // A fixed population, so these are exact figures, close to the nominal shares.
        Assert.InRange(inTen, 9_700, 10_300);
        Assert.InRange(inQuarter, 24_500, 25_500);
    }

    [Theory]
    [InlineData(42d, "42")]
    [InlineData(1.5, "1.5")]
    [InlineData(1e21, "1e+21")]
    [InlineData(-0.000001, "-0.000001")]
    public void Numbers_hash_as_their_JavaScript_text(double number, string text)
    {
        // A range exactly one double wide around where the text lands: only that text (or a number
        // written that way) can fall in it.
        double f = PercentageRule.Fraction(text, 9);
        var configuration = FlagConfiguration.Load(
            FlagJson.Configuration(FlagJson.Flag("f").When(true, FlagJson.Percentage("id", f, Math.BitIncrement(f), 9))),
            LoadMode.Strict).GetConfigurationOrThrow();

        Assert.True(configuration.Evaluate("f", EvaluationContext.CreateBuilder().Set("id", text).Build()).IsActive);
        Assert.True(configuration.Evaluate("f", EvaluationContext.CreateBuilder().Set("id", number).Build()).IsActive);
    }

    private static FlagConfiguration Load(double start, double end, long seed) =>
        FlagConfiguration.Load(
            FlagJson.Configuration(FlagJson.Flag("rollout").When(true, FlagJson.Percentage("userId", start, end, seed))),
            LoadMode.Strict).GetConfigurationOrThrow();
}
