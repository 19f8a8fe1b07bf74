using Xenstore.Protocol;

namespace Xenstore.HostSim.Toolstack;

/// <summary>libxl's permission sets (first entry: owner and everyone else's access; then per-domain access).</summary>
internal static class Perms
{
    /// <summary><c>ro</c>: owned by dom0, readable by the domain.</summary>
    public static XsPermission[] ReadOnly(int domid) => [new(XsAccess.None, 0), new(XsAccess.Read, (uint)domid)];

    /// <summary><c>rw</c>: owned by the domain.</summary>
    public static XsPermission[] ReadWrite(int domid) => [new(XsAccess.None, (uint)domid)];

    /// <summary><c>no</c>: dom0 only.</summary>
    public static XsPermission[] Dom0Only => [new(XsAccess.None, 0)];

    /// <summary>Owned by <paramref name="owner"/>, readable by <paramref name="reader"/> (device directories).</summary>
    public static XsPermission[] OwnedReadableBy(int owner, int reader) =>
        [new(XsAccess.None, (uint)owner), new(XsAccess.Read, (uint)reader)];
}
