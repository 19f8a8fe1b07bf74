using System.Buffers.Text;
using Xenstore.Protocol;
using Xenstore.Store;

namespace Xenstore.Benchmarks.Operations;

/// <summary>
/// Engine operations on one privileged connection, each a single <see cref="XenstoreEngine.Process"/> call (or a
/// fixed sequence of them) with the reply going to an output that does nothing. Shared by the BenchmarkDotNet
/// benchmarks and the allocation gate, so both measure exactly the same code.
/// </summary>
public sealed class EngineOperations : IEngineOutput
{
    private const int Connection = 1;
    private const int DirectoryChildren = 16;

    private readonly XenstoreEngine _engine;
    private readonly byte[] _readPayload = "/bench/read/key\0"u8.ToArray();
    private readonly byte[] _writeExistingPayload = "/bench/write/key\0new-value-0123456789"u8.ToArray();
    private readonly byte[] _directoryPayload = "/bench/dir\0"u8.ToArray();
    private readonly byte[] _txWritePayload = "/bench/tx/key\0value-in-transaction"u8.ToArray();
    private readonly byte[] _newPayload = new byte[64];
    private readonly int _newPrefixLength;
    private long _newCounter;
    private uint _reqId;
    private uint _lastTxId;

    public EngineOperations()
    {
        _engine = new XenstoreEngine(new EngineOptions(), this);
        _engine.OpenConnection(Connection, 0, true);
        Write("/bench/read/key\0value-0123456789abcdef0123456789"u8);
        Write("/bench/write/key\0old"u8);
        Write("/bench/tx/key\0old"u8);
        for (int i = 0; i < DirectoryChildren; i++)
        {
            Write(System.Text.Encoding.ASCII.GetBytes($"/bench/dir/child-{i}\0x"));
        }
        ReadOnlySpan<byte> prefix = "/bench/new/n"u8;
        prefix.CopyTo(_newPayload);
        _newPrefixLength = prefix.Length;
    }

    public XenstoreEngine Engine => _engine;

    /// <summary>Bytes of the last reply sent (checked by tests, so that an operation that fails is noticed).</summary>
    public XsMessageType LastReplyType { get; private set; }

    public void Read() => Process(XsMessageType.Read, 0, _readPayload);

    public void WriteExisting() => Process(XsMessageType.Write, 0, _writeExistingPayload);

    /// <summary>Creates a node that did not exist: <c>/bench/new/n&lt;counter&gt;</c>, one more child of the same parent each time.</summary>
    public void WriteNew()
    {
        Utf8Formatter.TryFormat(_newCounter++, _newPayload.AsSpan(_newPrefixLength), out int digits);
        int length = _newPrefixLength + digits;
        _newPayload[length] = 0;
        _newPayload[length + 1] = (byte)'v';
        Process(XsMessageType.Write, 0, _newPayload.AsSpan(0, length + 2));
    }

    public void Directory() => Process(XsMessageType.Directory, 0, _directoryPayload);

    /// <summary>TRANSACTION_START, one WRITE of an existing node inside it, TRANSACTION_END commit.</summary>
    public void TransactionWriteCommit()
    {
        Process(XsMessageType.TransactionStart, 0, "\0"u8);
        uint tx = _lastTxId;
        Process(XsMessageType.Write, tx, _txWritePayload);
        Process(XsMessageType.TransactionEnd, tx, "T\0"u8);
    }

    private void Write(ReadOnlySpan<byte> payload)
    {
        Process(XsMessageType.Write, 0, payload);
        if (LastReplyType != XsMessageType.Write)
        {
            throw new InvalidOperationException("setup write failed");
        }
    }

    private void Process(XsMessageType type, uint txId, ReadOnlySpan<byte> payload) =>
        _engine.Process(Connection, new XsHeader(type, ++_reqId, txId, (uint)payload.Length), payload);

    void IEngineOutput.Send(int connectionId, XsMessageType type, uint reqId, uint txId, ReadOnlySpan<byte> payload)
    {
        LastReplyType = type;
        if (type == XsMessageType.TransactionStart)
        {
            _lastTxId = Utf8Parser.TryParse(payload, out uint id, out _) ? id : 0;
        }
    }
}
