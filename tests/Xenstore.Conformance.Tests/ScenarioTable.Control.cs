using Xenstore.Protocol;
using static Xenstore.Protocol.XsMessageType;

namespace Xenstore.Conformance.Tests;

public static partial class ScenarioTable
{
    private static IEnumerable<Scenario> ControlRows()
    {
        yield return new("CONTROL check, print, quota set, errors", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(XsMessageType.Control, "check\0");
            await a.Req(XsMessageType.Control, "print\0hello\0");
            await a.Req(XsMessageType.Control, "print\0");
            await a.Req(XsMessageType.Control, "quota\0set\0watches\0129\0");
            await a.Req(XsMessageType.Control, "quota\0set\0watches\0128\0");
            await a.Req(XsMessageType.Control, "quota\0set\0watches\00\0");
            await a.Req(XsMessageType.Control, "quota\0set\0bogus\05\0");
            await a.Req(XsMessageType.Control, "log\0on\0");
            await a.Req(XsMessageType.Control, "log\0off\0");
            await a.Req(XsMessageType.Control, "logfile\0");
            await a.Req(XsMessageType.Control, "live-update\0-x\0");
            await a.Req(XsMessageType.Control, "bogus\0");
            await a.Req(XsMessageType.Control, "check");
        }, Golden);

        yield return new("CONTROL help and quota text", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(XsMessageType.Control, "help\0");
            await a.Req(XsMessageType.Control, "quota\0");
            await a.Req(XsMessageType.Control, "quota-soft\0");
            await a.Req(XsMessageType.Control, "log\0");
        }, Golden)
        {
            C422 = Golden,
            Change422 = "4.22 words help (\"%-15s %s\" columns, more arguments), lists its quotas in another order and words, and answers log without argument with the switch list",
            Ours = Golden,
            Reason = "ours lists the commands and quotas it implements (no live-update or logfile in help, no memory quotas so no quota-soft) and its own trace switches",
        };
    }
}
