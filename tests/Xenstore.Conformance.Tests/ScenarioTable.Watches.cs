using Xenstore.Protocol;
using static Xenstore.Protocol.XsMessageType;

namespace Xenstore.Conformance.Tests;

public static partial class ScenarioTable
{
    private static IEnumerable<Scenario> Watches()
    {
        yield return new("WATCH initial event and own changes", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(Watch, "$B/w\0tok\0");
            await a.Req(Write, "$B/w/x\01");
            await a.Req(Write, "$B/w/x\01");
            await a.Req(Write, "$B/wx\0not under /w");
            await a.Req(Mkdir, "$B/w/x\0");
            await a.Req(Mkdir, "$B/w/new/deep\0");
            await a.Req(SetPerms, "$B/w/x\0n0\0r3\0");
            await a.Req(Rm, "$B/w/missing\0");
        }, Golden);

        yield return new("WATCH registration errors, tokens and special paths", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(Watch, "$B/w\0tok\0");
            await a.Req(Watch, "$B/w\0tok\0");
            await a.Req(Watch, "$B/w\0other\0");
            await a.Req(Watch, "$B/w\0\0");
            await a.Req(Watch, "$B/w/\0t\0");
            await a.Req(Watch, "$B/w\0");
            await a.Req(Watch, "@introduceDomain\0i\0");
            await a.Req(Watch, "@releaseDomain\0r\0");
            await a.Req(Watch, "@other\0o\0");
            await a.Req(Unwatch, "$B/w\0tok\0");
            await a.Req(Unwatch, "$B/w\0tok\0");
            await a.Req(Unwatch, "$B/w\0never\0");
            await a.Req(Unwatch, "$B/w\0other\0extra\0");
            await a.Req(Unwatch, "$B/w\0");
            await a.Req(Write, "$B/w\0v");
        }, Golden);

        yield return new("WATCH with a depth argument", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(Watch, "$B/w\0tok\01\0");
            await a.Req(Write, "$B/w/a\0v");
            await a.Req(Write, "$B/w/a/b\0v");
        }, Golden)
        {
            C422 = Golden,
            Change422 = "4.22 WATCH takes an optional depth (WATCHDEPTH feature): 1 = the node and its direct children",
        };

        yield return new("relative watch reports relative paths", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(Watch, "$R\0rel\0");
            await a.Req(Write, "$R/k\0v");
            await a.Req(Write, "/local/domain/0/$R/k2\0v");
            await a.Req(Rm, "$R\0");
        }, Golden);

        yield return new("RM of a subtree: event order and watches below", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(Write, "$B/w/y/z\01");
            await a.Req(Write, "$B/w/y/q\01");
            await a.Req(Watch, "$B/w\0parent\0");
            await a.Req(Watch, "$B/w/y\0self\0");
            await a.Req(Watch, "$B/w/y/z\0child\0");
            await a.Req(Watch, "$B/w/y/z/deep\0never-existed\0");
            await a.Req(Rm, "$B/w/y\0");
        }, Golden);

        // The deliberate difference: numbers are decimal, in range, with nothing around them.
        yield return new("numeric arguments are parsed strictly", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(Write, "$B/d/aa\0");
            await a.Req(Write, "$B/d/bb\0");
            // A listing's generation is each daemon's own count: noted without it.
            foreach (string offset in new[] { "3", "abc", "+3" })
            {
                var part = await a.Raw.RequestAsync(DirectoryPart, s.Bytes($"$B/d\0{offset}\0"));
                s.Note($"DIRECTORY_PART offset {offset}: " + (part.IsError ? part.Text
                    : Transcript.Quote(part.Payload.AsSpan(part.Payload.AsSpan().IndexOf((byte)0) + 1)) + " after the generation"));
            }
            await a.Req(DirectoryPart, "$B/missing\0abc\0");
            await a.Req(SetPerms, "$B/d\0n0\0w99999999999\0");
            await a.Req(SetPerms, "$B/d\0n0\0r+5\0");
            await a.Req(GetPerms, "$B/d\0");
            await a.Req(Watch, "$B/d\0tok\0abc\0");
            await a.Events();
            await a.Req(Watch, "$B/d\0tok2\01\0");
            await a.Events();
        }, Golden)
        {
            C422 = Golden,
            Change422 = "4.22 reads a WATCH depth with atoi (abc is 0, accepted); 4.17 refuses any depth",
            Ours = Golden,
            Reason = "a mistyped number is EINVAL, checked before the node is looked up, instead of becoming another offset, depth or domain",
        };

        yield return new("an event identical to one still queued is sent once", async s =>
        {
            var a = await s.OpenAsync();
            var b = await s.OpenAsync("B");
            await b.Req(Watch, "$B/w\0same\0");
            await b.Req(Watch, "$B\0same\0");
            await b.Events();
            await a.Req(Write, "$B/w\0v");
            await b.Events();
        }, Golden);

        yield return new("events reach other connections", async s =>
        {
            var a = await s.OpenAsync();
            var b = await s.OpenAsync("B");
            await b.Req(Watch, "$B\0b\0");
            await b.Events();
            await a.Req(Write, "$B/x\0v");
            await a.Req(Rm, "$B/x\0");
            await b.Events();
            await b.Req(Unwatch, "$B\0b\0");
            await a.Req(Write, "$B/y\0v");
            await b.Events();
        }, Golden);

        yield return new("RESET_WATCHES drops watches and transactions", async s =>
        {
            var a = await s.OpenAsync();
            await a.Req(Watch, "$B\0tok\0");
            uint t = await a.Start();
            await a.Req(Write, "$B/in-tx\0v", t);
            await a.Req(ResetWatches, "\0");
            await a.Req(Write, "$B/after\0v");
            await a.Req(Read, "$B/in-tx\0", t);
            await a.Req(TransactionEnd, "T\0", t);
            await a.Req(Watch, "$B\0tok\0");
        }, Golden);
    }
}
