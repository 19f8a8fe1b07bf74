using Xenstore.Protocol;
using static Xenstore.Protocol.XsMessageType;

namespace Xenstore.Conformance.Tests;

public static partial class ScenarioTable
{
    private static IEnumerable<Scenario> NewerProtocol()
    {
        yield return new("GET_FEATURE and SET_FEATURE", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(GetFeature, "");
            await a.Req(SetFeature, "0\01\0");
        }, """
        A> GetFeature ""
        A< ERROR ENOSYS
        A> SetFeature "0\01\0"
        A< ERROR ENOSYS

        """)
        {
            C422 = Golden,
            Change422 = "GET/SET_FEATURE exist from 4.21 on (dom0 is introduced from the start: EBUSY)",
            Ours = Golden,
            Reason = "ours also offers RECONNECTION (bit 0): it implements the ring reconnection handshake, which C does not",
        };

        yield return new("GET_QUOTA and SET_QUOTA", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(GetQuota, "");
            await a.Req(SetQuota, "nodes\01000\0");
        }, """
        A> GetQuota ""
        A< ERROR ENOSYS
        A> SetQuota "nodes\01000\0"
        A< ERROR ENOSYS

        """)
        {
            C422 = Golden,
            Change422 = "GET/SET_QUOTA exist from 4.22 on",
            Ours = Golden,
            Reason = "ours names the quotas it enforces: no byte-counted memory/soft-memory quota (a domain's memory is bounded by its nodes, node-size and path-max quotas), and watch-events (each connection's bounded queue of undelivered events)",
        };
    }
}
