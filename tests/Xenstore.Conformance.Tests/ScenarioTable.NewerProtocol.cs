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
            OursUnchecked = true,
            Reason = "GET/SET_FEATURE exist from 4.21 on; ours implements them (see the 4.22-only tests)",
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
            OursUnchecked = true,
            Reason = "GET/SET_QUOTA exist from 4.22 on; ours implements them (see the 4.22-only tests)",
        };
    }
}
