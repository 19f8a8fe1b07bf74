using System.Text;
using CsCheck;
using Xenstore.Protocol;
using Xenstore.TestKit.Engine;

namespace Xenstore.Store.Tests.Model;

/// <summary>
/// Random request sequences over three connections (two dom0, one unprivileged domain), run against the engine
/// and the reference model; every reply and every watch event must match, and the final trees must be equal.
/// </summary>
public sealed class ModelBasedTests
{
    private static readonly string[] s_paths =
        ["/a", "/b", "/a/a", "/a/b", "/b/a", "/b/b", "/a/a/a", "/a/a/b", "/a/b/a", "/b/a/b"];

    private static readonly string[][] s_perms =
    [
        ["n0"], ["r0"], ["b0"], ["n0", "r1"], ["n0", "w1"], ["n0", "b1"], ["n1"], ["r1"], ["n1", "r0"], ["r0", "n1"], ["b1", "n0"],
    ];

    private static readonly Gen<string> s_path = Gen.OneOf(s_paths);

    private static readonly Gen<string> s_pathOrRoot = Gen.Frequency((1, Gen.Const("/")), (12, s_path));

    private static readonly Gen<int> s_conn = Gen.Int[0, 2];

    private static readonly Gen<uint> s_tx = Gen.Frequency((3, Gen.Const(0u)), (2, Gen.UInt[1, 3]));

    private static readonly Gen<ModelOp> s_op = Gen.Frequency(
        (6, Gen.Select(s_conn, s_tx, s_path, Gen.OneOf("", "x", "y", "x\0y")).Select(t => (ModelOp)new WriteOp(t.Item1, t.Item2, t.Item3, t.Item4))),
        (3, Gen.Select(s_conn, s_tx, s_path).Select(t => (ModelOp)new MkdirOp(t.Item1, t.Item2, t.Item3))),
        (3, Gen.Select(s_conn, s_tx, s_pathOrRoot).Select(t => (ModelOp)new RmOp(t.Item1, t.Item2, t.Item3))),
        (4, Gen.Select(s_conn, s_tx, s_pathOrRoot).Select(t => (ModelOp)new ReadOp(t.Item1, t.Item2, t.Item3))),
        (3, Gen.Select(s_conn, s_tx, s_pathOrRoot).Select(t => (ModelOp)new DirectoryOp(t.Item1, t.Item2, t.Item3))),
        (1, Gen.Select(s_conn, s_tx, s_pathOrRoot).Select(t => (ModelOp)new GetPermsOp(t.Item1, t.Item2, t.Item3))),
        (3, Gen.Select(s_conn, s_tx, s_pathOrRoot, Gen.OneOf(s_perms)).Select(t => (ModelOp)new SetPermsOp(t.Item1, t.Item2, t.Item3, t.Item4))),
        (3, s_conn.Select(c => (ModelOp)new StartOp(c))),
        (3, Gen.Select(s_conn, Gen.UInt[1, 3], Gen.Frequency((4, Gen.Const(true)), (1, Gen.Const(false)))).Select(t => (ModelOp)new EndOp(t.Item1, t.Item2, t.Item3))),
        (2, Gen.Select(s_conn, s_pathOrRoot, Gen.OneOf("t1", "t2"), Gen.Frequency((3, Gen.Const((int?)null)), (1, Gen.Int[0, 2].Select(d => (int?)d))))
            .Select(t => (ModelOp)new WatchOp(t.Item1, t.Item2, t.Item3, t.Item4))),
        (1, Gen.Select(s_conn, s_pathOrRoot, Gen.OneOf("t1", "t2")).Select(t => (ModelOp)new UnwatchOp(t.Item1, t.Item2, t.Item3))),
        (1, s_conn.Select(c => (ModelOp)new ResetWatchesOp(c))));

    private static string Print(ModelOp[] ops) =>
        "\n" + string.Join("\n", ops.Select((op, i) => $"{i,3}: {op}"));

    [Fact]
    public void EngineMatchesModel_RandomScenarios()
    {
        s_op.Array[1, 50].Sample(RunMinimizing, iter: 4000, print: Print);
    }

    [Fact]
    public void EngineMatchesModel_LongScenarios()
    {
        s_op.Array[100, 300].Sample(RunMinimizing, iter: 300, print: Print);
    }

    [Fact]
    public void EngineMatchesModel_HandPickedScenario()
    {
        Run(
        [
            new WriteOp(0, 0, "/a/a", "x"),
            new SetPermsOp(0, 0, "/a", ["n0", "b1"]),
            new WatchOp(2, "/a", "t1", null),
            new StartOp(2),
            new WriteOp(2, 1, "/a/b/a", "y"),
            new StartOp(1),
            new DirectoryOp(1, 1, "/a"),
            new WriteOp(1, 1, "/a/c", "z"),
            new EndOp(2, 1, true),
            new EndOp(1, 1, true),
            new RmOp(0, 0, "/a"),
        ]);
    }

    /// <summary>
    /// Found by the long scenarios: the parents a transaction's WRITE creates on the way, then removed by the same
    /// transaction, fire nothing at commit (C finds no permissions to judge them by), like the node written itself.
    /// </summary>
    [Fact]
    public void EngineMatchesModel_ParentsMadeOnTheWayAndRemovedInTheSameTransaction()
    {
        Run(
        [
            new StartOp(1),
            new WriteOp(1, 1, "/b/a/b", "y"),
            new WatchOp(0, "/", "t1", null),
            new RmOp(1, 1, "/b"),
            new EndOp(1, 1, true),
            new WriteOp(0, 0, "/b/a", "x"),
            new StartOp(1),
            new RmOp(1, 2, "/b"),
            new WriteOp(1, 2, "/b/a/b", "y"),
            new RmOp(1, 2, "/b"),
            new EndOp(1, 2, true),
        ]);
    }

