using Microsoft.Extensions.Logging;
using Xenstore.Protocol;
using Xenstore.Protocol.Trace;
using Xenstore.Store;

namespace Xenstore.Server;

/// <summary>
/// The access trace: every request and reply (switch <c>io</c>) and connections opening and closing (<c>conn</c>,
/// C's <c>obj</c>), as the switches say. It goes to the log, or with a trace file (<c>-T</c>) to that file in C
/// xenstored's format, so tools that read C's trace read ours; with the switch <c>replay</c> the file also gets the
/// records <c>xenstore replay</c> reads. Store thread, except <see cref="Reopen"/>.
/// </summary>
internal sealed class AccessTrace(TraceSwitches switches, TraceFile? file, ILogger logger)
{
    public TraceSwitches Switches => switches;

    public bool Io => switches.Io;

    public void Request(int connectionId, uint domid, XsHeader header, ReadOnlySpan<byte> payload)
    {
        if (file is not null && switches.Replay)
        {
            file.Replay(connectionId, ReplayEvent.In, false, domid, header, payload);
        }
        if (!switches.Io)
        {
            return;
        }
        if (file is not null)
        {
            file.Io("IN", connectionId, domid, header.Type, payload);
        }
        else
        {
            Log.Trace(logger, connectionId, domid, "IN " + header.Type, header.TxId, TraceText.Summarize(payload));
        }
    }

    public void Reply(int connectionId, uint domid, XsMessageType type, uint reqId, uint txId, ReadOnlySpan<byte> payload)
    {
        if (file is not null && switches.Replay)
        {
            file.Replay(connectionId, ReplayEvent.Out, false, domid, new XsHeader(type, reqId, txId, (uint)payload.Length), payload);
        }
        if (!switches.Io)
        {
            return;
        }
        if (file is not null)
        {
            file.Io("OUT", connectionId, domid, type, payload);
        }
        else
        {
            Log.Trace(logger, connectionId, domid, "OUT " + type, txId, TraceText.Summarize(payload));
        }
    }

    public void Connection(int connectionId, uint domid, ConnectionKind kind, bool opened)
    {
        if (file is not null && switches.Replay)
        {
            file.Replay(connectionId, opened ? ReplayEvent.Open : ReplayEvent.Close, kind != ConnectionKind.Transient, domid, default, []);
        }
        if (!switches.Connections)
        {
            return;
        }
        if (file is not null)
        {
            file.Object(opened ? "CREATE" : "DESTROY", "connection", connectionId);
        }
        else
        {
            Log.Trace(logger, connectionId, domid, opened ? "CONNECT" : "DISCONNECT", 0, "");
        }
    }

    /// <summary>Reopens the trace file (SIGHUP, after the file was rotated).</summary>
    public void Reopen() => file?.Reopen();
}
