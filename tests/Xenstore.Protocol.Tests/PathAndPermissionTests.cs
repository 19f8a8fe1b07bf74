using System.Text;
using Xenstore.Protocol;

namespace Xenstore.Protocol.Tests;

public sealed class PathAndPermissionTests
{
    [Theory]
    [InlineData("/", 0, "/", "")]
    [InlineData("/a", 0, "/", "a")]
    [InlineData("/local/domain/7", 13, "/local/domain", "7")]
    [InlineData("/a/bcdefghijklmnopqrstuvwxyz0123456789", 2, "/a", "bcdefghijklmnopqrstuvwxyz0123456789")]
    public void LastSlash_ParentAndLastComponent(string path, int lastSlash, string parent, string last)
    {
        Assert.Equal(lastSlash, XsPath.LastSlash(path));
        Assert.Equal(path.LastIndexOf('/'), XsPath.LastSlash(path));
        Assert.Equal(parent, XsPath.Parent(path));
        Assert.Equal(last, XsPath.LastComponent(path));
        Assert.Equal(-1, XsPath.LastSlash("data"));
    }

    [Theory]
    [InlineData("/", XsPathKind.Absolute)]
    [InlineData("/local/domain/0", XsPathKind.Absolute)]
    [InlineData("/A-z_0@9", XsPathKind.Absolute)]
    [InlineData("data/x", XsPathKind.Relative)]
    [InlineData("@releaseDomain", XsPathKind.Special)]
    [InlineData("", XsPathKind.Invalid)]
    [InlineData("/a/", XsPathKind.Invalid)]
    [InlineData("/local/domain/", XsPathKind.Invalid)]
    [InlineData("//a", XsPathKind.Invalid)]
    [InlineData("/a.b", XsPathKind.Invalid)]
    [InlineData("/a b", XsPathKind.Invalid)]
    [InlineData("/a:b", XsPathKind.Invalid)]
    public void Classify_FollowsXenstoreSyntax(string path, XsPathKind expected)
    {
        Assert.Equal(expected, XsPath.Classify(Encoding.ASCII.GetBytes(path)));
    }

    [Theory]
    [InlineData("/local/domain/5/data/x", 6)]
    [InlineData("/local/domain/5", 15)]
    [InlineData("/tool/x", 7)]
    public void RelativeLength_StripsDomainHome(string path, int expected)
    {
        Assert.Equal(expected, XsPath.RelativeLength(path));
    }

    [Fact]
    public void Canonicalize_Relative_GoesUnderHome()
    {
        Assert.Equal("/local/domain/7/data", XsPath.Canonicalize("data"u8, XsPathKind.Relative, 7));
        Assert.Equal("data", XsPath.ToWatcherForm("/local/domain/7/data", true, 7));
        Assert.Equal("/local/domain/8/data", XsPath.ToWatcherForm("/local/domain/8/data", true, 7));
    }

    [Theory]
    [InlineData("n0", XsAccess.None, 0u)]
    [InlineData("r5", XsAccess.Read, 5u)]
    [InlineData("w70000", XsAccess.Write, 70000u)]
    [InlineData("b32757", XsAccess.Both, 32757u)]
    public void Permission_Parses(string text, XsAccess access, uint domid)
    {
        Assert.True(XsPermission.TryParse(Encoding.ASCII.GetBytes(text), out XsPermission p));
        Assert.Equal(new XsPermission(access, domid), p);
        Assert.Equal(text, p.ToString());
    }

    [Theory]
    [InlineData("x5")]
    [InlineData("r")]
    [InlineData("r-1")]
    [InlineData("r5x")]
    [InlineData("")]
    public void Permission_RejectsGarbage(string text)
    {
        Assert.False(XsPermission.TryParse(Encoding.ASCII.GetBytes(text), out _));
    }

    [Fact]
    public void PermissionList_TakesOnlyTerminatedEntries()
    {
        Assert.Equal(2, XsPermission.TryParseList("n0\0r5\0"u8)!.Length);
        // As C: the unterminated fragment after the last NUL is not an entry, valid or not.
        Assert.Equal([new XsPermission(XsAccess.None, 0)], XsPermission.TryParseList("n0\0r5"u8)!);
        Assert.Equal([new XsPermission(XsAccess.None, 0)], XsPermission.TryParseList("n0\0xx"u8)!);
        Assert.Null(XsPermission.TryParseList("n0"u8));
        Assert.Null(XsPermission.TryParseList(""u8));
        Assert.Null(XsPermission.TryParseList("n0\0\0"u8));
    }

    [Fact]
    public void PayloadArgs_SingleArgumentNeedsExactlyOneTrailingNul()
    {
        Assert.True(PayloadArgs.TryGetSingle("/a\0"u8, out var arg));
        Assert.Equal("/a"u8.ToArray(), arg.ToArray());
        Assert.False(PayloadArgs.TryGetSingle("/a"u8, out _));
        Assert.False(PayloadArgs.TryGetSingle("/a\0\0"u8, out _));
        Assert.False(PayloadArgs.TryGetSingle("/a\0b"u8, out _));
    }
}
