using System.Text;
using Flagstaff.Evaluation.Internal;

namespace Flagstaff.Evaluation.Tests;

public class JsTextTests
{
    // Expected texts are what JavaScript's toLowerCase() gives.
    [Theory]
    [InlineData("ABC", "abc")]
    [InlineData("Ünïcödé", "ünïcödé")]
    [InlineData("İstanbul", "i\u0307stanbul")]
    [InlineData("ΟΔΟΣ", "οδος")]
    [InlineData("ΟΔΟΣ ΟΔΟΣ", "οδος οδος")]
    [InlineData("Σ", "σ")]
    [InlineData("AΣB", "aσb")]
    [InlineData("𐐀", "𐐨")]
    [InlineData("", "")]
    public void ToLowerCase_matches_JavaScript(string input, string expected)
    {
        var buffer = new char[JsText.MaxLowerCaseLength(input.Length)];
        int written = JsText.ToLowerCase(input, buffer);
        Assert.Equal(expected, new string(buffer, 0, written));
    }

    [Theory]
    [InlineData("user-1")]
    [InlineData("é日本😀")]
    [InlineData("")]
    public void Hash_bytes_are_UTF8_for_well_formed_text(string text)
    {
        var buffer = new byte[text.Length * 4];
        int written = JsText.ToHashBytes(text, buffer);
        Assert.Equal(Encoding.UTF8.GetBytes(text), buffer[..written]);
    }

    [Fact]
    public void Hash_bytes_combine_a_lone_surrogate_with_the_next_unit_as_xxhashjs_does()
    {
        var buffer = new byte[8];
        int written = JsText.ToHashBytes("\uD800a", buffer);

        // 0x10000 + ((0x000 << 10) | (0x61 & 0x3FF)) = U+10061, encoded in four bytes.
        Assert.Equal(new byte[] { 0xF0, 0x90, 0x81, 0xA1 }, buffer[..written]);
    }
}
