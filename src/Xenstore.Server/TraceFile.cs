using System.Globalization;
using System.Text;
using Xenstore.Protocol;
using Xenstore.Protocol.Trace;

namespace Xenstore.Server;

/// <summary>
/// A trace file in C xenstored's format (<c>-T FILE</c>): <c>io: IN 0x1 (d0) 20261204 16:41:02 READ (/local )</c>,
/// the payload's NULs as spaces; <c>obj: CREATE connection 0x1</c>; a <c>***</c> line each time it is opened.
/// C prints the address of its connection object; here the connection number stands in for it. The file is
/// private (0600) and appended to, as C opens it. With the switch <c>replay</c>, <c>replay:</c> records
/// (<see cref="ReplayTraceFormat"/>) go in beside C's lines, timed from the first opening.
/// </summary>
internal sealed class TraceFile : IDisposable
{
    private readonly string _path;
    private readonly Lock _lock = new();
    private FileStream? _file;
    private readonly StringBuilder _line = new();
    private readonly long _started = System.Diagnostics.Stopwatch.GetTimestamp();

    public TraceFile(string path)
    {
        _path = path;
        Reopen();
    }

    public void Io(string direction, int connectionId, uint domid, XsMessageType type, ReadOnlySpan<byte> payload)
    {
        DateTime now = DateTime.Now;
        lock (_lock)
        {
            _line.Clear();
            _line.Append("io: ").Append(direction).Append(" 0x").Append(connectionId.ToString("x", CultureInfo.InvariantCulture))
                .Append(" (d").Append(domid.ToString(CultureInfo.InvariantCulture)).Append(") ")
                .Append(now.ToString("yyyyMMdd HH:mm:ss", CultureInfo.InvariantCulture)).Append(' ')
                .Append(CName(type)).Append(" (");
            foreach (byte b in payload)
            {
                _line.Append(b == 0 ? ' ' : (char)b);
            }
            _line.Append(")\n");
            Write();
        }
    }

    public void Object(string what, string kind, int id)
    {
        lock (_lock)
        {
            _line.Clear().Append("obj: ").Append(what).Append(' ').Append(kind).Append(" 0x")
                .Append(id.ToString("x", CultureInfo.InvariantCulture)).Append('\n');
            Write();
        }
    }

    /// <summary>A replay record of a message or a connection's opening or closing, timed now.</summary>
    public void Replay(int connectionId, ReplayEvent what, bool ring, uint domid, XsHeader header, ReadOnlySpan<byte> payload)
    {
        long microseconds = (long)System.Diagnostics.Stopwatch.GetElapsedTime(_started).TotalMicroseconds;
        var record = new ReplayRecord(microseconds, connectionId, what, ring, domid, header, payload.ToArray());
        lock (_lock)
        {
            _line.Clear().Append(ReplayTraceFormat.Format(record)).Append('\n');
            Write();
        }
    }

    public void Reopen()
    {
        lock (_lock)
        {
            _file?.Dispose();
            _file = new FileStream(_path, PrivateFiles.Options(FileMode.Append, FileAccess.Write, FileShare.ReadWrite));
            _line.Clear().Append("\n***\n");
            Write();
        }
    }

    /// <summary>C's name of a message type: <c>GetDomainPath</c> is <c>GET_DOMAIN_PATH</c>.</summary>
    internal static string CName(XsMessageType type) => ReplayTraceFormat.CName(type);

    private void Write()
    {
        // Latin-1 keeps every byte of the payload as the byte C writes.
        byte[] bytes = Encoding.Latin1.GetBytes(_line.ToString());
        _file!.Write(bytes);
        _file.Flush();
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _file?.Dispose();
            _file = null;
        }
    }
}
