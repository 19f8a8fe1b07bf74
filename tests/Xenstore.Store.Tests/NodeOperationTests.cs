using System.Text;
using Xenstore.Protocol;
using Xenstore.TestKit.Engine;

namespace Xenstore.Store.Tests;

public sealed class NodeOperationTests
{
    private readonly EngineHarness _h = new();

    private TestConnection Dom0 => _h.Dom0;

    [Fact]
    public void InitialTree_HasToolXenstored()
    {
        Dom0.Directory("/").Is("tool\0");
        Dom0.Directory("/tool").Is("xenstored\0");
        Dom0.GetPerms("/").Is("n0\0");
        Assert.Equal(3, _h.Engine.Statistics.Nodes);
        _h.AssertConsistent();
    }

    [Fact]
    public void Write_ValueIsEverythingAfterTheFirstNul_BinaryKept()
    {
        Dom0.Write("/a", "x\0y\0").Ok();
        Dom0.Read("/a").Is("x\0y\0");
        Dom0.Raw(XsMessageType.Write, [.. "/b\0"u8, 0xff, 0x00, 0x01]).Ok();
        Assert.Equal(new byte[] { 0xff, 0x00, 0x01 }, Dom0.Read("/b").Payload);
        _h.AssertConsistent();
    }

    [Fact]
    public void Write_PathWithNulOnly_StoresEmptyValue()
    {
        Dom0.Write("/a", "").Ok();
        Dom0.Read("/a").Is("");
    }

    [Fact]
    public void Write_WithoutNul_IsEinval()
    {
        Dom0.Raw(XsMessageType.Write, "/a"u8.ToArray()).Fails("EINVAL");
        Dom0.Raw(XsMessageType.Write, []).Fails("EINVAL");
        Dom0.Read("/a").Fails("ENOENT");
    }

    [Fact]
    public void Write_Overwrites()
    {
        Dom0.Write("/a", "1").Ok();
        Dom0.Write("/a", "22").Ok();
        Dom0.Read("/a").Is("22");
        _h.AssertConsistent();
    }

    [Fact]
    public void Write_CreatesMissingParentsWithEmptyValues()
    {
        Dom0.Write("/a/b/c", "v").Ok();
        Dom0.Read("/a").Is("");
        Dom0.Read("/a/b").Is("");
        Dom0.Read("/a/b/c").Is("v");
        Dom0.GetPerms("/a/b").Is("n0\0");
        Assert.Equal(6, _h.Engine.Statistics.Nodes);
        _h.AssertConsistent();
    }

    [Theory]
    [InlineData("/a")]
    [InlineData("/a\0\0")]
    [InlineData("\0")]
    [InlineData("")]
    [InlineData("/a/\0")]
    [InlineData("/a.b\0")]
    [InlineData("//a\0")]
    [InlineData("@foo\0")]
    [InlineData("@releaseDomain\0")]
    public void Read_ExactSingleNulRuleAndPathSyntax_Einval(string payload)
    {
        Dom0.Write("/a", "v").Ok();
        Dom0.Raw(XsMessageType.Read, Encoding.Latin1.GetBytes(payload)).Fails("EINVAL");
    }

    [Theory]
    [InlineData(XsMessageType.Mkdir)]
    [InlineData(XsMessageType.Rm)]
    [InlineData(XsMessageType.Directory)]
    [InlineData(XsMessageType.GetPerms)]
    public void SingleArgumentOps_NeedExactlyOneTrailingNul(XsMessageType type)
    {
        Dom0.Write("/a", "v").Ok();
        Dom0.Raw(type, "/a"u8.ToArray()).Fails("EINVAL");
        Dom0.Raw(type, "/a\0\0"u8.ToArray()).Fails("EINVAL");
        Dom0.Raw(type, "/a\0x"u8.ToArray()).Fails("EINVAL");
        Dom0.Read("/a").Is("v");
    }

    [Fact]
    public void Write_SpecialPath_Einval()
    {
        Dom0.Write("@foo", "x").Fails("EINVAL");
        Dom0.Mkdir("@foo").Fails("EINVAL");
        Dom0.Rm("@foo").Fails("EINVAL");
    }

