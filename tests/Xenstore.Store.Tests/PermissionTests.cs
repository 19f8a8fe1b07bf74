using Xenstore.Protocol;
using Xenstore.TestKit.Engine;

namespace Xenstore.Store.Tests;

/// <summary>Access rules for unprivileged domains (reference §3).</summary>
public sealed class PermissionTests
{
    private readonly EngineHarness _h = new();
    private readonly TestConnection _dom5;
    private readonly TestConnection _dom6;

    public PermissionTests()
    {
        _dom5 = _h.GuestWithHome(5);
        _dom6 = _h.GuestWithHome(6);
    }

    private TestConnection Dom0 => _h.Dom0;

    [Fact]
    public void Guest_WritesRelativeUnderItsHome_AndOwnsWhatItCreates()
    {
        _dom5.Write("data/x", "1").Ok();
        Dom0.Read("/local/domain/5/data/x").Is("1");
        Dom0.GetPerms("/local/domain/5/data").Is("n5\0");
        Dom0.GetPerms("/local/domain/5/data/x").Is("n5\0");
        _dom5.Read("data/x").Is("1");
        _h.AssertConsistent();
    }

    [Fact]
    public void Creator_BecomesOwner_AclCopiedFromParent()
    {
        Dom0.Mkdir("/shared").Ok();
        Dom0.SetPerms("/shared", "n0", "w5").Ok();
        _dom5.Write("/shared/k", "v").Ok();
        Dom0.GetPerms("/shared/k").Is("n5\0w5\0");
        _dom5.Read("/shared/k").Is("v");
        _dom5.Write("/shared/a/b", "v").Ok();
        Dom0.GetPerms("/shared/a").Is("n5\0w5\0");
        Dom0.GetPerms("/shared/a/b").Is("n5\0w5\0");
        _h.AssertConsistent();
    }

    [Fact]
    public void PrivilegedCreator_CopiesParentPermsExactly()
    {
        Dom0.Mkdir("/shared").Ok();
        Dom0.SetPerms("/shared", "n5", "r6").Ok();
        Dom0.Write("/shared/k", "v").Ok();
        Dom0.GetPerms("/shared/k").Is("n5\0r6\0");
    }

    [Fact]
    public void Owner_HasFullAccess_OthersGetDefaultLetter()
    {
        _dom5.Write("data/x", "1").Ok();
        _dom6.Read("/local/domain/5/data/x").Fails("EACCES");
        _dom5.SetPerms("data/x", "r5").Ok();
        _dom6.Read("/local/domain/5/data/x").Is("1");
        _dom6.Write("/local/domain/5/data/x", "2").Fails("EACCES");
        _dom5.SetPerms("data/x", "b5").Ok();
        _dom6.Write("/local/domain/5/data/x", "2").Ok();
        _dom5.Read("data/x").Is("2");
        // Owner always has everything, whatever its own letter says.
        _dom5.SetPerms("data/x", "n5").Ok();
        _dom5.Write("data/x", "3").Ok();
    }

    [Fact]
    public void Acl_FirstMatchingEntryWins_OverDefault()
    {
        Dom0.Write("/acl", "v").Ok();
        Dom0.SetPerms("/acl", "r0", "n5").Ok();
        _dom5.Read("/acl").Fails("EACCES");
        _dom6.Read("/acl").Is("v");
        Dom0.SetPerms("/acl", "n0", "r5", "w5").Ok();
        _dom5.Read("/acl").Is("v");
        _dom5.Write("/acl", "x").Fails("EACCES");
        Dom0.SetPerms("/acl", "n0", "w5").Ok();
        _dom5.Write("/acl", "x").Ok();
        _dom5.Read("/acl").Fails("EACCES");
    }

    [Fact]
    public void Read_NeedsPermissionOnTheNodeOnly_NotOnParents()
    {
        Dom0.Write("/local/domain/6/data/secret", "s").Ok();
        Dom0.SetPerms("/local/domain/6/data", "n6").Ok();
        Dom0.SetPerms("/local/domain/6/data/secret", "n6", "r5").Ok();
        _dom5.Read("/local/domain/6/data/secret").Is("s");
        _dom5.Read("/local/domain/6/data").Fails("EACCES");
    }

