using Flagstaff.Evaluation.Internal;

namespace Flagstaff.Evaluation.Tests;

public class JsRegexTests
{
    // Expected results are JavaScript's: new RegExp(pattern).test(input).
    [Theory]
    [InlineData("[]", "a", false)]
    [InlineData("[]", "", false)]
    [InlineData("[^]", "\n", true)]
    [InlineData("a[^]b", "a\rb", true)]
    [InlineData("a\\$", "a$", true)]
    [InlineData("[.$]", "$", true)]
    [InlineData("[.$]", ".", true)]
    [InlineData("[.$]", "x", false)]
    [InlineData("^a.c$", "a\rc", false)]
    [InlineData("^a.c$", "abc", true)]
    [InlineData("^abc$", "abc\n", false)]
    [InlineData("\\s", "\u3000", true)]
    [InlineData("[\\s]", "\u00A0", true)]
    [InlineData("\\S", "\u00A0", false)]
    [InlineData("\\S", "x", true)]
    [InlineData("\\d", "٣", false)]
    [InlineData("\\w", "é", false)]
    [InlineData("[\\]]", "]", true)]
    [InlineData("(a)\\1", "aa", true)]
    public void Translated_patterns_behave_as_in_JavaScript(string pattern, string input, bool expected)
    {
        Assert.Equal(expected, JsRegex.Compile(pattern, TimeSpan.FromSeconds(1)).IsMatch(input));
    }
}