    [Fact]
    public void Read_Missing_Enoent()
    {
        Dom0.Read("/nope").Fails("ENOENT");
        Dom0.Read("/nope/deeper").Fails("ENOENT");
    }

    [Fact]
    public void RelativePath_FromDom0_ResolvesUnderItsHome()
    {
        Dom0.Write("relx", "1").Ok();
        Dom0.Read("/local/domain/0/relx").Is("1");
        Dom0.Read("relx").Is("1");
    }

    [Fact]
    public void Mkdir_CreatesEmptyNode()
    {
        Dom0.Mkdir("/m/n").Ok();
        Dom0.Read("/m/n").Is("");
        Dom0.Read("/m").Is("");
        _h.AssertConsistent();
    }

    [Fact]
    public void Mkdir_Existing_OkValueKeptNoEvent()
    {
        Dom0.Write("/m", "keep").Ok();
        Dom0.WatchQuietly("/", "all");
        Reply r = Dom0.Mkdir("/m").Ok();
        Assert.Empty(r.EventsBefore);
        Dom0.Read("/m").Is("keep");
        Assert.Empty(Dom0.TakeEvents());
    }

    [Fact]
    public void Rm_RemovesSubtree()
    {
        Dom0.Write("/a/b/c", "1").Ok();
        Dom0.Write("/a/b/d", "2").Ok();
        Dom0.Write("/a/e", "3").Ok();
        int before = _h.Engine.Statistics.Nodes;
        Dom0.Rm("/a/b").Ok();
        Dom0.Read("/a/b/c").Fails("ENOENT");
        Dom0.Read("/a/b").Fails("ENOENT");
        Dom0.Read("/a/e").Is("3");
        Dom0.Directory("/a").Is("e\0");
        Assert.Equal(before - 3, _h.Engine.Statistics.Nodes);
        _h.AssertConsistent();
    }

    [Fact]
    public void Rm_MissingNodeWithExistingParent_Ok()
    {
        Dom0.Write("/a", "").Ok();
        Dom0.Rm("/a/missing").Ok();
        _h.AssertConsistent();
    }

    [Fact]
    public void Rm_MissingParent_Enoent()
    {
        Dom0.Rm("/missing/child").Fails("ENOENT");
    }

    [Fact]
    public void Rm_Root_Einval()
    {
        Dom0.Rm("/").Fails("EINVAL");
        Dom0.Directory("/").Is("tool\0");
    }

    [Fact]
    public void Directory_ListsInInsertionOrder_RecreatedGoesLast()
    {
        Dom0.Write("/d/b", "").Ok();
        Dom0.Write("/d/a", "").Ok();
        Dom0.Write("/d/c", "").Ok();
        Dom0.Directory("/d").Is("b\0a\0c\0");
        Dom0.Rm("/d/b").Ok();
        Dom0.Write("/d/b", "").Ok();
        Dom0.Directory("/d").Is("a\0c\0b\0");
    }

    [Fact]
    public void Directory_OfLeaf_IsEmptyPayload()
    {
        Dom0.Write("/leaf", "v").Ok();
        Dom0.Directory("/leaf").Is("");
    }

    [Fact]
    public void Directory_Missing_Enoent()
    {
        Dom0.Directory("/missing").Fails("ENOENT");
    }

    [Fact]
    public void Directory_LargerThan4096_E2big()
    {
        for (int i = 0; i < 300; i++)
        {
            Dom0.Mkdir($"/big/child-number-{i:D4}").Ok();
        }
        Dom0.Directory("/big").Fails("E2BIG");
        _h.AssertConsistent();
    }

