using Xenstore.Client.Internal;
using Xenstore.Protocol;

namespace Xenstore.Client.Tests;

public sealed class PayloadTests
{
    [Theory]
    [InlineData("r-1", XsAccess.Read, 0xffffffffu)]
    [InlineData("b0x10", XsAccess.Both, 16u)]
    [InlineData("n0", XsAccess.None, 0u)]
    [InlineData("w32752", XsAccess.Write, 32752u)]
    public void PermissionText_ParsesWhatDaemonsSend(string text, XsAccess access, uint domid)
    {
        Assert.True(PermissionText.TryParse(text, out XsPermission permission));
        Assert.Equal(new XsPermission(access, domid), permission);
    }

    [Fact]
    public void PermissionText_FormatsLikeLibxenstore()
    {
        Assert.Equal("r-1", PermissionText.Format(new XsPermission(XsAccess.Read, 0xffffffff)));
        Assert.Equal("b5", PermissionText.Format(new XsPermission(XsAccess.Both, 5)));
        Assert.False(PermissionText.TryParse("x1", out _));
        Assert.False(PermissionText.TryParse("r", out _));
    }

    [Fact]
    public void Strings_AreNulTerminated_AndBounded()
    {
        Assert.Equal("/a\0tok\0"u8.ToArray(), Payload.Strings("watch", "/a", "tok"));
        Assert.Throws<XenstoreErrorException>(() => Payload.Strings("write", new string('a', 4096)));
        Assert.Equal(["a", "b"], Payload.SplitStrings("a\0b\0"u8));
        Assert.Empty(Payload.SplitStrings([]));
    }
}