    [Fact]
    public void ExistenceHiding_FollowsCTable()
    {
        Dom0.Write("/local/domain/6/data", "d").Ok();
        Dom0.SetPerms("/local/domain/6/data", "n6").Ok();
        // node exists, no permission
        _dom5.Read("/local/domain/6/data").Fails("EACCES");
        // node missing, nearest existing ancestor grants the requested right
        _dom5.Read("/local/domain/5/nonexist").Fails("ENOENT");
        _dom5.Read("/local/domain/5/a/b/c").Fails("ENOENT");
        // node missing, nearest existing ancestor does not grant it
        _dom5.Read("/local/domain/6/nonexist").Fails("EACCES");
        _dom5.Read("/nonexist").Fails("EACCES");
        _dom5.Directory("/local/domain/6/nonexist").Fails("EACCES");
        _dom5.GetPerms("/local/domain/6/nonexist").Fails("EACCES");
        _dom5.Directory("/local/domain/5/nonexist").Fails("ENOENT");
        // dom0 always sees the truth
        Dom0.Read("/local/domain/6/nonexist").Fails("ENOENT");
    }

    [Fact]
    public void ExistenceHiding_DirectoryPart()
    {
        Dom0.Write("/local/domain/6/data", "d").Ok();
        Dom0.SetPerms("/local/domain/6/data", "n6").Ok();
        _dom5.Request(XsMessageType.DirectoryPart, "/local/domain/6/data", "0").Fails("EACCES");
        _dom5.Request(XsMessageType.DirectoryPart, "/local/domain/6/none", "0").Fails("EACCES");
        _dom5.Request(XsMessageType.DirectoryPart, "/local/domain/5/none", "0").Fails("ENOENT");
    }

    [Fact]
    public void ExistenceHiding_UsesTheRequestedRight()
    {
        Dom0.Mkdir("/pub").Ok();
        Dom0.SetPerms("/pub", "r0").Ok();
        _dom5.Read("/pub/missing").Fails("ENOENT");
        _dom5.Write("/pub/missing", "x").Fails("EACCES");
        _dom5.Mkdir("/pub/missing").Fails("EACCES");
        // RM of a missing node whose parent is not writable
        _dom5.Rm("/pub/missing").Fails("EACCES");
        // RM of a missing node whose parent is missing: ENOENT only when the ancestor is writable
        _dom5.Rm("/pub/missing/deeper").Fails("EACCES");
        _dom5.Rm("/local/domain/5/missing/deeper").Fails("ENOENT");
        _dom5.Rm("/local/domain/5/missing").Ok();
        Dom0.Rm("/missing/child").Fails("ENOENT");
    }

    [Fact]
    public void Write_NeedsWriteOnNodeOrOnNearestAncestorWhenCreating()
    {
        Dom0.Write("/ro", "v").Ok();
        Dom0.SetPerms("/ro", "r0").Ok();
        _dom5.Write("/ro", "x").Fails("EACCES");
        _dom5.Write("/ro/new", "x").Fails("EACCES");
        _dom5.Write("/ro/new/deeper", "x").Fails("EACCES");
        Dom0.SetPerms("/ro", "w0").Ok();
        _dom5.Write("/ro/new/deeper", "x").Ok();
        _dom5.Mkdir("/ro").Ok();
        _h.AssertConsistent();
    }

    [Fact]
    public void Rm_NeedsWriteOnTheNode()
    {
        _dom5.Write("data/x", "1").Ok();
        _dom5.SetPerms("data/x", "r5").Ok();
        _dom6.Rm("/local/domain/5/data/x").Fails("EACCES");
        _dom5.SetPerms("data/x", "w5").Ok();
        _dom6.Rm("/local/domain/5/data/x").Ok();
        _dom5.Read("data/x").Fails("ENOENT");
        _h.AssertConsistent();
    }

    [Fact]
    public void SetPerms_OnlyOwnerOrPrivileged()
    {
        _dom5.Write("data/x", "1").Ok();
        _dom5.SetPerms("data/x", "n5", "b6").Ok();
        _dom6.SetPerms("/local/domain/5/data/x", "n5", "b6", "r7").Fails("EACCES");
        _dom6.Write("/local/domain/5/data/x", "2").Ok();
        _dom5.SetPerms("data/x", "n5").Ok();
        Dom0.GetPerms("/local/domain/5/data/x").Is("n5\0");
    }

    [Fact]
    public void SetPerms_UnprivilegedOwnerChange_Eperm()
    {
        _dom5.Write("data/x", "1").Ok();
        _dom5.SetPerms("data/x", "n6").Fails("EPERM");
        _dom5.SetPerms("data/x", "n0").Fails("EPERM");
        Dom0.GetPerms("/local/domain/5/data/x").Is("n5\0");
        Dom0.SetPerms("/local/domain/5/data/x", "n6").Ok();
        Dom0.GetPerms("/local/domain/5/data/x").Is("n6\0");
        _h.AssertConsistent();
    }