    /// <summary>
    /// The listing's size is kept with the children, so the edge is exact: 4096 bytes of names and NULs list, one more
    /// byte is E2BIG, a removal brings it back under; in every layout (a short list, a sorted one, a chunked one)
    /// and in a transaction's copy of the list.
    /// </summary>
    [Theory]
    [InlineData(16)]
    [InlineData(128)]
    [InlineData(512)]
    public void Directory_AtExactly4096Bytes_Lists_OneMoreByteIsE2big(int children)
    {
        // Names sized so that the listing is exactly 4096 bytes: each name plus its NUL.
        int each = 4096 / children;
        int extra = 4096 - each * children;
        var expected = new StringBuilder();
        for (int i = 0; i < children; i++)
        {
            string number = i.ToString("D4", System.Globalization.CultureInfo.InvariantCulture);
            string name = number.PadRight(each - 1 + (i == 0 ? extra : 0), 'x');
            Dom0.Mkdir("/edge/" + name).Ok();
            expected.Append(name).Append('\0');
        }
        Assert.Equal(4096, expected.Length);
        Dom0.Directory("/edge").Is(expected.ToString());
        uint tx = Dom0.Start();
        Dom0.Mkdir("/edge/y", tx).Ok();
        Dom0.Directory("/edge", tx).Fails("E2BIG");
        Dom0.Directory("/edge").Is(expected.ToString());
        Dom0.Commit(tx).Ok();
        Dom0.Directory("/edge").Fails("E2BIG");
        Dom0.Rm("/edge/y").Ok();
        Dom0.Directory("/edge").Is(expected.ToString());
        _h.AssertConsistent();
    }

