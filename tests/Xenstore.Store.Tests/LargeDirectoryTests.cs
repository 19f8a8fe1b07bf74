using Xenstore.TestKit.Engine;

namespace Xenstore.Store.Tests;

/// <summary>
/// Directories large enough for every child-list representation (linear, sorted, chunked), changed by several
/// transactions whose snapshots share the lists with the live tree: each snapshot keeps seeing its own state, the
/// live tree sees every commit, and the order of children is the order of creation.
/// </summary>
public sealed class LargeDirectoryTests
{
    private readonly EngineHarness _h = new();

    private TestConnection Dom0 => _h.Dom0;

    [Theory]
    [InlineData(10)]
    [InlineData(100)]
    [InlineData(600)]
    public void Transactions_OverALargeDirectory_SeeTheirSnapshots_AndMerge(int size)
    {
        const string Dir = "/big";
        var expected = new List<string>();
        for (int i = 0; i < size; i++)
        {
            Dom0.Write($"{Dir}/c{i}", "v" + i).Ok();
            expected.Add("c" + i);
        }
        TestConnection t1 = _h.Connect(0, privileged: true);
        TestConnection t2 = _h.Connect(0, privileged: true);
        TestConnection reader = _h.Connect(0, privileged: true);
        uint tx1 = t1.Start();
        uint tx2 = t2.Start();
        uint tx3 = reader.Start();

        // tx1 adds a child and rewrites one; tx2 removes another; the live tree gains one meanwhile. Neither
        // writer lists the directory, so their child-list changes merge at commit.
        t1.Write($"{Dir}/added-by-1", "x", tx1).Ok();
        t1.Write($"{Dir}/c3", "changed", tx1).Ok();
        t2.Rm($"{Dir}/c5", tx2).Ok();
        Dom0.Write($"{Dir}/live", "y").Ok();

        Assert.Equal(expected, Children(reader, Dir, tx3));
        t1.Read($"{Dir}/added-by-1", tx1).Is("x");
        t2.Read($"{Dir}/c5", tx2).Fails("ENOENT");
        reader.Read($"{Dir}/c3", tx3).Is("v3");
        reader.Read($"{Dir}/live", tx3).Fails("ENOENT");
        Assert.Equal([.. expected, "live"], Children(Dom0, Dir, 0));
        Dom0.Read($"{Dir}/c3").Is("v3");
        reader.Abort(tx3).Ok();

        t1.Commit(tx1).Ok();
        t2.Commit(tx2).Ok();

        List<string> final = [.. expected.Where(n => n != "c5"), "live", "added-by-1"];
        Assert.Equal(final, Children(Dom0, Dir, 0));
        Dom0.Read($"{Dir}/c3").Is("changed");
        Dom0.Read($"{Dir}/c5").Fails("ENOENT");
        _h.AssertConsistent();
    }

    [Fact]
    public void ManyRemovalsAndRecreations_UnderOpenSnapshots_KeepOrderAndContents()
    {
        const string Dir = "/churn";
        var live = new List<string>();
        for (int i = 0; i < 400; i++)
        {
            Dom0.Write($"{Dir}/n{i}", "1").Ok();
            live.Add("n" + i);
        }
        TestConnection reader = _h.Connect(0, privileged: true);
        for (int round = 0; round < 5; round++)
        {
            // A snapshot held open while a third of the children go and come back at the end of the list.
            uint tx = reader.Start();
            var snapshot = new List<string>(live);
            foreach (string name in live.Where((_, i) => i % 3 == round % 3).ToList())
            {
                Dom0.Rm($"{Dir}/{name}").Ok();
                live.Remove(name);
                Dom0.Write($"{Dir}/{name}", "2").Ok();
                live.Add(name);
            }
            Assert.Equal(snapshot, Children(reader, Dir, tx));
            Assert.Equal(live, Children(Dom0, Dir, 0));
            reader.Abort(tx).Ok();
        }
        _h.AssertConsistent();
    }

    /// <summary>The whole listing through DIRECTORY_PART, as a client pages through it.</summary>
    [Fact]
    public void DirectoryPart_AnyOffsetInAnyOrder_IsTheListingFromThere()
    {
        const string Dir = "/parts";
        var listing = new System.Text.StringBuilder();
        for (int i = 0; i < 2000; i++)
        {
            Dom0.Write($"{Dir}/child-{i}", "").Ok();
            listing.Append("child-").Append(i).Append('\0');
        }
        string all = listing.ToString();
        // Forward chunk by chunk, then backwards, then into the middle of names, then after a change: each chunk is
        // exactly the listing from its offset, whatever was asked before it.
        long[] offsets = [0, 4000, 8000, 12000, 8000, 3, 0, 15000, 7777, 7777, 1, 20000];
        foreach (long offset in offsets)
        {
            AssertChunk(all, Dom0.DirectoryPart(Dir, offset).Text, offset);
        }
        Dom0.Rm($"{Dir}/child-0").Ok();
        string changed = all["child-0\0".Length..];
        foreach (long offset in new long[] { 4000, 8000, 4000 })
        {
            AssertChunk(changed, Dom0.DirectoryPart(Dir, offset).Text, offset);
        }
        // A child's value changing leaves the names as they are; a child added at the end is listed last.
        Dom0.Write($"{Dir}/child-5", "changed").Ok();
        AssertChunk(changed, Dom0.DirectoryPart(Dir, 0).Text, 0);
        Dom0.Write($"{Dir}/a-late-child", "").Ok();
        changed += "a-late-child\0";
        foreach (long offset in new long[] { changed.Length - 100, changed.Length - 5, changed.Length, 0 })
        {
            AssertChunk(changed, Dom0.DirectoryPart(Dir, offset).Text, offset);
        }
        Dom0.Directory(Dir).Fails("E2BIG");
    }

    /// <summary>
    /// A chunk is its generation, then as many whole names of the listing from the offset (the first may be cut) as
    /// fit with one byte to spare, then, if that was the rest of the listing, the NUL that ends it.
    /// </summary>
    private static void AssertChunk(string listing, string chunk, long offset)
    {
        int header = chunk.IndexOf('\0') + 1;
        string names = chunk[header..];
        string expected = offset >= listing.Length ? "" : listing[(int)offset..];
        if (names.Length == expected.Length + 1)
        {
            Assert.Equal(expected + "\0", names);
            return;
        }
        Assert.True(names.Length > 0 && names.Length <= 4096 && expected.StartsWith(names, StringComparison.Ordinal),
            $"the chunk at offset {offset} is not the listing from there");
        Assert.EndsWith("\0", names, StringComparison.Ordinal);
        int next = expected.IndexOf('\0', names.Length) + 1;
        Assert.True(header + next + 1 > 4096, $"the chunk at offset {offset} stops before a name that fits");
    }

    private static List<string> Children(TestConnection connection, string path, uint tx)
    {
        var names = new List<string>();
        long offset = 0;
        while (true)
        {
            string[] parts = connection.DirectoryPart(path, offset, tx).Text.Split('\0');
            // parts[0] is the generation; a trailing empty name marks the end of the list.
            bool ended = false;
            for (int i = 1; i < parts.Length - 1; i++)
            {
                if (parts[i].Length == 0)
                {
                    ended = true;
                    break;
                }
                names.Add(parts[i]);
                offset += parts[i].Length + 1;
            }
            if (ended || parts.Length <= 2)
            {
                return names;
            }
        }
    }
}
