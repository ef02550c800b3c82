using Flagstaff.Cli.CodeReferences;

namespace Flagstaff.Cli.Tests;

/// <summary>How refs recognises a flag in a line of code: keys, their case aliases, configured aliases, and flag-reading calls.</summary>
public class CodeScannerTests
{
    private static List<FoundReference> Find(string text, RefsConfig? config = null, params string[] keys)
    {
        var found = new List<FoundReference>();
        new CodeScanner(keys.Length == 0 ? ["new-checkout", "checkout", "dark_mode"] : keys, config ?? new RefsConfig()).Search("a.cs", text, found);
        return found;
    }

    [Theory]
    [InlineData("new-checkout", "newCheckout,NewCheckout,new_checkout,NEW_CHECKOUT")]
    [InlineData("dark_mode", "darkMode,DarkMode,DARK_MODE")]
    [InlineData("newCheckoutV2", "NewCheckoutV2,new_checkout_v2,NEW_CHECKOUT_V2")]
    [InlineData("HTTPServer.timeout", "httpServerTimeout,HttpServerTimeout,http_server_timeout,HTTP_SERVER_TIMEOUT")]
    [InlineData("checkout", "")]
    public void A_key_of_several_words_has_case_aliases(string key, string expected) =>
        Assert.Equal(expected.Split(',', StringSplitOptions.RemoveEmptyEntries), CodeScanner.CaseAliases(key));

    [Fact]
    public void Keys_are_found_on_identifier_boundaries_with_line_and_context()
    {
        var found = Find("// none here\nif (flags.IsOn(\"new-checkout\")) { }\nvar mycheckout = 1; var checkoutTotal = 2;\n  return newCheckout && CHECKOUT; // new-checkout-v2\n");

        Assert.Collection(
            found,
            r => Assert.Equal(("new-checkout", 2, "if (flags.IsOn(\"new-checkout\")) { }", (string?)null), (r.Key, r.Line, r.Context, r.Alias)),
            r => Assert.Equal(("new-checkout", 4, "return newCheckout && CHECKOUT; // new-checkout-v2", "newCheckout"), (r.Key, r.Line, r.Context, r.Alias)));
    }

    [Fact]
    public void One_line_naming_a_flag_twice_is_one_reference()
    {
        Assert.Single(Find("checkout(checkout)\n"));
    }

    [Fact]
    public void Configured_aliases_are_found_and_case_aliases_can_be_turned_off()
    {
        var config = new RefsConfig
        {
            CaseAliases = false,
            Aliases = new Dictionary<string, IReadOnlyList<string>> { ["new-checkout"] = ["Features.NewCheckoutFlag"] },
        };

        var found = Find("a = Features.NewCheckoutFlag;\nb = newCheckout;\n", config);

        var only = Assert.Single(found);
        Assert.Equal(("new-checkout", 1, "Features.NewCheckoutFlag"), (only.Key, only.Line, only.Alias));
    }

    [Fact]
    public void A_flag_reading_call_with_a_key_the_project_lacks_is_an_unknown_reference()
    {
        var found = Find("client.GetBoolean(\"ghost-flag\", ctx, false);\nclient.isActive( 'checkout' );\nGetBoolean(variable, ctx)\n");

        Assert.Collection(
            found,
            r => Assert.Equal(("ghost-flag", 1, false), (r.Key, r.Line, r.Known)),
            r => Assert.Equal(("checkout", 2, true), (r.Key, r.Line, r.Known)));
    }

    [Fact]
    public void Context_is_trimmed_cut_and_free_of_control_characters()
    {
        var found = Find("\t\tcheckout\u0007 " + new string('x', 400) + "\r\n");

        var context = Assert.Single(found).Context;
        Assert.Equal(Flagstaff.Domain.CodeReferenceLimits.MaxContextLength, context.Length);
        Assert.StartsWith("checkout  xxx", context, StringComparison.Ordinal);
    }
}