    [Fact]
    public void DirectoryPart_SmallList_IsOneChunkWithFinalNul()
    {
        Reply r = Dom0.DirectoryPart("/tool", 0).Success();
        string[] parts = r.Text.Split('\0');
        Assert.True(long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Equal(parts[0] + "\0xenstored\0\0", r.Text);
    }

    [Fact]
    public void DirectoryPart_OffsetBeyondEnd_IsGenerationThenEmptyString()
    {
        string gen = Gen("/tool");
        Dom0.DirectoryPart("/tool", 10).Is(gen + "\0\0");
        Dom0.DirectoryPart("/tool", 100000).Is(gen + "\0\0");
    }

    [Fact]
    public void DirectoryPart_OffsetInsideName_IsNotValidated()
    {
        string gen = Gen("/tool");
        Dom0.DirectoryPart("/tool", 3).Is(gen + "\0stored\0\0");
    }

    [Fact]
    public void DirectoryPart_ChunksReassembleToTheFullList()
    {
        var expected = new StringBuilder();
        for (int i = 0; i < 600; i++)
        {
            string name = $"entry-{i:D5}-abcdef";
            Dom0.Mkdir("/big/" + name).Ok();
            expected.Append(name).Append('\0');
        }
        Dom0.Directory("/big").Fails("E2BIG");
        string gen = Gen("/big");
        var all = new StringBuilder();
        int chunks = 0;
        while (true)
        {
            Reply r = Dom0.DirectoryPart("/big", all.Length).Success();
            Assert.True(r.Payload.Length <= XsConstants.PayloadMax);
            Assert.StartsWith(gen + "\0", r.Text, StringComparison.Ordinal);
            string body = r.Text[(gen.Length + 1)..];
            chunks++;
            if (body.EndsWith("\0\0", StringComparison.Ordinal) || body == "\0")
            {
                all.Append(body[..^1]);
                break;
            }
            all.Append(body);
            Assert.True(chunks < 10);
        }
        Assert.True(chunks >= 3);
        Assert.Equal(expected.ToString(), all.ToString());
    }

    [Fact]
    public void DirectoryPart_GenerationChangesWhenChildrenChange()
    {
        Dom0.Mkdir("/g/a").Ok();
        string first = Gen("/g");
        Assert.Equal(first, Gen("/g"));
        Dom0.Mkdir("/g/b").Ok();
        string second = Gen("/g");
        Assert.NotEqual(first, second);
        Dom0.Rm("/g/a").Ok();
        Assert.NotEqual(second, Gen("/g"));
    }

    [Fact]
    public void DirectoryPart_BadArguments_Einval()
    {
        Dom0.Request(XsMessageType.DirectoryPart, "/tool").Fails("EINVAL");
        Dom0.Request(XsMessageType.DirectoryPart, "/tool", "x").Fails("EINVAL");
        Dom0.Request(XsMessageType.DirectoryPart, "/tool", "-1").Fails("EINVAL");
        Dom0.Request(XsMessageType.DirectoryPart, "/tool", "0", "0").Fails("EINVAL");
        Dom0.Request(XsMessageType.DirectoryPart, "/missing", "0").Fails("ENOENT");
    }

    [Fact]
    public void Perms_DefaultCopyParent_SetAndGet()
    {
        Dom0.Write("/p", "").Ok();
        Dom0.GetPerms("/p").Is("n0\0");
        Dom0.SetPerms("/p", "r0", "w5", "b7").Ok();
        Dom0.GetPerms("/p").Is("r0\0w5\0b7\0");
        Dom0.Write("/p/child", "").Ok();
        Dom0.GetPerms("/p/child").Is("r0\0w5\0b7\0");
        _h.AssertConsistent();
    }

    [Fact]
    public void SetPerms_DuplicatesAndLargeDomidsAreStoredVerbatim()
    {
        Dom0.Write("/p", "").Ok();
        Dom0.SetPerms("/p", "n0", "r5", "r5", "r70000", "r32757").Ok();
        Dom0.GetPerms("/p").Is("n0\0r5\0r5\0r70000\0r32757\0");
    }

    [Theory]
    [InlineData("n32752")]
    [InlineData("n65535")]
    [InlineData("r70000")]
    public void SetPerms_OwnerThatCannotExist_EnoentAndUnchanged(string owner)
    {
        Dom0.Write("/p", "").Ok();
        Dom0.SetPerms("/p", "n5", "r1").Ok();
        Dom0.SetPerms("/p", owner, "r1").Fails("ENOENT");
        Dom0.GetPerms("/p").Is("n5\0r1\0");
        Dom0.SetPerms("@introduceDomain", owner).Fails("ENOENT");
        Dom0.GetPerms("@introduceDomain").Is("n0\0");
    }

    [Fact]
    public void SetPerms_DomidAnyOwner_StoredForADomainWithTheFeature_AndEveryDomainOwnsTheNode()
    {
        // C 4.22: DOMID_ANY is a valid owner for a caller whose domain has the DOMID_ANY feature (ours by default,
        // dom0 included), and an owner of DOMID_ANY gives every domain all access (perm_allows_conn).
        Dom0.Write("/p", "v").Ok();
        Dom0.SetPerms("/p", "n32757").Ok();
        Dom0.GetPerms("/p").Is("n32757\0");
        TestConnection guest = _h.Guest(5);
        guest.Write("/p", "w").Ok();
        guest.SetPerms("/p", "n32757", "r7").Ok();
        guest.SetPerms("/p", "n5").Fails("EPERM");
        Dom0.GetPerms("/p").Is("n32757\0r7\0");
    }

    [Fact]
    public void SetPerms_DomidAnyOwner_EnoentForADomainWithoutTheFeature()
    {
        Dom0.Request(XsMessageType.SetFeature, "5", "4").Ok();
        TestConnection guest = _h.GuestWithHome(5);
        guest.Write("data", "v").Ok();
        guest.SetPerms("data", "n32757").Fails("ENOENT");
        guest.SetPerms("data", "n5", "r32757").Ok();
        TestConnection other = _h.GuestWithHome(6);
        other.SetPerms("/local/domain/5/data", "n32757").Fails("EACCES");
        other.SetPerms("/local/domain/6/x", "n32757").Fails("ENOENT");
    }

    [Fact]
    public void SetPerms_IgnoresBytesAfterTheLastNul()
    {
        Dom0.Write("/p", "").Ok();
        Dom0.Raw(XsMessageType.SetPerms, "/p\0n0\0r1"u8.ToArray()).Ok();
        Dom0.GetPerms("/p").Is("n0\0");
        Dom0.Raw(XsMessageType.SetPerms, "/p\0n0\0r1\0junk"u8.ToArray()).Ok();
        Dom0.GetPerms("/p").Is("n0\0r1\0");
    }

    [Theory]
    [InlineData("x5")]
    [InlineData("r")]
    [InlineData("rabc")]
    [InlineData("r-1")]
    [InlineData("")]
    public void SetPerms_BadEntry_Einval(string entry)
    {
        Dom0.Write("/p", "").Ok();
        Dom0.SetPerms("/p", "n0", entry).Fails("EINVAL");
        Dom0.GetPerms("/p").Is("n0\0");
    }

    [Fact]
    public void SetPerms_ZeroPerms_Einval()
    {
        Dom0.Write("/p", "").Ok();
        Dom0.SetPerms("/p").Fails("EINVAL");
        Dom0.Raw(XsMessageType.SetPerms, "/p"u8.ToArray()).Fails("EINVAL");
        Dom0.Raw(XsMessageType.SetPerms, "/p\0n0"u8.ToArray()).Fails("EINVAL");
    }

    [Fact]
    public void SetPerms_Missing_Enoent()
    {
        Dom0.SetPerms("/missing", "n0").Fails("ENOENT");
        Dom0.GetPerms("/missing").Fails("ENOENT");
    }

    [Fact]
    public void SpecialPaths_HavePermissions()
    {
        Dom0.GetPerms("@releaseDomain").Is("n0\0");
        Dom0.GetPerms("@introduceDomain").Is("n0\0");
        Dom0.SetPerms("@releaseDomain", "n0", "r7").Ok();
        Dom0.GetPerms("@releaseDomain").Is("n0\0r7\0");
        // Only the special nodes themselves exist (C 4.22), not other @ names or the per-domain watch forms.
        Dom0.GetPerms("@foo").Fails("ENOENT");
        Dom0.GetPerms("@releaseDomain/5").Fails("ENOENT");
        Dom0.SetPerms("@foo", "n0").Fails("ENOENT");
    }

    [Theory]
    [InlineData(15u)]
    [InlineData(16u)]
    [InlineData(20u)]
    [InlineData(27u)]
    [InlineData(999u)]
    [InlineData(65535u)]
    public void UnknownTypes_Enosys(uint type)
    {
        Dom0.Raw((XsMessageType)type, "/a\0"u8.ToArray()).Fails("ENOSYS");
    }

    [Theory]
    [InlineData("5", "/local/domain/5")]
    [InlineData("65535", "/local/domain/65535")]
    [InlineData(" +7", "/local/domain/7")]
    [InlineData("-0", "/local/domain/0")]
    [InlineData("", "/local/domain/0")]
    public void GetDomainPath_FormatsAnyValidDomid(string arg, string expected)
    {
        Dom0.Request(XsMessageType.GetDomainPath, arg).Is(expected + "\0");
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("7x")]
    [InlineData("70000")]
    [InlineData("-1")]
    [InlineData(" ")]
    [InlineData("+")]
    public void GetDomainPath_ParsesTheDomidStrictly(string arg)
    {
        Dom0.Request(XsMessageType.GetDomainPath, arg).Fails("EINVAL");
    }

    [Fact]
    public void GetDomainPath_WithoutNul_Einval()
    {
        Dom0.Raw(XsMessageType.GetDomainPath, "5"u8.ToArray()).Fails("EINVAL");
    }

    [Fact]
    public void Read_LargeValue_IsReturnedWhole()
    {
        string value = new('v', 4000);
        Dom0.Write("/big", value).Ok();
        Dom0.Read("/big").Is(value);
    }

    [Fact]
    public void GetPerms_ReplyOver4096_E2big()
    {
        Dom0.Write("/p", "").Ok();
        string[] perms = ["n0", .. Enumerable.Range(0, 600).Select(i => "r" + (1000000 + i).ToString(System.Globalization.CultureInfo.InvariantCulture))];
        // The engine does not limit request sizes (the framing does), which lets us build an oversized reply.
        Assert.True(perms.Sum(p => p.Length + 1) > 4096);
        Dom0.SetPerms("/p", perms).Ok();
        Dom0.GetPerms("/p").Fails("E2BIG");
    }

    private string Gen(string path)
    {
        Reply r = Dom0.DirectoryPart(path, 0).Success();
        return r.Text[..r.Text.IndexOf('\0', StringComparison.Ordinal)];
    }
}
