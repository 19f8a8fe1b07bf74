using CsCheck;
using Xenstore.Protocol;
using Xenstore.Store.Tree;

namespace Xenstore.Store.Tests;

/// <summary>
/// The child list against a plain list model: random additions, replacements, removals and copies, with every copy
/// changed independently afterwards. Large lists switch to the chunked, copy-sharing structure, so the sizes reach
/// well past <see cref="ChildList.SmallLimit"/> and the removals far enough to force compaction.
/// </summary>
public sealed class ChildListTests
{
    private static readonly XsPermission[] s_perms = [new(XsAccess.None, 0)];

    private abstract record Op;

    private sealed record AddOp(int List, int Name) : Op;

    private sealed record ReplaceOp(int List, int Pick) : Op;

    private sealed record RemoveOp(int List, int Pick) : Op;

    private sealed record CloneOp(int List) : Op;

    private static readonly Gen<Op> s_op = Gen.Frequency(
        (10, Gen.Select(Gen.Int[0, 3], Gen.Int[0, 400]).Select(t => (Op)new AddOp(t.Item1, t.Item2))),
        (4, Gen.Select(Gen.Int[0, 3], Gen.Int[0, 1000]).Select(t => (Op)new ReplaceOp(t.Item1, t.Item2))),
        (5, Gen.Select(Gen.Int[0, 3], Gen.Int[0, 1000]).Select(t => (Op)new RemoveOp(t.Item1, t.Item2))),
        (1, Gen.Int[0, 3].Select(l => (Op)new CloneOp(l))));

    [Fact]
    public void ChildList_MatchesModel_WithCopiesChangedIndependently()
    {
        s_op.Array[1, 600].Sample(Run, iter: 300);
    }

    [Fact]
    public void ChildList_KeepsInsertionOrder_AcrossTheSwitchToChunks()
    {
        var list = new ChildList();
        var names = Enumerable.Range(0, 1000).Select(i => "c" + (i * 7919 % 1000)).ToList();
        foreach (string name in names)
        {
            list.Add(NewNode(name));
        }
        Assert.Equal(names, list.Items.ToArray().Select(n => n.Name));
        Assert.Equal(names.Count, list.Count);
        Assert.Equal("c7", list.Find("c7".AsSpan())!.Name);
        Assert.Null(list.Find("c1000".AsSpan()));
    }

    [Fact]
    public void ChildList_HashIndex_FindsEveryChild_AfterShrinkingBelowTheScanAndGrowingPastItsArray()
    {
        var list = new ChildList();
        var present = new List<string>();
        for (int i = 0; i < 40; i++)
        {
            list.Add(NewNode("k" + i));
            present.Add("k" + i);
        }
        for (int i = 0; i < 30; i++)
        {
            Assert.True(list.Remove("k" + i));
            present.Remove("k" + i);
        }
        ChildList copy = list.Clone();
        for (int i = 0; i < 200; i++)
        {
            list.Add(NewNode("m" + i));
            present.Add("m" + i);
            copy.Add(NewNode("c" + i));
        }
        foreach (string name in present)
        {
            Assert.Equal(name, list.Find(name.AsSpan())!.Name);
            Assert.Equal(name.StartsWith('k'), copy.Find(name.AsSpan()) is not null);
        }
        for (int i = 0; i < 30; i++)
        {
            Assert.Null(list.Find(("k" + i).AsSpan()));
        }
        Assert.Equal("c199", copy.Find("c199".AsSpan())!.Name);
        Assert.Null(list.Find("c199".AsSpan()));
        Assert.Equal(210, list.Count);
        Assert.Equal(present, list.Items.ToArray().Select(n => n.Name));
    }

    [Fact]
    public void ChildList_CopyOfLargeList_IsNotChangedByTheOriginal()
    {
        var original = new ChildList();
        for (int i = 0; i < 500; i++)
        {
            original.Add(NewNode("d" + i));
        }
        ChildList copy = original.Clone();
        Node replacement = NewNode("d10");
        original.Replace(replacement);
        original.Remove("d11");
        original.Add(NewNode("new"));

        Assert.NotSame(replacement, copy.Find("d10".AsSpan()));
        Assert.NotNull(copy.Find("d11".AsSpan()));
        Assert.Null(copy.Find("new".AsSpan()));
        Assert.Equal(500, copy.Count);
        Assert.Same(replacement, original.Find("d10".AsSpan()));
        Assert.Equal(500, original.Count);
    }

    private static void Run(Op[] ops)
    {
        var lists = new List<ChildList> { new() };
        var models = new List<List<Node>> { new() };
        foreach (Op op in ops)
        {
            int target = op switch
            {
                AddOp a => a.List,
                ReplaceOp r => r.List,
                RemoveOp r => r.List,
                CloneOp c => c.List,
                _ => 0,
            } % lists.Count;
            ChildList list = lists[target];
            List<Node> model = models[target];
            switch (op)
            {
                case AddOp add:
                    string name = "n" + add.Name;
                    if (model.Exists(n => n.Name == name))
                    {
                        continue;
                    }
                    Node added = NewNode(name);
                    list.Add(added);
                    model.Add(added);
                    break;
                case ReplaceOp replace when model.Count > 0:
                    int index = replace.Pick % model.Count;
                    Node replacement = NewNode(model[index].Name);
                    list.Replace(replacement);
                    model[index] = replacement;
                    break;
                case RemoveOp remove when model.Count > 0:
                    Node removed = model[remove.Pick % model.Count];
                    Assert.True(list.Remove(removed.Name));
                    model.Remove(removed);
                    Assert.False(list.Remove(removed.Name));
                    break;
                case CloneOp:
                    lists.Add(list.Clone());
                    models.Add([.. model]);
                    break;
            }
            for (int i = 0; i < lists.Count; i++)
            {
                Check(lists[i], models[i]);
            }
        }
    }

    private static void Check(ChildList list, List<Node> model)
    {
        Assert.Equal(model.Count, list.Count);
        Node[] items = list.Items.ToArray();
        Assert.Equal(model.Count, items.Length);
        for (int i = 0; i < model.Count; i++)
        {
            Assert.Same(model[i], items[i]);
            Assert.Same(model[i], list.Find(model[i].Name.AsSpan()));
        }
        Assert.Null(list.Find("absent".AsSpan()));
    }

    private static Node NewNode(string name) => new(name, [], s_perms, epoch: 1);
}
