using Flagstaff.Evaluation.Internal;

namespace Flagstaff.Evaluation.Tests;

public class JsRegexTests
{
    // Expected results are JavaScript's: new RegExp(pattern).test(input). The shared vectors
    // (tests/vectors/regexp.json) hold more, proven against tggl-core by the test script.
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
    [InlineData("[\\S]", "\u00A0", false)]
    [InlineData("[^\\S]", "\u00A0", true)]
    [InlineData("\\S", "x", true)]
    [InlineData("\\d", "٣", false)]
    [InlineData("[\\D]", "٣", true)]
    [InlineData("\\w", "é", false)]
    [InlineData("[\\]]", "]", true)]
    [InlineData("\\bcat\\b", "catégorie", true)]
    [InlineData("\\bcat\\b", "concat", false)]
    [InlineData("\\Bé", " é", true)]
    [InlineData("\\Bé", "aé", false)]
    [InlineData("\\Bé", "éé", true)]
    [InlineData("x\\b", "xé", true)]
    [InlineData("^\\A$", "A", true)]
    [InlineData("\\cj", "\n", true)]
    [InlineData("[\\c_]", "\u001F", true)]
    [InlineData("[\\c]", "\\", true)]
    [InlineData("[\\c]", "c", true)]
    [InlineData("[\\b]", "\b", true)]
    [InlineData("[a-]", "-", true)]
    [InlineData("[--/]", ".", true)]
    [InlineData("[\\w-]", "-", true)]
    [InlineData("\\12", "\n", true)]
    [InlineData("(a)\\2", "a\u0002", true)]
    [InlineData("a{1,3}?b", "aab", true)]
    [InlineData("^(a|b)*$", "", true)]
    [InlineData("😀", "x😀y", true)]
    public void Patterns_behave_as_in_JavaScript(string pattern, string input, bool expected)
    {
        Assert.Equal(expected, JsRegex.Compile(pattern).IsMatch(input));
    }

    [Fact]
    public void A_long_input_with_a_boundary_pattern_is_mapped_through_a_rented_buffer()
    {
        var regex = JsRegex.Compile("\\bcat\\b");
        Assert.True(regex.IsMatch(new string('é', 1000) + "cat"));
        Assert.False(regex.IsMatch(new string('a', 1000) + "cat"));
    }

    // Each is a SyntaxError in JavaScript.
    [Theory]
    [InlineData("(unclosed", "unterminated group")]
    [InlineData("a)", "unmatched ')'")]
    [InlineData("[abc", "unterminated character class")]
    [InlineData("[z-a]", "out of order")]
    [InlineData("*a", "nothing to repeat")]
    [InlineData("a**", "nothing to repeat")]
    [InlineData("^*", "nothing to repeat")]
    [InlineData("\\b+", "nothing to repeat")]
    [InlineData("{2}", "nothing to repeat")]
    [InlineData("a{3,2}", "out of order")]
    [InlineData("a\\", "lone '\\'")]
    [InlineData("(?i)a", "invalid group")]
    [InlineData("(?<1a>x)", "invalid capture group name")]
    [InlineData("(?<n>a)(?<n>b)", "two groups named <n>")]
    [InlineData("(?<n>a)\\k<m>", "does not exist")]
    public void Invalid_JavaScript_is_refused_as_invalid(string pattern, string reason)
    {
        var e = Assert.Throws<JsRegexException>(() => JsRegex.Compile(pattern));
        Assert.False(e.IsUnsupported);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    // Valid JavaScript with no linear-time evaluation: refused, naming the construct.
    [Theory]
    [InlineData("^(?=.*\\d).{6,}$", "lookahead ((?=...)")]
    [InlineData("a(?!b)", "lookahead ((?!...)")]
    [InlineData("(?<=a)b", "lookbehind ((?<=...)")]
    [InlineData("(?<!a)b", "lookbehind ((?<!...)")]
    [InlineData("^(a+)b\\1$", "backreference (\\1)")]
    [InlineData("(?<word>a)\\k<word>", "backreference (\\k<word>)")]
    [InlineData("a{1001}", "more than 1000 times")]
    [InlineData("(?:(?:a{1000}){1000}){1000}", "too large")]
    public void Constructs_without_linear_time_evaluation_are_refused_by_name(string pattern, string construct)
    {
        var e = Assert.Throws<JsRegexException>(() => JsRegex.Compile(pattern));
        Assert.True(e.IsUnsupported);
        Assert.Contains(construct, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("^(a+)+$", 'a')]
    [InlineData("^(\\w+\\s?)*$", 'a')]
    [InlineData("^(a|a)*$", 'a')]
    [InlineData("^(a|aa)+$", 'a')]
    [InlineData("(x+x+)+y", 'x')]
    [InlineData("^(\\w+\\s?)*\\b$", 'a')]
    public void Catastrophic_patterns_answer_correctly_on_adversarial_input(string pattern, char repeated)
    {
        // A backtracking engine takes 2^40 steps or more on these; the answer is simply "no match".
        var regex = JsRegex.Compile(pattern);
        Assert.False(regex.IsMatch(new string(repeated, 40) + "!"));
        Assert.False(regex.IsMatch(new string(repeated, 5000) + "!"));
    }
}