    [Fact]
    public void SetPerms_SpecialPaths_GuestGetsEacces()
    {
        _dom5.SetPerms("@releaseDomain", "n0", "r5").Fails("EACCES");
        _dom5.GetPerms("@releaseDomain").Fails("EACCES");
        Dom0.SetPerms("@releaseDomain", "n0", "r5").Ok();
        _dom5.GetPerms("@releaseDomain").Is("n0\0r5\0");
    }

    [Fact]
    public void SetTarget_ActsWithTargetsPermissions_ButStaysUnprivileged()
    {
        _dom5.Write("data/x", "1").Ok();
        _dom6.Read("/local/domain/5/data/x").Fails("EACCES");
        Dom0.Request(XsMessageType.SetTarget, "6", "5").Ok();
        _dom6.Read("/local/domain/5/data/x").Is("1");
        _dom6.Write("/local/domain/5/data/x", "2").Ok();
        _dom6.Write("/local/domain/5/data/new", "3").Ok();
        Dom0.GetPerms("/local/domain/5/data/new").Is("n6\0");
        _dom6.SetPerms("/local/domain/5/data/x", "n5", "r7").Ok();
        _dom6.SetPerms("/local/domain/5/data/x", "n6").Fails("EPERM");
        _dom6.Request(XsMessageType.IsDomainIntroduced, "5").Fails("EACCES");
        // Relative paths still resolve to its own home.
        _dom6.Write("mine", "m").Ok();
        Dom0.Read("/local/domain/6/mine").Is("m");
        // ACL entries naming the target count too.
        Dom0.Write("/t", "v").Ok();
        Dom0.SetPerms("/t", "n0", "r5").Ok();
        _dom6.Read("/t").Is("v");
        _h.AssertConsistent();
    }

    [Theory]
    [InlineData(XsMessageType.Introduce, new[] { "7", "1", "1" })]
    [InlineData(XsMessageType.Release, new[] { "6" })]
    [InlineData(XsMessageType.Resume, new[] { "6" })]
    [InlineData(XsMessageType.SetTarget, new[] { "5", "6" })]
    [InlineData(XsMessageType.IsDomainIntroduced, new[] { "6" })]
    [InlineData(XsMessageType.SetFeature, new[] { "9", "1" })]
    [InlineData(XsMessageType.GetFeature, new[] { "5" })]
    [InlineData(XsMessageType.GetQuota, new[] { "nodes" })]
    [InlineData(XsMessageType.SetQuota, new[] { "nodes", "5" })]
    [InlineData(XsMessageType.Control, new[] { "check" })]
    public void PrivilegedOnlyOperations_GuestGetsEacces(XsMessageType type, string[] args)
    {
        _dom5.Request(type, args).Fails("EACCES");
    }

    [Fact]
    public void UnrestrictedDomainOperations_WorkForGuests()
    {
        _dom5.Request(XsMessageType.GetDomainPath, "9").Is("/local/domain/9\0");
        _dom5.Raw(XsMessageType.GetFeature, []).Success();
    }

    [Fact]
    public void PrivilegedDomid_IsPrivileged()
    {
        var h = new EngineHarness(new EngineOptions { PrivilegedDomid = 3 });
        TestConnection dom3 = h.Connect(3);
        dom3.Read("/nonexist").Fails("ENOENT");
        dom3.Request(XsMessageType.Control, "check").Is("OK\0");
    }

    [Fact]
    public void UnknownSpecialName_IsHiddenLikeAMissingNode()
    {
        // "@other"'s parent is the root, which a guest may not read: EACCES, as C 4.22; dom0 learns it is missing.
        _dom5.GetPerms("@other").Fails("EACCES");
        _dom5.SetPerms("@other", "n5").Fails("EACCES");
        Dom0.GetPerms("@other").Fails("ENOENT");
        // "@releaseDomain/5"'s parent is @releaseDomain: missing for a guest that may read it, hidden otherwise.
        _dom5.GetPerms("@releaseDomain/5").Fails("EACCES");
        Dom0.SetPerms("@releaseDomain", "n0", "r5").Ok();
        _dom5.GetPerms("@releaseDomain/5").Fails("ENOENT");
        _dom5.SetPerms("@releaseDomain/5", "n5").Fails("ENOENT");
    }
}
