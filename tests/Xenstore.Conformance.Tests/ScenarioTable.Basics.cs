using Xenstore.Protocol;
using static Xenstore.Protocol.XsMessageType;

namespace Xenstore.Conformance.Tests;

public static partial class ScenarioTable
{
    private static IEnumerable<Scenario> Basics()
    {
        yield return new("read and write binary values", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(Write, "$B/bin\0x\0y\0");
            await a.Req(Read, "$B/bin\0");
            await a.Req(Write, "$B/empty\0");
            await a.Req(Read, "$B/empty\0");
            await a.Req(Write, "$B/deep/er/node\0v");
            await a.Req(Read, "$B/deep/er\0");
            await a.Req(Read, "$B/missing\0");
            await a.Req(Read, "$B/missing/parent\0");
            await a.Req(Write, "$B/no-nul");
        }, """
        A> Write "$B/bin\0x\0y\0"
        A< OK
        A> Read "$B/bin\0"
        A< "x\0y\0"
        A> Write "$B/empty\0"
        A< OK
        A> Read "$B/empty\0"
        A< ""
        A> Write "$B/deep/er/node\0v"
        A< OK
        A> Read "$B/deep/er\0"
        A< ""
        A> Read "$B/missing\0"
        A< ERROR ENOENT
        A> Read "$B/missing/parent\0"
        A< ERROR ENOENT
        A> Write "$B/no-nul"
        A< ERROR EINVAL

        """);

        yield return new("single-argument requests need exactly one trailing NUL", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(Write, "$B/x\0v");
            await a.Req(Read, "\0");
            await a.Req(Read, "$B/x\0\0");
            await a.Req(Mkdir, "$B/y\0\0");
            await a.Req(XsMessageType.Directory, "$B\0extra\0");
            await a.Req(Read, "");
        }, """
        A> Write "$B/x\0v"
        A< OK
        A> Read "\0"
        A< ERROR EINVAL
        A> Read "$B/x\0\0"
        A< ERROR EINVAL
        A> Mkdir "$B/y\0\0"
        A< ERROR EINVAL
        A> Directory "$B\0extra\0"
        A< ERROR EINVAL
        A> Read ""
        A< ERROR EINVAL

        """);

        yield return new("READ without NUL after a failed request", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(Read, "$B/missing\0");
            await a.Req(Read, "$B/missing");
        }, """
        A> Read "$B/missing\0"
        A< ERROR ENOENT
        A> Read "$B/missing"
        A< ERROR ENOENT

        """)
        {
            C422 = """
            A> Read "$B/missing\0"
            A< ERROR ENOENT
            A> Read "$B/missing"
            A< ERROR EINVAL

            """,
            Change422 = "4.17 answers a malformed single-argument payload with whatever errno the previous request left (XSA-481); 4.22 always says EINVAL",
        };

        yield return new("MKDIR new, existing and deep", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(Write, "$B/v\0value");
            await a.Req(Mkdir, "$B/v\0");
            await a.Req(Read, "$B/v\0");
            await a.Req(Mkdir, "$B/a/b/c\0");
            await a.Req(Read, "$B/a/b/c\0");
            await a.Req(XsMessageType.Directory, "$B\0");
        }, """
        A> Write "$B/v\0value"
        A< OK
        A> Mkdir "$B/v\0"
        A< OK
        A> Read "$B/v\0"
        A< "value"
        A> Mkdir "$B/a/b/c\0"
        A< OK
        A> Read "$B/a/b/c\0"
        A< ""
        A> Directory "$B\0"
        A< "v\0a\0"

        """);

        yield return new("RM subtree, missing node, missing parent, root", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(Write, "$B/s/t/u\01");
            await a.Req(Write, "$B/s/v\02");
            await a.Req(Rm, "$B/s\0");
            await a.Req(Read, "$B/s/t/u\0");
            await a.Req(XsMessageType.Directory, "$B\0");
            await a.Req(Rm, "$B/gone\0");
            await a.Req(Rm, "$B/gone/deeper\0");
            await a.Req(Rm, "/\0");
            await a.Req(Read, "/tool\0");
        }, Golden);

        yield return new("DIRECTORY order and of a leaf", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(Write, "$B/c\0");
            await a.Req(Write, "$B/a\0");
            await a.Req(Write, "$B/b\0");
            await a.Req(XsMessageType.Directory, "$B\0");
            await a.Req(Rm, "$B/c\0");
            await a.Req(Write, "$B/c\0");
            await a.Req(XsMessageType.Directory, "$B\0");
            await a.Req(XsMessageType.Directory, "$B/a\0");
            await a.Req(XsMessageType.Directory, "$B/missing\0");
        }, """
        A> Write "$B/c\0"
        A< OK
        A> Write "$B/a\0"
        A< OK
        A> Write "$B/b\0"
        A< OK
        A> Directory "$B\0"
        A< "c\0a\0b\0"
        A> Rm "$B/c\0"
        A< OK
        A> Write "$B/c\0"
        A< OK
        A> Directory "$B\0"
        A< "a\0b\0c\0"
        A> Directory "$B/a\0"
        A< ""
        A> Directory "$B/missing\0"
        A< ERROR ENOENT

        """);

        yield return new("header fields are echoed", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(Write, "$B/x\0v");
            await a.Raw.SendRequestAsync(Read, s.Bytes("$B/x\0"), reqId: 0xdeadbeef);
            await a.Reply(Read, 0xdeadbeef);
            await a.Raw.SendRequestAsync(Read, s.Bytes("$B/missing\0"), reqId: 7);
            await a.Reply(Read, 7);
            await a.Raw.SendRequestAsync(Read, s.Bytes("$B/x\0"), txId: 99, reqId: 8);
            await a.Reply(Read, 8, 99);
        }, """
        A> Write "$B/x\0v"
        A< OK
        A< "v"
        A< ERROR ENOENT
        A< ERROR ENOENT

        """);
    }
}
