using Xenstore.Protocol;
using static Xenstore.Protocol.XsMessageType;

namespace Xenstore.Conformance.Tests;

public static partial class ScenarioTable
{
    private static IEnumerable<Scenario> Domains()
    {
        yield return new("GET_DOMAIN_PATH formats whatever it is given", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(GetDomainPath, "0\0");
            await a.Req(GetDomainPath, "7\0");
            await a.Req(GetDomainPath, "abc\0");
            await a.Req(GetDomainPath, "7x\0");
            await a.Req(GetDomainPath, "70000\0");
            await a.Req(GetDomainPath, "-1\0");
            await a.Req(GetDomainPath, "7");
            await a.Req(GetDomainPath, "\0");
        }, Golden)
        {
            C422 = Golden,
            Change422 = "4.22 parses a domid strictly: a decimal below 0x7FF0, nothing after it",
        };

        yield return new("IS_DOMAIN_INTRODUCED", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(IsDomainIntroduced, "0\0");
            await a.Req(IsDomainIntroduced, "32752\0");
            await a.Req(IsDomainIntroduced, "5\0");
            await a.Req(IsDomainIntroduced, "abc\0");
            await a.Req(IsDomainIntroduced, "5");
        }, Golden)
        {
            C422 = Golden,
            Change422 = "4.22 parses a domid strictly: 4.17 reads \"abc\" as domain 0",
        };

        yield return new("INTRODUCE, RELEASE, RESUME, SET_TARGET argument errors", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(Introduce, "9\0");
            await a.Req(Introduce, "9\0x\0");
            await a.Req(Introduce, "9\0x\00\0");
            await a.Req(Release, "0\0");
            await a.Req(Release, "77\0");
            await a.Req(Release, "\0");
            await a.Req(Resume, "0\0");
            await a.Req(Resume, "77\0");
            await a.Req(SetTarget, "5\0");
            await a.Req(SetTarget, "5\06\0");
            await a.Req(SetTarget, "0\00\0");
        }, Golden);
    }
}
