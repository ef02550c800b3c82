using Flagstaff.Cli.CodeReferences;

namespace Flagstaff.Cli.Tests;

/// <summary>The .gitignore semantics refs walks with, case by case as git's documentation gives them.</summary>
public class GitIgnoreTests
{
    private static bool Ignored(string patterns, string path, bool directory = false) =>
        GitIgnore.IsIgnored([GitIgnore.Parse("", patterns.Split('\n'))], path, directory);

    [Theory]
    [InlineData("*.log", "debug.log", true)]
    [InlineData("*.log", "src/deep/debug.log", true)]
    [InlineData("*.log", "debug.log.txt", false)]
    [InlineData("/build", "build", true)]
    [InlineData("/build", "src/build", false)]
    [InlineData("doc/*.txt", "doc/notes.txt", true)]
    [InlineData("doc/*.txt", "doc/server/arch.txt", false)]
    [InlineData("**/logs", "a/b/logs", true)]
    [InlineData("**/logs/debug.log", "logs/debug.log", true)]
    [InlineData("a/**/b", "a/b", true)]
    [InlineData("a/**/b", "a/x/y/b", true)]
    [InlineData("a/**/b", "xa/b", false)]
    [InlineData("abc/**", "abc/x/y.cs", true)]
    [InlineData("abc/**", "abc", false)]
    [InlineData("debug?.log", "debug1.log", true)]
    [InlineData("debug?.log", "debug10.log", false)]
    [InlineData("debug[0-9].log", "debug7.log", true)]
    [InlineData("debug[!0-9].log", "debug7.log", false)]
    [InlineData("debug[!0-9].log", "debugx.log", true)]
    [InlineData("\\#notes", "#notes", true)]
    [InlineData("# a comment", "# a comment", false)]
    [InlineData("\\!important", "!important", true)]
    [InlineData("trailing\\ ", "trailing ", true)]
    [InlineData("*", "anything/at/all.cs", true)]
    public void A_pattern_matches_as_git_documents_it(string pattern, string path, bool ignored) =>
        Assert.Equal(ignored, Ignored(pattern, path));

    [Fact]
    public void A_trailing_slash_matches_directories_only()
    {
        Assert.True(Ignored("out/", "out", directory: true));
        Assert.True(Ignored("out/", "src/out", directory: true));
        Assert.False(Ignored("out/", "out", directory: false));
    }

    [Fact]
    public void The_last_matching_pattern_decides_and_negation_re_includes()
    {
        const string Patterns = "*.cs\n!Keep.cs\n# comment\n\n";
        Assert.True(Ignored(Patterns, "src/Drop.cs"));
        Assert.False(Ignored(Patterns, "src/Keep.cs"));
        Assert.True(Ignored("!Keep.cs\n*.cs", "src/Keep.cs"));
    }

    [Fact]
    public void A_nested_file_is_relative_to_its_folder_and_overrides_its_parents()
    {
        var root = GitIgnore.Parse("", ["*.gen.cs", "/top.txt"]);
        var nested = GitIgnore.Parse("src/", ["!keep.gen.cs", "/local.txt", "top.txt"]);
        GitIgnore[] chain = [root, nested];

        Assert.True(GitIgnore.IsIgnored(chain, "src/drop.gen.cs", false));
        Assert.False(GitIgnore.IsIgnored(chain, "src/keep.gen.cs", false));
        Assert.True(GitIgnore.IsIgnored(chain, "src/local.txt", false));
        Assert.False(GitIgnore.IsIgnored(chain, "src/deeper/local.txt", false));
        Assert.True(GitIgnore.IsIgnored(chain, "src/deeper/top.txt", false));
        Assert.True(GitIgnore.IsIgnored(chain, "top.txt", false));
    }
}
