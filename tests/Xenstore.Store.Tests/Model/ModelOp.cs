using System.Globalization;
using System.Text;
using Xenstore.Protocol;

namespace Xenstore.Store.Tests.Model;

/// <summary>
/// One request of a generated scenario. <see cref="Conn"/> indexes <see cref="ReferenceModel.Connections"/>;
/// <see cref="Tx"/> is a transaction id of that connection (0 = none). Ids are deterministic (1, 2, 3, … per
/// connection), so a scenario names them directly; an id that is not open simply gets ENOENT.
/// </summary>
public abstract record ModelOp(int Conn, uint Tx)
{
    public abstract XsMessageType Type { get; }

    public abstract byte[] Payload();

    protected static byte[] Args(params string[] args) =>
        Encoding.Latin1.GetBytes(string.Concat(args.Select(a => a + "\0")));

    protected string Prefix => $"c{Conn}" + (Tx == 0 ? "" : $" tx{Tx}");

    protected static string Show(string value) => "\"" + value.Replace("\0", "\\0", StringComparison.Ordinal) + "\"";
}

public sealed record ReadOp(int Conn, uint Tx, string Path) : ModelOp(Conn, Tx)
{
    public override XsMessageType Type => XsMessageType.Read;

    public override byte[] Payload() => Args(Path);

    public override string ToString() => $"{Prefix} READ {Path}";
}

public sealed record WriteOp(int Conn, uint Tx, string Path, string Value) : ModelOp(Conn, Tx)
{
    public override XsMessageType Type => XsMessageType.Write;

    public override byte[] Payload() => Encoding.Latin1.GetBytes(Path + "\0" + Value);

    public override string ToString() => $"{Prefix} WRITE {Path} = {Show(Value)}";
}

public sealed record MkdirOp(int Conn, uint Tx, string Path) : ModelOp(Conn, Tx)
{
    public override XsMessageType Type => XsMessageType.Mkdir;

    public override byte[] Payload() => Args(Path);

    public override string ToString() => $"{Prefix} MKDIR {Path}";
}

public sealed record RmOp(int Conn, uint Tx, string Path) : ModelOp(Conn, Tx)
{
    public override XsMessageType Type => XsMessageType.Rm;

    public override byte[] Payload() => Args(Path);

    public override string ToString() => $"{Prefix} RM {Path}";
}

public sealed record DirectoryOp(int Conn, uint Tx, string Path) : ModelOp(Conn, Tx)
{
    public override XsMessageType Type => XsMessageType.Directory;

    public override byte[] Payload() => Args(Path);

    public override string ToString() => $"{Prefix} DIRECTORY {Path}";
}

public sealed record GetPermsOp(int Conn, uint Tx, string Path) : ModelOp(Conn, Tx)
{
    public override XsMessageType Type => XsMessageType.GetPerms;

    public override byte[] Payload() => Args(Path);

    public override string ToString() => $"{Prefix} GET_PERMS {Path}";
}

public sealed record SetPermsOp(int Conn, uint Tx, string Path, string[] Perms) : ModelOp(Conn, Tx)
{
    public override XsMessageType Type => XsMessageType.SetPerms;

    public override byte[] Payload() => Args([Path, .. Perms]);

    public override string ToString() => $"{Prefix} SET_PERMS {Path} {string.Join(' ', Perms)}";
}

public sealed record StartOp(int Conn) : ModelOp(Conn, 0)
{
    public override XsMessageType Type => XsMessageType.TransactionStart;

    public override byte[] Payload() => Args("");

    public override string ToString() => $"{Prefix} TRANSACTION_START";
}

public sealed record EndOp(int Conn, uint Tx, bool Commit) : ModelOp(Conn, Tx)
{
    public override XsMessageType Type => XsMessageType.TransactionEnd;

    public override byte[] Payload() => Args(Commit ? "T" : "F");

    public override string ToString() => $"{Prefix} TRANSACTION_END {(Commit ? "T" : "F")}";
}

public sealed record WatchOp(int Conn, string Path, string Token, int? Depth) : ModelOp(Conn, 0)
{
    public override XsMessageType Type => XsMessageType.Watch;

    public override byte[] Payload() => Depth is int d
        ? Args(Path, Token, d.ToString(CultureInfo.InvariantCulture))
        : Args(Path, Token);

    public override string ToString() => $"{Prefix} WATCH {Path} {Token}" + (Depth is int d ? $" depth {d}" : "");
}

public sealed record UnwatchOp(int Conn, string Path, string Token) : ModelOp(Conn, 0)
{
    public override XsMessageType Type => XsMessageType.Unwatch;

    public override byte[] Payload() => Args(Path, Token);

    public override string ToString() => $"{Prefix} UNWATCH {Path} {Token}";
}

public sealed record ResetWatchesOp(int Conn) : ModelOp(Conn, 0)
{
    public override XsMessageType Type => XsMessageType.ResetWatches;

    public override byte[] Payload() => Args("");

    public override string ToString() => $"{Prefix} RESET_WATCHES";
}
