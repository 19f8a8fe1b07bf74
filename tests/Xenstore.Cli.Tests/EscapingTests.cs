using CsCheck;

namespace Xenstore.Cli.Tests;

public sealed class EscapingTests
{
    [Fact]
    public void Sanitise_MatchesTheCTool()
    {
        Assert.Equal(@"a\t\n\r\\\001\007\x08\x1b\x7f\x80\xff""q", Escaping.Sanitise([(byte)'a', 9, 10, 13, (byte)'\\', 1, 7, 8, 0x1b, 0x7f, 0x80, 0xff, (byte)'"', (byte)'q']));
        Assert.Equal(@"\000", Escaping.Sanitise([0]));
    }

    [Fact]
    public void Unsanitise_ReversesSanitise()
    {
        Gen.Byte.Array[0, 64].Sample(value =>
            Assert.Equal(value, Escaping.Unsanitise(System.Text.Encoding.Latin1.GetBytes(Escaping.Sanitise(value)))));
    }

    [Theory]
    [InlineData(@"\x4g", "\x04g")]
    [InlineData(@"\xzz", "xzz")]
    [InlineData(@"\q", "q")]
    [InlineData(@"\8", "8")]
    [InlineData(@"x\", "x\0")]
    [InlineData(@"\101\1012", "AA2")]
    public void Unsanitise_KeepsTheCQuirks(string input, string expected)
    {
        Assert.Equal(System.Text.Encoding.Latin1.GetBytes(expected), Escaping.Unsanitise(System.Text.Encoding.Latin1.GetBytes(input)));
    }
}
