using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Client.Tests;

public sealed class TransactionTests(DaemonPool pool)
{
    private async Task<XenstoreClient> ConnectAsync(string kind) =>
        await XenstoreClient.ConnectAsync((await pool.GetAsync(kind)).SocketPath);

    [Theory]
    [InlineData("c")]
    [InlineData("ocaml")]
    [InlineData("ours")]
    public async Task Commit_MakesWritesVisible_Abort_DiscardsThem(string kind)
    {
        await using XenstoreClient client = await ConnectAsync(kind);
        string root = TestPaths.Unique("tx");
        await using (XenstoreTransaction tx = await client.BeginTransactionAsync())
        {
            Assert.NotEqual(0u, tx.TransactionId);
            await tx.WriteAsync(root + "/a", "1");
            Assert.Equal("1", await tx.ReadStringAsync(root + "/a"));
            Assert.False(await client.ExistsAsync(root + "/a"));
            Assert.True(await tx.CommitAsync());
        }
        Assert.Equal("1", await client.ReadStringAsync(root + "/a"));
        await using (XenstoreTransaction tx = await client.BeginTransactionAsync())
        {
            await tx.WriteAsync(root + "/b", "2");
            await tx.AbortAsync();
        }
        Assert.False(await client.ExistsAsync(root + "/b"));
        // Disposing an unfinished transaction aborts it.
        await using (XenstoreTransaction tx = await client.BeginTransactionAsync())
        {
            await tx.WriteAsync(root + "/c", "3");
        }
        Assert.False(await client.ExistsAsync(root + "/c"));
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ocaml")]
    [InlineData("ours")]
    public async Task RunTransaction_RetriesAfterConflict(string kind)
    {
        await using XenstoreClient client = await ConnectAsync(kind);
        await using XenstoreClient other = await ConnectAsync(kind);
        string root = TestPaths.Unique("retry");
        await client.WriteAsync(root + "/counter", "0");
        int attempts = 0;
        string result = await client.RunTransactionAsync(async (tx, ct) =>
        {
            attempts++;
            string value = await tx.ReadStringAsync(root + "/counter", ct);
            if (attempts == 1)
            {
                // Someone else changes what this transaction read: its commit must fail with EAGAIN.
                await other.WriteAsync(root + "/counter", "10", ct);
            }
            string next = (int.Parse(value) + 1).ToString();
            await tx.WriteAsync(root + "/counter", next, ct);
            return next;
        });
        Assert.Equal(2, attempts);
        Assert.Equal("11", result);
        Assert.Equal("11", await client.ReadStringAsync(root + "/counter"));
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ours")]
    public async Task RunTransaction_GivesUpAfterItsBound(string kind)
    {
        await using XenstoreClient client = await ConnectAsync(kind);
        await using XenstoreClient other = await ConnectAsync(kind);
        string root = TestPaths.Unique("bound");
        await client.WriteAsync(root + "/x", "0");
        int attempts = 0;
        await Assert.ThrowsAsync<XenstoreConflictException>(() => client.RunTransactionAsync(async (tx, ct) =>
        {
            attempts++;
            await tx.ReadAsync(root + "/x", ct);
            await other.WriteAsync(root + "/x", attempts.ToString(), ct);
            await tx.WriteAsync(root + "/y", "1", ct);
        }, maxAttempts: 3));
        Assert.Equal(3, attempts);
        Assert.False(await client.ExistsAsync(root + "/y"));
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ours")]
    public async Task Transaction_BelongsToItsConnection(string kind)
    {
        await using XenstoreClient client = await ConnectAsync(kind);
        await using XenstoreClient other = await ConnectAsync(kind);
        await using XenstoreTransaction tx = await client.BeginTransactionAsync();
        (XsMessageType type, byte[] payload) = await other.RequestAsync(XsMessageType.Read, "/\0"u8.ToArray(), tx.TransactionId);
        Assert.Equal(XsMessageType.Error, type);
        Assert.Equal(XsError.ENOENT, XsErrors.Parse(payload));
    }

    [Theory]
    [InlineData("c")]
    [InlineData("ours")]
    public async Task ManyTransactions_InFlightAtOnce_AllCommit(string kind)
    {
        await using XenstoreClient client = await ConnectAsync(kind);
        string root = TestPaths.Unique("parallel-tx");
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => client.RunTransactionAsync(async (tx, ct) =>
        {
            await tx.WriteAsync($"{root}/{i}/a", "1", ct);
            await tx.WriteAsync($"{root}/{i}/b", "2", ct);
        }, maxAttempts: 50)));
        Assert.Equal(40, (await client.ListAsync(root)).Length);
    }
}
