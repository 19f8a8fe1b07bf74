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
        }, Golden);
    }
}
