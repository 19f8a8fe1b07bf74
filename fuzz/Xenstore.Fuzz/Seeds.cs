using System.Buffers.Binary;
using System.Text;
using Xenstore.Protocol;

namespace Xenstore.Fuzz;

/// <summary>
/// Hand-made starting inputs for each target: what a fuzzer would need long to find (valid requests, transactions,
/// watches, quotas, domain operations). AFL's findings are added to the checked-in corpus next to these.
/// </summary>
public static class Seeds
{
    /// <summary>Writes every seed to <c>DIR/&lt;target&gt;/seed-*</c>; returns how many.</summary>
    public static int WriteAll(string directory)
    {
        int count = 0;
        foreach ((string target, string name, byte[] bytes) in All())
        {
            string folder = Path.Combine(directory, target);
            Directory.CreateDirectory(folder);
            File.WriteAllBytes(Path.Combine(folder, "seed-" + name), bytes);
            count++;
        }
        return count;
    }

    public static IEnumerable<(string Target, string Name, byte[] Bytes)> All()
    {
        foreach ((string name, byte[] bytes) in FrameSeeds())
        {
            yield return ("frame", name, bytes);
        }
        foreach ((string name, string text) in PathSeeds())
        {
            yield return ("path", name, [5, 0, .. Encoding.ASCII.GetBytes(text)]);
        }
        foreach ((string name, string text) in PermissionSeeds())
        {
            yield return ("perms", name, Encoding.ASCII.GetBytes(text));
        }
        foreach ((string name, byte[] bytes) in DispatcherSeeds())
        {
            yield return ("dispatcher", name, bytes);
        }
    }

    private static byte[] Frame(XsMessageType type, uint reqId, uint txId, string payload)
    {
        byte[] body = Encoding.ASCII.GetBytes(payload);
        var frame = new byte[XsConstants.HeaderSize + body.Length];
        FrameParser.Write(frame, type, reqId, txId, body);
        return frame;
    }

    private static IEnumerable<(string, byte[])> FrameSeeds()
    {
        byte[] read = Frame(XsMessageType.Read, 1, 0, "/local\0");
        byte[] write = Frame(XsMessageType.Write, 2, 3, "/a/b\0value");
        byte[] empty = Frame(XsMessageType.Read, 3, 0, "");
        var tooLarge = new byte[XsConstants.HeaderSize];
        new XsHeader(XsMessageType.Write, 4, 0, 5005).Write(tooLarge);
        var negative = new byte[XsConstants.HeaderSize];
        new XsHeader(XsMessageType.Read, 5, 0, uint.MaxValue).Write(negative);
        var max = new byte[XsConstants.HeaderSize + XsConstants.PayloadMax];
        new XsHeader(XsMessageType.Write, 6, 0, XsConstants.PayloadMax).Write(max);
        yield return ("one-whole", [0, .. read]);
        yield return ("two-split", [3, 0, 15, 2, .. read, .. write]);
        yield return ("zero-length", [1, 7, .. empty, .. read]);
        yield return ("too-large-after-frame", [2, 20, 3, .. read, .. tooLarge]);
        yield return ("negative-length", [0, .. negative]);
        yield return ("partial-tail", [1, 5, .. write, .. read[..10]]);
        yield return ("max-payload", [7, 255, 255, 255, 255, 255, 255, 255, .. max]);
    }

    private static IEnumerable<(string, string)> PathSeeds() =>
    [
        ("root", "/"),
        ("absolute", "/local/domain/5/device/vif/0/state"),
        ("relative", "device/vbd/51712"),
        ("special", "@releaseDomain"),
        ("special-suffix", "@introduceDomain/7"),
        ("double-slash", "/a//b"),
        ("trailing-slash", "/a/"),
        ("bad-char", "/a b"),
        ("home-no-digits", "/local/domain/x/y"),
        ("home-only", "/local/domain/12"),
        ("home-slash", "/local/domain/12/"),
        ("chars", "/A-Z_a-z@0-9"),
        ("long", "/" + string.Join('/', Enumerable.Repeat("abcdefghijklmnop", 180))),
    ];

    private static IEnumerable<(string, string)> PermissionSeeds() =>
    [
        ("owner", "n0\0"),
        ("list", "b5\0r0\0w7\0n32753\0"),
        ("no-nul", "r5"),
        ("empty-entry", "r5\0\0"),
        ("empty", "\0"),
        ("letter-only", "r\0"),
        ("bad-letter", "x5\0"),
        ("max", "r4294967295\0"),
        ("overflow", "r4294967296\0"),
        ("leading-zero", "w0007\0"),
        ("sign", "r-1\0r+1\0"),
        ("eleven-digits", "r00000000001\0"),
    ];

