using System.Text;
using Xenstore.Protocol;
using Xenstore.Store.Tree;

namespace Xenstore.Store.Tests;

/// <summary>
/// A node keeps short values inside itself and longer ones in an array, and becomes a directory on its first
/// child: whatever the mix, it reads back what was written, and a copy changes independently of its original.
/// </summary>
public sealed class NodeTests
{
    private static readonly XsPermission[] s_perms = [new(XsAccess.None, 0)];

    public static TheoryData<int> Lengths => new() { 0, 1, Node.InlineCapacity - 1, Node.InlineCapacity, Node.InlineCapacity + 1, 4096 };

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Value_ReadsBackWhatWasWritten_LeafAndDirectory(int length)
    {
        byte[] value = Bytes(length, 'a');
        var node = new Node("n", value, s_perms, 1);
        Assert.Equal(value, node.Value.ToArray());
        node.MutableChildren().Add(new Node("child", [], s_perms, 1));
        Assert.Equal(value, node.Value.ToArray());
        Assert.Equal("child", node.Children.Items[0].Name);
    }

    [Fact]
    public void Value_ChangesBetweenShortAndLong_InBothShapes()
    {
        var random = new Random(7);
        var leaf = new Node("leaf", [], s_perms, 1);
        var directory = new Node("dir", [], s_perms, 1);
        directory.MutableChildren().Add(new Node("c", [], s_perms, 1));
        for (int i = 0; i < 200; i++)
        {
            int length = random.Next(3) == 0 ? random.Next(Node.InlineCapacity + 1, 64) : random.Next(0, Node.InlineCapacity + 1);
            byte[] value = Bytes(length, (char)('a' + (i % 26)));
            leaf.SetValue(value);
            directory.SetValue(value);
            Assert.Equal(value, leaf.Value.ToArray());
            Assert.Equal(value, directory.Value.ToArray());
            Assert.Equal(0, leaf.Children.Count);
            Assert.Equal(1, directory.Children.Count);
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Copy_ChangesIndependently(int length)
    {
        byte[] original = Bytes(length, 'o');
        var node = new Node("n", original, s_perms, 1);
        node.MutableChildren().Add(new Node("first", [], s_perms, 1));
        node.ChildrenGeneration = 5;
        Node copy = node.CopyFor(2);

        copy.SetValue(Bytes(length == 0 ? 3 : length, 'c'));
        copy.MutableChildren().Add(new Node("second", [], s_perms, 2));
        copy.ChildrenGeneration = 9;

        Assert.Equal(original, node.Value.ToArray());
        Assert.Equal(1, node.Children.Count);
        Assert.Equal(5, node.ChildrenGeneration);
        Assert.Equal(2, copy.Children.Count);
        Assert.Equal(9, copy.ChildrenGeneration);
        Assert.Equal(2, copy.Epoch);
    }

    [Fact]
    public void ChildrenGeneration_OfANodeWithoutChildren_IsItsGeneration_UntilItHasAListOfItsOwn()
    {
        var node = new Node("n", Bytes(4, 'v'), s_perms, 1) { Generation = 3 };
        Assert.Equal(3, node.ChildrenGeneration);
        node.Generation = 8;
        Assert.Equal(8, node.ChildrenGeneration);
        node.MutableChildren().Add(new Node("c", [], s_perms, 1));
        node.ChildrenGeneration = 10;
        node.Generation = 12;
        Assert.Equal(10, node.ChildrenGeneration);
        // The list stays when its last child goes: the generation of the (now empty) set is still the list's.
        node.MutableChildren().Remove("c");
        Assert.Equal(10, node.ChildrenGeneration);
    }

    private static byte[] Bytes(int length, char fill) => Encoding.ASCII.GetBytes(new string(fill, length));
}
