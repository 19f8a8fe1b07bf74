using System.Globalization;
using System.Text;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests;

/// <summary>
/// A state directory written by an earlier build must load unchanged: the snapshot and journal under
/// <c>StateFiles/written-before-crc-library</c> were written by the daemon of commit 03e8c8a (its own CRC-32 code)
/// with <c>--snapshot-after 4096</c>, so that nodes, permissions, quotas and two introduced domains are spread over
/// both files (the journal also overwrites, removes and re-permissions nodes of the snapshot and commits a
/// transaction). <c>contents.txt</c> is what that build read back from them.
/// </summary>
public sealed class StateFileCompatibilityTests
{
    private static readonly string s_stateFiles = Path.Combine(AppContext.BaseDirectory, "StateFiles", "written-before-crc-library");

    [Fact]
    public async Task StateWrittenByAnEarlierBuild_LoadsExactlyItsContent()
    {
        string stateDirectory = Directory.CreateTempSubdirectory("xs-state-").FullName;
        try
        {
            foreach (string name in new[] { "snapshot", "journal" })
            {
                File.Copy(Path.Combine(s_stateFiles, name), Path.Combine(stateDirectory, name));
            }
            await using OurDaemon daemon = await OurDaemon.StartAsync("--state-dir", stateDirectory);
            await using RawConnection client = await RawConnection.ConnectAsync(daemon);
            string contents = await DescribeAsync(client);

            string expected = await File.ReadAllTextAsync(Path.Combine(s_stateFiles, "contents.txt"), TestContext.Current.CancellationToken);
            Assert.Equal(expected, contents);
            Assert.Equal("OK", (await client.RequestAsync(XsMessageType.Control, RawPayload.Strings("check"))).Text);
            // Every record of both files was accepted: a checksum mismatch would cut a file off at that record (and
            // the journal's tail off the file).
            Assert.Equal(new FileInfo(Path.Combine(s_stateFiles, "journal")).Length, new FileInfo(Path.Combine(stateDirectory, "journal")).Length);
            Assert.Contains(daemon.LogLines, line => line.Contains("records from " + Path.Combine(stateDirectory, "snapshot"), StringComparison.Ordinal));
            Assert.Contains(daemon.LogLines, line => line.Contains("records from " + Path.Combine(stateDirectory, "journal"), StringComparison.Ordinal));
            Assert.DoesNotContain(daemon.LogLines, line => line.Contains("torn or corrupt", StringComparison.Ordinal) || line.Contains("incomplete", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(stateDirectory, recursive: true);
        }
    }

    /// <summary>
    /// The tree (path, permissions, value; values with bytes outside printable ASCII escaped), then the quotas and
    /// the domains a toolstack can observe.
    /// </summary>
    private static async Task<string> DescribeAsync(RawConnection client)
    {
        var text = new StringBuilder();
        await DescribeNodeAsync(client, "/", text);
        foreach (string special in new[] { "@introduceDomain", "@releaseDomain" })
        {
            text.Append(special).Append('\t').AppendJoin(' ', (await client.GetPermsAsync(special)).Strings).Append('\n');
        }
        foreach (string quota in new[] { "nodes", "watches", "transactions" })
        {
            text.Append(CultureInfo.InvariantCulture, $"quota {quota}\t{await ReplyAsync(client, XsMessageType.GetQuota, quota)}\n");
            foreach (string domid in new[] { "3", "4" })
            {
                text.Append(CultureInfo.InvariantCulture, $"quota {domid} {quota}\t{await ReplyAsync(client, XsMessageType.GetQuota, domid, quota)}\n");
            }
        }
        for (int domid = 1; domid <= 5; domid++)
        {
            string id = domid.ToString(CultureInfo.InvariantCulture);
            text.Append(CultureInfo.InvariantCulture, $"domain {id} introduced\t{await ReplyAsync(client, XsMessageType.IsDomainIntroduced, id)}\n");
        }
        foreach (string domid in new[] { "3", "4" })
        {
            text.Append(await ReplyAsync(client, XsMessageType.Control, "quota", domid));
        }
        return text.ToString();
    }

    private static async Task DescribeNodeAsync(RawConnection client, string path, StringBuilder text)
    {
        RawMessage value = await client.ReadAsync(path);
        RawMessage perms = await client.GetPermsAsync(path);
        text.Append(path).Append('\t').AppendJoin(' ', perms.Strings).Append('\t').Append(Escape(value.Payload)).Append('\n');
        foreach (string child in (await client.DirectoryAsync(path)).Strings)
        {
            await DescribeNodeAsync(client, path == "/" ? "/" + child : path + "/" + child, text);
        }
    }

    private static async Task<string> ReplyAsync(RawConnection client, XsMessageType type, params string[] args)
    {
        RawMessage reply = await client.RequestAsync(type, RawPayload.Strings(args));
        return reply.IsError ? "error " + reply.ErrorName : reply.Text;
    }

    private static string Escape(byte[] value)
    {
        var text = new StringBuilder();
        foreach (byte b in value)
        {
            if (b is >= 0x20 and < 0x7f and not (byte)'\\')
            {
                text.Append((char)b);
            }
            else
            {
                text.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}");
            }
        }
        return text.ToString();
    }
}