    // Dispatcher encoding: conn|tx<<2, type, u16 length, payload. Connections: 0 dom0, 1 dom0, 2 guest 5.
    private static byte[] Req(int connection, int tx, XsMessageType type, string payload)
    {
        byte[] body = Encoding.ASCII.GetBytes(payload);
        var bytes = new byte[4 + body.Length];
        bytes[0] = (byte)(connection | (tx << 2));
        bytes[1] = (byte)type;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2), (ushort)body.Length);
        body.CopyTo(bytes, 4);
        return bytes;
    }

    private static byte[] Seq(params byte[][] requests) => requests.SelectMany(r => r).ToArray();

    private static IEnumerable<(string, byte[])> DispatcherSeeds()
    {
        yield return ("basic", Seq(
            Req(0, 0, XsMessageType.Write, "/a/b\0hello"),
            Req(1, 0, XsMessageType.Read, "/a/b\0"),
            Req(0, 0, XsMessageType.Directory, "/a\0"),
            Req(0, 0, XsMessageType.GetPerms, "/a/b\0"),
            Req(0, 0, XsMessageType.Mkdir, "/a/c\0"),
            Req(0, 0, XsMessageType.Rm, "/a\0")));
        yield return ("transactions", Seq(
            Req(0, 0, XsMessageType.TransactionStart, "\0"),
            Req(1, 0, XsMessageType.TransactionStart, "\0"),
            Req(0, 1, XsMessageType.Write, "/t/x\01"),
            Req(1, 1, XsMessageType.Read, "/t/x\0"),
            Req(1, 1, XsMessageType.Write, "/t/x\02"),
            Req(0, 1, XsMessageType.TransactionEnd, "T\0"),
            Req(1, 1, XsMessageType.TransactionEnd, "T\0"),
            Req(2, 0, XsMessageType.TransactionStart, "\0"),
            Req(2, 1, XsMessageType.Write, "data/x\0v"),
            Req(2, 1, XsMessageType.Rm, "data/x\0"),
            Req(2, 1, XsMessageType.TransactionEnd, "T\0")));
        yield return ("watches", Seq(
            Req(0, 0, XsMessageType.Watch, "/\0root\0"),
            Req(2, 0, XsMessageType.Watch, "data\0rel\0"),
            Req(2, 0, XsMessageType.Watch, "@releaseDomain\0rel\0"),
            Req(2, 0, XsMessageType.Write, "data/k\0v"),
            Req(1, 0, XsMessageType.Write, "/local/domain/5/data/j\0w"),
            Req(1, 0, XsMessageType.Rm, "/local/domain/5/data\0"),
            Req(0, 0, XsMessageType.Unwatch, "/\0root\0"),
            Req(2, 0, XsMessageType.ResetWatches, "\0")));
        yield return ("guest-permissions", Seq(
            Req(2, 0, XsMessageType.Write, "/local/domain/0/x\0v"),
            Req(2, 0, XsMessageType.Read, "/tool/xenstored\0"),
            Req(2, 0, XsMessageType.Write, "data/mine\0v"),
            Req(2, 0, XsMessageType.SetPerms, "data/mine\0n5\0r0\0"),
            Req(2, 0, XsMessageType.SetPerms, "data/mine\0n0\0"),
            Req(2, 0, XsMessageType.Control, "check\0"),
            Req(2, 0, XsMessageType.Introduce, "6\00\07\0"),
            Req(2, 0, XsMessageType.GetDomainPath, "5\0"),
            Req(2, 0, XsMessageType.IsDomainIntroduced, "5\0")));
        yield return ("domains", Seq(
            Req(0, 0, XsMessageType.Introduce, "9\00\08\0"),
            Req(0, 0, XsMessageType.SetTarget, "9\05\0"),
            Req(0, 0, XsMessageType.IsDomainIntroduced, "9\0"),
            Req(0, 0, XsMessageType.Resume, "9\0"),
            Req(0, 0, XsMessageType.GetFeature, "9\0"),
            Req(0, 0, XsMessageType.SetFeature, "10\01\0"),
            Req(0, 0, XsMessageType.Release, "9\0"),
            Req(0, 0, XsMessageType.Release, "5\0"),
            Req(2, 0, XsMessageType.Read, "data\0")));
        yield return ("quotas", Seq(
            Req(0, 0, XsMessageType.GetQuota, ""),
            Req(0, 0, XsMessageType.SetQuota, "5\0nodes\03\0"),
            Req(2, 0, XsMessageType.Write, "data/a\0"),
            Req(2, 0, XsMessageType.Write, "data/b\0"),
            Req(2, 0, XsMessageType.Write, "data/c\0"),
            Req(2, 0, XsMessageType.Write, "data/d\0"),
            Req(0, 0, XsMessageType.GetQuota, "5\0nodes\0"),
            Req(0, 0, XsMessageType.Control, "quota\05\0"),
            Req(0, 0, XsMessageType.Control, "quota\0set\0transactions\01\0")));
        yield return ("control-and-odd-types", Seq(
            Req(0, 0, XsMessageType.Control, "check\0"),
            Req(0, 0, XsMessageType.Control, "help\0"),
            Req(0, 0, XsMessageType.Control, "print\0x\0"),
            Req(0, 0, XsMessageType.WatchEvent, "/\0t\0"),
            Req(0, 0, XsMessageType.Error, "EINVAL\0"),
            Req(0, 0, XsMessageType.Restrict, "5\0"),
            Req(0, 0, (XsMessageType)0xff, ""),
            Req(0, 0, XsMessageType.DirectoryPart, "/\00\0"),
            Req(0, 0, XsMessageType.DirectoryPart, "/local/domain/5\03\0"),
            Req(0, 3, XsMessageType.Read, "/\0"),
            Req(0, 0, XsMessageType.TransactionEnd, "T\0")));
    }
}
