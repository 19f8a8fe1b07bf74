using Xenstore.Protocol;
using static Xenstore.Protocol.XsMessageType;

namespace Xenstore.Conformance.Tests;

public static partial class ScenarioTable
{
    private static IEnumerable<Scenario> Transactions()
    {
        yield return new("transaction ids, nesting and unknown ids", async s =>
        {
            var a = await s.OpenAsync();
            uint t1 = await a.Start();
            uint t2 = await a.Start();
            await a.Req(TransactionStart, "\0", t1);
            await a.Req(TransactionStart, "anything is ignored\0");
            await a.Req(Read, "/tool\0", 999);
            await a.Req(TransactionEnd, "T\0");
            await a.Req(TransactionEnd, "X\0", t1);
            await a.Req(TransactionEnd, "T", t1);
            await a.Req(TransactionEnd, "F\0", t1);
            await a.Req(TransactionEnd, "F\0", t1);
            await a.Req(TransactionEnd, "T\0", t2);
            var b = await s.OpenAsync("B");
            await b.Start();
        }, Golden);

        yield return new("transaction isolation and events at commit only", async s =>
        {
            var a = await s.OpenAsync();
            var b = await s.OpenAsync("B");
            await a.Req(Watch, "$B\0w\0");
            await a.Events();
            uint t = await b.Start();
            await b.Req(Write, "$B/t1\01", t);
            await b.Req(Write, "$B/t1\02", t);
            await b.Req(Write, "$B/t2\01", t);
            await b.Req(Read, "$B/t1\0", t);
            await a.Req(Read, "$B/t1\0");
            await a.Events();
            await b.Req(TransactionEnd, "T\0", t);
            await a.Events();
            uint u = await b.Start();
            await b.Req(Write, "$B/aborted\01", u);
            await b.Req(TransactionEnd, "F\0", u);
            await a.Req(Read, "$B/aborted\0");
            await a.Events();
        }, Golden);

        yield return new("events at commit: order of first access, none for a node made and removed", async s =>
        {
            var a = await s.OpenAsync();
            var b = await s.OpenAsync("B");
            await b.Req(Write, "$B/a\0old");
            await b.Req(Write, "$B/b\0old");
            await a.Req(Watch, "$B\0w\0");
            await a.Events();
            uint t = await b.Start();
            await b.Req(Write, "$B/a\01", t);
            await b.Req(Write, "$B/b\01", t);
            await b.Req(Write, "$B/a\02", t);
            await b.Req(Write, "$B/made\0v", t);
            await b.Req(Rm, "$B/made\0", t);
            await b.Req(TransactionEnd, "T\0", t);
            await a.Events();
            uint u = await b.Start();
            await b.Req(Read, "$B/b\0", u);
            await b.Req(Write, "$B/a\03", u);
            await b.Req(Write, "$B/b\03", u);
            await b.Req(TransactionEnd, "T\0", u);
            await a.Events();
        }, Golden);

        yield return new("parents made on the way and removed in a transaction fire nothing", async s =>
        {
            var a = await s.OpenAsync();
            var b = await s.OpenAsync("B");
            await a.Req(Watch, "$B\0w\0");
            await a.Events();
            uint t = await b.Start();
            await b.Req(Write, "$B/p/q/r\0v", t);
            await b.Req(Rm, "$B/p\0", t);
            await b.Req(Write, "$B/kept/x\0v", t);
            await b.Req(TransactionEnd, "T\0", t);
            await a.Events();
            await a.Req(Write, "$B/p/q\0old");
            await a.Events();
            uint u = await b.Start();
            await b.Req(Rm, "$B/p\0", u);
            await b.Req(Write, "$B/p/q/r\0v", u);
            await b.Req(Rm, "$B/p\0", u);
            await b.Req(TransactionEnd, "T\0", u);
            await a.Events();
        }, Golden);

        yield return new("a transaction's RM fires for removed siblings in their creation order", async s =>
        {
            var a = await s.OpenAsync();
            var b = await s.OpenAsync("B");
            await a.Req(Write, "$B/x/z\0v");
            await a.Req(Write, "$B/x/y\0v");
            await a.Req(Watch, "$B/x/y\0wy\0");
            await a.Req(Watch, "$B/x/z\0wz\0");
            await a.Events();
            uint t = await b.Start();
            await b.Req(Rm, "$B/x\0", t);
            await b.Req(TransactionEnd, "T\0", t);
            await a.Events();
        }, Golden);

        // The deliberate difference: a transaction reads a snapshot taken at its start (C reads what is current for
        // a node it has not accessed yet, and validates at commit only what it accessed).
        yield return new("a transaction reads the store as it was at its start", async s =>
        {
            var a = await s.OpenAsync();
            var b = await s.OpenAsync("B");
            await a.Req(Write, "$B/p\0");
            uint t = await a.Start();
            await b.Req(Write, "$B/p/new\0made after the start");
            await a.Req(Read, "$B/p/new\0", t);
            await a.Req(XsMessageType.Directory, "$B/p\0", t);
            await a.Req(TransactionEnd, "F\0", t);
            await a.Req(Read, "$B/p/new\0");
        }, Golden)
        {
            Ours = Golden,
            Reason = "a transaction sees one state of the store, the one at TRANSACTION_START: a node made by another connection meanwhile is not there",
        };

        yield return Conflict("conflict: tx read a node another connection changed", async (s, a, b, t) =>
        {
            await b.Req(Read, "$B/a\0", t);
            await b.Req(Write, "$B/b\0tx", t);
            await a.Req(Write, "$B/a\0new");
        });

        yield return Conflict("no conflict: disjoint writes", async (s, a, b, t) =>
        {
            await b.Req(Write, "$B/b\0tx", t);
            await a.Req(Write, "$B/c\0new");
        });

        yield return Conflict("conflict: blind write of a node another connection wrote", async (s, a, b, t) =>
        {
            await b.Req(Write, "$B/b\0tx", t);
            await a.Req(Write, "$B/b\0outside");
        });

        yield return Conflict("conflict: read-only transaction", async (s, a, b, t) =>
        {
            await b.Req(Read, "$B/a\0", t);
            await a.Req(Write, "$B/a\0new");
        });

        yield return Conflict("conflict: same value rewritten outside", async (s, a, b, t) =>
        {
            await b.Req(Read, "$B/a\0", t);
            await b.Req(Write, "$B/b\0tx", t);
            await a.Req(Write, "$B/a\0old");
        });

        yield return Conflict("no conflict: unrelated node elsewhere", async (s, a, b, t) =>
        {
            await b.Req(Read, "$B/a\0", t);
            await b.Req(Write, "$B/b\0tx", t);
            await a.Req(Write, "$B-elsewhere/q\0new");
            await a.Req(Rm, "$B-elsewhere\0");
        });

        yield return Conflict("conflict: tx listed the directory, another child added", async (s, a, b, t) =>
        {
            await b.Req(XsMessageType.Directory, "$B\0", t);
            await b.Req(Write, "$B/b\0tx", t);
            await a.Req(Write, "$B/new\0new");
        });

        yield return Conflict("conflict: tx read a missing node another connection created", async (s, a, b, t) =>
        {
            await b.Req(Read, "$B/zz\0", t);
            await b.Req(Write, "$B/b\0tx", t);
            await a.Req(Write, "$B/zz\0new");
        });

        // The deliberate difference: a parent's child list merges.
        yield return Conflict("different children created under one parent", async (s, a, b, t) =>
        {
            await b.Req(Write, "$B/b\0tx", t);
            await a.Req(Write, "$B/other\0new");
        }, oursDiffers: true,
            reason: "ours merges a parent's child list: creating different children under one parent does not conflict unless the transaction listed that directory");

        yield return Conflict("different children removed under one parent", async (s, a, b, t) =>
        {
            await b.Req(Rm, "$B/a\0", t);
            await a.Req(Rm, "$B/c\0");
        }, oursDiffers: true,
            reason: "ours merges a parent's child list: removing different children under one parent does not conflict unless the transaction listed that directory");

        yield return Conflict("transaction creates a child, another connection removes a different one", async (s, a, b, t) =>
        {
            await b.Req(Write, "$B/b\0tx", t);
            await a.Req(Rm, "$B/c\0");
        }, oursDiffers: true,
            reason: "ours merges a parent's child list: a create and a remove of different children do not conflict");

        yield return Conflict("two transactions create different children", async (s, a, b, t) =>
        {
            uint u = await a.Start();
            await a.Req(Write, "$B/from-a\0a", u);
            await b.Req(Write, "$B/from-b\0b", t);
            await a.Req(TransactionEnd, "T\0", u);
        }, oursDiffers: true,
            reason: "ours merges a parent's child list: concurrent transactions creating different children under one parent both commit");

        yield return Conflict("same child created in both", async (s, a, b, t) =>
        {
            await b.Req(Write, "$B/same\0tx", t);
            await a.Req(Write, "$B/same\0outside");
        });
    }

    /// <summary>
    /// A §5.2 conflict row: A seeds <c>$B/a = old</c> and <c>$B/c</c>, B starts a transaction, the body runs, then B
    /// commits and the committed state is read back.
    /// </summary>
    private static Scenario Conflict(string name, Func<Session, Session.Conn, Session.Conn, uint, Task> body,
        bool oursDiffers = false, string? reason = null)
    {
        return new Scenario(name, async s =>
        {
            var a = await s.OpenAsync();
            var b = await s.OpenAsync("B");
            await a.Req(Write, "$B/a\0old");
            await a.Req(Write, "$B/c\0c");
            uint t = await b.Start();
            await body(s, a, b, t);
            await b.Req(TransactionEnd, "T\0", t);
            await a.Req(XsMessageType.Directory, "$B\0");
        }, Golden)
        {
            Ours = oursDiffers ? Golden : null,
            Reason = reason,
        };
    }
}
