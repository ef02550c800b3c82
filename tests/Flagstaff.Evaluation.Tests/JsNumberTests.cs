using Flagstaff.Evaluation.Internal;

namespace Flagstaff.Evaluation.Tests;

public class JsNumberTests
{
    // Expected texts are what JavaScript's String(n) prints (ECMAScript Number::toString).
    [Theory]
    [InlineData(1d, "1")]
    [InlineData(-1d, "-1")]
    [InlineData(0d, "0")]
    [InlineData(1.5, "1.5")]
    [InlineData(-1.5, "-1.5")]
    [InlineData(0.1, "0.1")]
    [InlineData(0.30000000000000004, "0.30000000000000004")]
    [InlineData(4.35, "4.35")]
    [InlineData(100d, "100")]
    [InlineData(123456789d, "123456789")]
    [InlineData(9007199254740992d, "9007199254740992")]
    [InlineData(9007199254740994d, "9007199254740994")]
    [InlineData(1e20, "100000000000000000000")]
    [InlineData(123456789012345680000d, "123456789012345680000")]
    [InlineData(1e21, "1e+21")]
    [InlineData(1.5e21, "1.5e+21")]
    [InlineData(-1e21, "-1e+21")]
    [InlineData(0.000001, "0.000001")]
    [InlineData(0.0000015, "0.0000015")]
    [InlineData(1e-7, "1e-7")]
    [InlineData(1.2e-7, "1.2e-7")]
    [InlineData(123e-20, "1.23e-18")]
    [InlineData(5e-324, "5e-324")]
    [InlineData(1.7976931348623157e308, "1.7976931348623157e+308")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "Infinity")]
    [InlineData(double.NegativeInfinity, "-Infinity")]
    [InlineData(1234.5678, "1234.5678")]
    [InlineData(0.5, "0.5")]
    public void Format_writes_what_JavaScript_String_writes(double value, string expected)
    {
        Assert.Equal(expected, JsNumber.ToString(value));
    }

    // Expected numbers are what JavaScript's Number(text) gives.
    [Theory]
    [InlineData("", 0d)]
    [InlineData("   ", 0d)]
    [InlineData(" 12 ", 12d)]
    [InlineData("\n5\t", 5d)]
    [InlineData("020", 20d)]
    [InlineData("00", 0d)]
    [InlineData("0x10", 16d)]
    [InlineData("0X1f", 31d)]
    [InlineData("0b101", 5d)]
    [InlineData("0o17", 15d)]
    [InlineData("1e3", 1000d)]
    [InlineData("1E-2", 0.01)]
    [InlineData("+1", 1d)]
    [InlineData("-2", -2d)]
    [InlineData(".5", 0.5)]
    [InlineData("5.", 5d)]
    [InlineData("Infinity", double.PositiveInfinity)]
    [InlineData("-Infinity", double.NegativeInfinity)]
    [InlineData("abc", double.NaN)]
    [InlineData("1_000", double.NaN)]
    [InlineData("1,000", double.NaN)]
    [InlineData(".", double.NaN)]
    [InlineData("1e", double.NaN)]
    [InlineData("0x", double.NaN)]
    [InlineData("0x1g", double.NaN)]
    [InlineData("-0x10", double.NaN)]
    [InlineData("1 2", double.NaN)]
    [InlineData("NaN", double.NaN)]
    [InlineData("infinity", double.NaN)]
    [InlineData("3-beta", double.NaN)]
    public void Parse_reads_what_JavaScript_Number_reads(string text, double expected)
    {
        Assert.Equal(expected, JsNumber.Parse(text));
    }

    [Fact]
    public void Format_writes_negative_zero_as_zero()
    {
        Assert.Equal("0", JsNumber.ToString(-0d));
    }

    [Fact]
    public void Parse_keeps_negative_zero()
    {
        Assert.True(double.IsNegative(JsNumber.Parse("-0")));
    }
}
