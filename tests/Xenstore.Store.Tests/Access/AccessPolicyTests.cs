using System.Text;
using Xenstore.Protocol;
using Xenstore.Store.Access;

namespace Xenstore.Store.Tests.Access;

/// <summary>One row per rule of C's perm_for_conn and the rules built on it.</summary>
public sealed class AccessPolicyTests
{
    private const uint Any = XsConstants.DomidAny;

    /// <summary>Permissions written as on the wire, e.g. "n0 r5".</summary>
    private static XsPermission[] Perms(string text) =>
        XsPermission.TryParseList(Encoding.ASCII.GetBytes(string.Concat(text.Split(' ').Select(p => p + "\0"))))!;

    private static Caller Guest(uint domid, uint? target = null) => new(domid, false, target);

    public static TheoryData<string, uint, uint?, string, XsAccess> AccessRows => new()
    {
        { "privileged callers have all access", 0, null, "n7", XsAccess.Both },
        { "the owner has all access", 5, null, "n5", XsAccess.Both },
        { "the owner's target holder has all access", 6, 5u, "n5", XsAccess.Both },
        { "an entry for the domain gives its letter", 5, null, "n0 r5", XsAccess.Read },
        { "the first entry for the domain wins", 5, null, "n0 w5 r5", XsAccess.Write },
        { "an entry for the target gives its letter", 6, 5u, "n0 b5", XsAccess.Both },
        { "DOMID_ANY applies when no entry names the domain", 5, null, $"n0 r{Any}", XsAccess.Read },
        { "an earlier DOMID_ANY beats an entry for the domain (C 4.22)", 5, null, $"n0 r{Any} w5", XsAccess.Read },
        { "an earlier entry for the domain beats DOMID_ANY", 5, null, $"n0 n5 b{Any}", XsAccess.None },
        { "an owner of DOMID_ANY gives every domain all access", 5, null, $"n{Any} r7", XsAccess.Both },
        { "otherwise the owner entry's letter", 5, null, "r0 w3", XsAccess.Read },
        { "an owner entry of n gives nothing", 5, null, "n0", XsAccess.None },
    };

    [Theory]
    [MemberData(nameof(AccessRows))]
    public void AccessFor_FollowsPermForConn(string rule, uint domid, uint? target, string perms, XsAccess expected)
    {
        var caller = new Caller(domid, domid == 0, target);
        Assert.True(expected == AccessPolicy.AccessFor(caller, Perms(perms)), rule);
    }

    [Theory]
    [InlineData("r0", XsAccess.Read, "ENOENT")]
    [InlineData("w0", XsAccess.Read, "EACCES")]
    [InlineData("n0 w5", XsAccess.Write, "ENOENT")]
    [InlineData("n0", XsAccess.Write, "EACCES")]
    public void HideExistence_ReportsTheErrorOnlyWithTheRightOnTheNearestAncestor(string ancestor, XsAccess needed, string expected)
    {
        XsError error = AccessPolicy.HideExistence(Guest(5), Perms(ancestor), needed, XsError.ENOENT);
        Assert.Equal(expected, error.ToString());
    }

    [Fact]
    public void Inherited_PrivilegedCreatorKeepsTheParentPermissions()
    {
        XsPermission[] parent = Perms("n3 r5");
        Assert.Same(parent, AccessPolicy.Inherited(parent, creator: 0, creatorPrivileged: true));
    }

    [Fact]
    public void Inherited_CreatorThatOwnsTheParentKeepsThem()
    {
        XsPermission[] parent = Perms("n5 r7");
        Assert.Same(parent, AccessPolicy.Inherited(parent, creator: 5, creatorPrivileged: false));
    }

    [Fact]
    public void Inherited_UnprivilegedCreatorBecomesTheOwner_WithTheRestCopied()
    {
        XsPermission[] parent = Perms("r0 w5");
        Assert.Equal(Perms("r5 w5"), AccessPolicy.Inherited(parent, creator: 5, creatorPrivileged: false));
        Assert.Equal(Perms("r0 w5"), parent);
    }

    [Theory]
    [InlineData(0u, true, 5u, 9u, "None")]
    [InlineData(5u, false, 5u, 5u, "None")]
    [InlineData(6u, false, 5u, 5u, "EACCES")]
    [InlineData(5u, false, 5u, 6u, "EPERM")]
    [InlineData(5u, false, XsConstants.DomidAny, XsConstants.DomidAny, "None")]
    [InlineData(5u, false, XsConstants.DomidAny, 5u, "EPERM")]
    [InlineData(5u, false, 5u, XsConstants.DomidAny, "EPERM")]
    public void MaySetPerms_OwnerOnly_AndOnlyThePrivilegedChangeTheOwner(uint domid, bool privileged, uint owner, uint newOwner, string expected)
    {
        XsError error = AccessPolicy.MaySetPerms(new Caller(domid, privileged, null), owner, newOwner);
        Assert.Equal(expected, error.ToString());
    }

    [Fact]
    public void MaySetPerms_TheTargetHolderActsAsTheOwner()
    {
        Assert.Equal(XsError.None, AccessPolicy.MaySetPerms(Guest(6, target: 5), 5, 5));
    }

    [Theory]
    [InlineData("n0 r5", null, null, true)]
    [InlineData("n0", "n0 r5", null, true)]
    [InlineData("n0", null, "n0 r5", true)]
    [InlineData("n0", "n0", "n0 w5", false)]
    public void MayReceive_NeedsReadOnTheNodeItsOldPermissionsOrItsParent(string perms, string? oldPerms, string? parentPerms, bool expected)
    {
        bool receives = AccessPolicy.MayReceive(Guest(5), Perms(perms),
            oldPerms is null ? null : Perms(oldPerms), parentPerms is null ? null : Perms(parentPerms));
        Assert.Equal(expected, receives);
    }

    [Fact]
    public void MayReceive_PrivilegedWatchersHearEverything()
    {
        Assert.True(AccessPolicy.MayReceive(new Caller(0, true, null), Perms("n5"), null, Perms("n5")));
    }
}