    /// <summary>
    /// Found by the long scenarios: a transaction's RM accesses the removed subtree in the order C walks it (siblings
    /// in creation order), which orders the commit's events; the model once took its dictionary's order, which a
    /// removal elsewhere (RM /b, freeing slots) changes.
    /// </summary>
    [Fact]
    public void EngineMatchesModel_RemovedSiblingsFireInCreationOrderAtCommit()
    {
        Run(
        [
            new WriteOp(0, 0, "/b/a/b", "x"),
            new WriteOp(0, 0, "/a/a/b", "x"),
            new WatchOp(0, "/a/a/a", "t2", 0),
            new WatchOp(0, "/a/a/b", "t2", null),
            new RmOp(1, 0, "/b"),
            new MkdirOp(1, 0, "/a/a/a"),
            new StartOp(0),
            new RmOp(0, 1, "/a"),
            new EndOp(0, 1, true),
        ]);
    }

    /// <summary>
    /// Runs a scenario; on failure, removes requests one at a time while it still fails, and reports the smallest
    /// scenario found (CsCheck's own shrinking picks smaller random samples, which rarely drops single steps).
    /// </summary>
    private static void RunMinimizing(ModelOp[] ops)
    {
        string? failure = Failure(ops);
        if (failure is null)
        {
            return;
        }
        List<ModelOp> smallest = [.. ops];
        bool shrunk = true;
        while (shrunk)
        {
            shrunk = false;
            for (int i = smallest.Count - 1; i >= 0; i--)
            {
                List<ModelOp> candidate = [.. smallest[..i], .. smallest[(i + 1)..]];
                if (Failure([.. candidate]) is string smaller)
                {
                    smallest = candidate;
                    failure = smaller;
                    shrunk = true;
                }
            }
        }
        throw new InvalidOperationException($"minimal scenario:{Print([.. smallest])}\n{failure}");
    }

    private static string? Failure(ModelOp[] ops)
    {
        try
        {
            Run(ops);
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or Xunit.Sdk.XunitException)
        {
            return e.Message;
        }
    }

    /// <summary>Runs a scenario on both and fails at the first difference.</summary>
    internal static void Run(ModelOp[] ops)
    {
        var output = new RecordingOutput();
        var options = new EngineOptions();
        options.Quotas[Quota.Nodes] = ReferenceModel.NodeQuota;
        var engine = new XenstoreEngine(options, output);
        for (int i = 0; i < ReferenceModel.Connections.Length; i++)
        {
            (uint domid, bool privileged) = ReferenceModel.Connections[i];
            engine.OpenConnection(i, domid, privileged);
        }
        var model = new ReferenceModel();
        for (int step = 0; step < ops.Length; step++)
        {
            ModelOp op = ops[step];
            uint reqId = (uint)step + 1;
            byte[] payload = op.Payload();
            int before = output.Messages.Count;
            engine.Process(op.Conn, new XsHeader(op.Type, reqId, op.Tx, (uint)payload.Length), payload);
            List<ModelMessage> expected = model.Apply(op, reqId);
            List<ModelMessage> actual = output.Messages.Skip(before)
                .Select(m => new ModelMessage(m.ConnectionId, m.Type, m.ReqId, m.TxId, m.Payload))
                .ToList();
            for (int conn = 0; conn < ReferenceModel.Connections.Length; conn++)
            {
                string want = Describe(expected.Where(m => m.Conn == conn));
                string got = Describe(actual.Where(m => m.Conn == conn));
                if (want != got)
                {
                    throw new InvalidOperationException(
                        $"step {step} ({op}), connection c{conn}:\n  model:  {want}\n  engine: {got}");
                }
            }
        }
        Assert.Equal(model.OpenTransactions, engine.Statistics.OpenTransactions);
        Assert.Equal(model.Watches, engine.Statistics.Watches);
        CompareTrees(engine, output, model);
        Assert.Null(engine.CheckConsistency());
    }

    private static string Describe(IEnumerable<ModelMessage> messages) => string.Join(" ; ", messages);

    private static void CompareTrees(XenstoreEngine engine, RecordingOutput output, ReferenceModel model)
    {
        foreach (string path in s_paths.Prepend("/").Append("/tool").Append("/tool/xenstored"))
        {
            (byte[] Value, string Perms, string Children)? expected = model.Inspect(path);
            byte[]? value = Ask(engine, output, XsMessageType.Read, path);
            string? perms = Text(Ask(engine, output, XsMessageType.GetPerms, path));
            string? children = Text(Ask(engine, output, XsMessageType.Directory, path));
            if (expected is null)
            {
                Assert.True(value is null && perms is null && children is null, $"{path} exists in the engine only");
                continue;
            }
            Assert.True(value is not null, $"{path} exists in the model only");
            Assert.Equal(expected.Value.Value, value);
            Assert.Equal(expected.Value.Perms, perms);
            Assert.Equal(expected.Value.Children, children);
        }
    }

    private static byte[]? Ask(XenstoreEngine engine, RecordingOutput output, XsMessageType type, string path)
    {
        byte[] payload = Encoding.ASCII.GetBytes(path + "\0");
        engine.Process(0, new XsHeader(type, 0, 0, (uint)payload.Length), payload);
        RecordedMessage reply = output.Messages[^1];
        return reply.Type == XsMessageType.Error ? null : reply.Payload;
    }

    private static string? Text(byte[]? bytes) => bytes is null ? null : Encoding.Latin1.GetString(bytes);
}
