using Flagstaff.Dashboard.Model;

namespace Flagstaff.Dashboard.Tests;

/// <summary>The server's field paths as the screens number and name the fields.</summary>
public sealed class FieldNamesTests
{
    [Theory]
    [InlineData("rules[1]", "Rule 2")]
    [InlineData("rules[1].clauses[0].values", "Rule 2 condition 1 values")]
    [InlineData("rules[0].serve.split.buckets[1].weight", "Rule 1 serve share 2 weight")]
    [InlineData("defaultServe.split.buckets", "Default serve shares")]
    [InlineData("environments.production.rules[2].schedule.steps[0].at", "Rule 3 schedule step 1 at (production)")]
    [InlineData("environments.staging", "Staging")]
    [InlineData("variations[2].value.sizes[1]", "Variation 3 value sizes item 2")]
    [InlineData("stickinessProperty", "Stickiness property")]
    [InlineData("migration.compareRate", "Migration compare rate")]
    [InlineData("", "")]
    public void A_path_is_said_as_the_screen_says_it(string path, string expected) => Assert.Equal(expected, FieldNames.Describe(path));
}
