using Xenstore.CommandLine;

namespace Xenstore.Cli.Tests;

public sealed class GetoptTests
{
    private static readonly LongOption[] s_long = [new("prefix", false, 'p'), new("recurse", false, 'r'), new("raw", false, 'R'), new("number", true, 'n'), new("json", false, 'J', ExactOnly: true)];

    private static (List<string> Options, IReadOnlyList<string> Operands, List<string> Errors) Parse(params string[] args)
    {
        var errors = new List<string>();
        var getopt = new Getopt("prog", args, "hpn:R", s_long, errors.Add);
        var options = new List<string>();
        while (getopt.Next(out char c, out string? arg))
        {
            options.Add(arg is null ? c.ToString() : $"{c}={arg}");
        }
        return (options, getopt.Operands, errors);
    }

    [Fact]
    public void Permutes_Clusters_AndStopsAtDoubleDash()
    {
        var (options, operands, errors) = Parse("/a", "-pR", "/b", "-n5", "-n", "-1", "--", "-p");
        Assert.Equal(["p", "R", "n=5", "n=-1"], options);
        Assert.Equal(["/a", "/b", "-p"], operands);
        Assert.Empty(errors);
    }

    [Fact]
    public void LongOptions_AbbreviateUnlessAmbiguous_ExtrasOnlyExactly()
    {
        Assert.Equal(["p"], Parse("--pre").Options);
        Assert.Equal(["prog: option '--r' is ambiguous; possibilities: '--recurse' '--raw'"], Parse("--r").Errors);
        Assert.Equal(["prog: unrecognized option '--js'"], Parse("--js").Errors);
        Assert.Equal(["J"], Parse("--json").Options);
        Assert.Equal(["n=3"], Parse("--number=3").Options);
        Assert.Equal(["prog: option '--raw' doesn't allow an argument"], Parse("--raw=1").Errors);
        Assert.Equal(["prog: option '--number' requires an argument"], Parse("--number").Errors);
    }

    [Fact]
    public void BadShortOptions_ReportLikeGlibc()
    {
        Assert.Equal(["prog: invalid option -- 'z'"], Parse("-z").Errors);
        Assert.Equal(["prog: option requires an argument -- 'n'"], Parse("-n").Errors);
    }

    [Fact]
    public void OptionalArgument_IsTakenOnlyWhenAttached()
    {
        // "H::" as in C xenstored: -Hx carries x; -H x leaves x as an operand.
        var getopt = new Getopt("prog", ["-Hx", "-H", "y", "-NH"], "H::N", [], _ => { });
        var options = new List<string>();
        while (getopt.Next(out char c, out string? arg))
        {
            options.Add(arg is null ? c.ToString() : $"{c}={arg}");
        }
        Assert.Equal(["H=x", "H", "N", "H"], options);
        Assert.Equal(["y"], getopt.Operands);
    }

    [Theory]
    [InlineData("12", 12)]
    [InlineData("  -7x", -7)]
    [InlineData("abc", 0)]
    [InlineData("99999999999999999999", -1)]
    [InlineData("4294967295", -1)]
    public void Atoi_BehavesLikeGlibc(string text, int expected) => Assert.Equal(expected, CNumbers.Atoi(text));
}
