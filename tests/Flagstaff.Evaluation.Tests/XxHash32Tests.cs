using System.Text;
using Flagstaff.Evaluation.Internal;

namespace Flagstaff.Evaluation.Tests;

public class XxHash32Tests
{
    // Reference values of the XXH32 algorithm (xxHash's own test vectors).
    [Theory]
    [InlineData("", 0u, 0x02CC5D05u)]
    [InlineData("a", 0u, 0x550D7456u)]
    [InlineData("abc", 0u, 0x32D153FFu)]
    [InlineData("Nobody inspects the spammish repetition", 0u, 0xE2293B2Fu)]
    public void Hash_matches_reference_values(string text, uint seed, uint expected)
    {
        Assert.Equal(expected, XxHash32.Hash(Encoding.UTF8.GetBytes(text), seed));
    }
}
