using Xenstore.Protocol;
using static Xenstore.Protocol.XsMessageType;

namespace Xenstore.Conformance.Tests;

public static partial class ScenarioTable
{
    private static IEnumerable<Scenario> Permissions()
    {
        yield return new("GET_PERMS and SET_PERMS", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(Write, "$B/p\0v");
            await a.Req(GetPerms, "$B/p\0");
            await a.Req(SetPerms, "$B/p\0n0\0r5\0w7\0b9\0");
            await a.Req(GetPerms, "$B/p\0");
            await a.Req(Write, "$B/p/child\0c");
            await a.Req(GetPerms, "$B/p/child\0");
            await a.Req(SetPerms, "$B/p\0r1\0r1\0b70000\0");
            await a.Req(GetPerms, "$B/p\0");
            await a.Req(SetPerms, "$B/missing\0n0\0");
            await a.Req(GetPerms, "$B/missing\0");
            await a.Req(SetPerms, "/\0n0\0");
        }, Golden);

        yield return new("SET_PERMS rejects bad permissions", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(Write, "$B/p\0v");
            await a.Req(SetPerms, "$B/p\0");
            await a.Req(SetPerms, "$B/p\0x5\0");
            await a.Req(SetPerms, "$B/p\0r\0");
            await a.Req(SetPerms, "$B/p\0rabc\0");
            await a.Req(SetPerms, "$B/p\0\0");
            await a.Req(SetPerms, "$B/p\0n0");
            await a.Req(SetPerms, "@foo\0n0\0");
            await a.Req(GetPerms, "$B/p\0");
        }, Golden)
        {
            C422 = Golden,
            Change422 = "4.22 keeps the special @ nodes as real nodes: SET_PERMS of an unknown @ name is ENOENT, not EINVAL",
        };

        yield return new("SET_PERMS ignores bytes after the last NUL", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(Write, "$B/p\0v");
            await a.Req(SetPerms, "$B/p\0n0\0r1");
            await a.Req(GetPerms, "$B/p\0");
            await a.Req(SetPerms, "$B/p\0n0\0r1\0w2");
            await a.Req(GetPerms, "$B/p\0");
            await a.Req(SetPerms, "$B/p\0n0\0r1\0xx");
            await a.Req(GetPerms, "$B/p\0");
            await a.Req(SetPerms, "$B/p\0n0");
        }, """
        A> Write "$B/p\0v"
        A< OK
        A> SetPerms "$B/p\0n0\0r1"
        A< OK
        A> GetPerms "$B/p\0"
        A< "n0\0"
        A> SetPerms "$B/p\0n0\0r1\0w2"
        A< OK
        A> GetPerms "$B/p\0"
        A< "n0\0r1\0"
        A> SetPerms "$B/p\0n0\0r1\0xx"
        A< OK
        A> GetPerms "$B/p\0"
        A< "n0\0r1\0"
        A> SetPerms "$B/p\0n0"
        A< ERROR EINVAL

        """);

        // DOMID_ANY (32757) is left out on purpose: C 4.22 dereferences the socket connection's missing domain on
        // any SET_PERMS entry naming it and crashes.
        yield return new("SET_PERMS owner must be a domain that can exist", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(Write, "$B/p\0v");
            await a.Req(SetPerms, "$B/p\0n5\0r1\0");
            await a.Req(SetPerms, "$B/p\0n32752\0");
            await a.Req(SetPerms, "$B/p\0n65535\0");
            await a.Req(SetPerms, "$B/p\0n70000\0r1\0");
            await a.Req(GetPerms, "$B/p\0");
            await a.Req(SetPerms, "$B/p\0n0\0r70000\0b65535\0");
            await a.Req(GetPerms, "$B/p\0");
        }, """
        A> Write "$B/p\0v"
        A< OK
        A> SetPerms "$B/p\0n5\0r1\0"
        A< OK
        A> SetPerms "$B/p\0n32752\0"
        A< OK
        A> SetPerms "$B/p\0n65535\0"
        A< OK
        A> SetPerms "$B/p\0n70000\0r1\0"
        A< OK
        A> GetPerms "$B/p\0"
        A< "n70000\0r1\0"
        A> SetPerms "$B/p\0n0\0r70000\0b65535\0"
        A< OK
        A> GetPerms "$B/p\0"
        A< "n0\0r70000\0b65535\0"

        """)
        {
            C422 = """
            A> Write "$B/p\0v"
            A< OK
            A> SetPerms "$B/p\0n5\0r1\0"
            A< OK
            A> SetPerms "$B/p\0n32752\0"
            A< ERROR ENOENT
            A> SetPerms "$B/p\0n65535\0"
            A< ERROR ENOENT
            A> SetPerms "$B/p\0n70000\0r1\0"
            A< ERROR ENOENT
            A> GetPerms "$B/p\0"
            A< "n5\0r1\0"
            A> SetPerms "$B/p\0n0\0r70000\0b65535\0"
            A< OK
            A> GetPerms "$B/p\0"
            A< "n0\0r70000\0b65535\0"

            """,
            Change422 = "4.22 asks the hypervisor whether the owner exists (ENOENT, perms unchanged); entries for other missing domains are kept but ignored",
        };

        yield return new("GET_PERMS and SET_PERMS of the special @ nodes", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(GetPerms, "@introduceDomain\0");
            await a.Req(GetPerms, "@releaseDomain\0");
            await a.Req(GetPerms, "@releaseDomain/5\0");
            await a.Req(GetPerms, "@other\0");
            await a.Req(SetPerms, "@introduceDomain\0n0\0r5\0");
            await a.Req(GetPerms, "@introduceDomain\0");
            await a.Req(SetPerms, "@introduceDomain\0n70000\0");
            await a.Req(SetPerms, "@introduceDomain\0n0\0");
            await a.Req(SetPerms, "@other\0n0\0");
        }, Golden)
        {
            C422 = Golden,
            Change422 = "4.22 keeps the special nodes as real nodes: GET_PERMS works, an unknown @ name is ENOENT, and @releaseDomain is readable by every domain (r32757 = DOMID_ANY)",
            Ours = Golden,
            Reason = "ours keeps @releaseDomain private to dom0 by default (as 4.17): a guest learns of other domains' deaths only when the toolstack grants it read access",
        };
    }
}
