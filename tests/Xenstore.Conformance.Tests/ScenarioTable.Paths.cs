using Xenstore.Protocol;
using static Xenstore.Protocol.XsMessageType;

namespace Xenstore.Conformance.Tests;

public static partial class ScenarioTable
{
    private static IEnumerable<Scenario> Paths()
    {
        yield return new("invalid paths are EINVAL", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(Write, "$B//x\0v");
            await a.Req(Write, "$B/x/\0v");
            await a.Req(Write, "$B/a b\0v");
            await a.Req(Write, "$B/a.b\0v");
            await a.Req(Write, "$B/a:b\0v");
            await a.Req(Read, "$B/\0");
            await a.Req(Write, "$B/A-z_0@9\0ok");
            await a.Req(Read, "$B/A-z_0@9\0");
            await a.Req(Write, "@foo\0v");
            await a.Req(Read, "@foo\0");
            await a.Req(Read, "@releaseDomain\0");
            await a.Req(XsMessageType.Directory, "/tool\0");
        }, Golden);

        yield return new("relative paths resolve under /local/domain/0", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(Write, "$R/x\0rel");
            await a.Req(Read, "/local/domain/0/$R/x\0");
            await a.Req(Read, "$R/x\0");
            await a.Req(XsMessageType.Directory, "$R\0");
            await a.Req(GetPerms, "$R/x\0");
            await a.Req(Rm, "$R\0");
            await a.Req(Read, "/local/domain/0/$R/x\0");
        }, Golden);

        yield return new("path length limit for dom0", async s =>
        {
            var a = await s.OpenAsync();
            // Top-level paths: the whole path counts (no /local/domain/<n>/ prefix to discount).
            string ok = "/" + new string('p', 2047);
            string tooLong = "/" + new string('q', 2048);
            await a.ReqBytes(Write, s.Bytes(ok + "\0v"), shownAs: "\"/p{2047}\\0v\"");
            await a.ReqBytes(Rm, s.Bytes(ok + "\0"), shownAs: "\"/p{2047}\\0\"");
            await a.ReqBytes(Write, s.Bytes(tooLong + "\0v"), shownAs: "\"/q{2048}\\0v\"");
            await a.ReqBytes(Rm, s.Bytes(tooLong + "\0"), shownAs: "\"/q{2048}\\0\"");
        }, Golden)
        {
            C422 = Golden,
            Change422 = "4.22 checks the path-max quota only for unprivileged domains; a socket client is dom0",
        };
    }
}
