using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Xenstore.Protocol;
using Xenstore.Store;

namespace Xenstore.Server.Persistence;

/// <summary>
/// Encodes engine changes as state records into a buffer: one batch for the journal, or a whole snapshot, which
/// is written out to its stream every <see cref="SpillBytes"/> so that a large store is never held twice in memory.
/// </summary>
internal sealed class RecordEncoder(Stream? spillTo = null) : IStateJournal
{
    private const int SpillBytes = 256 * 1024;

    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private readonly ArrayBufferWriter<byte> _body = new(4096);

    /// <summary>Writes what is buffered to the spill stream (a snapshot's file) and empties the buffer.</summary>
    public void Spill()
    {
        spillTo?.Write(_buffer.WrittenSpan);
        _buffer.ResetWrittenCount();
    }

    public ReadOnlyMemory<byte> Written => _buffer.WrittenMemory;

    public int Count { get; private set; }

    public void Clear()
    {
        _buffer.ResetWrittenCount();
        Count = 0;
    }

    public void NodeWritten(string path, ReadOnlySpan<byte> value, ReadOnlySpan<XsPermission> perms)
    {
        _body.ResetWrittenCount();
        PutUInt32((uint)perms.Length);
        foreach (XsPermission perm in perms)
        {
            // As the migration stream: access letter, flags, pad, domid.
            Span<byte> entry = _body.GetSpan(8)[..8];
            entry.Clear();
            entry[0] = (byte)perm.Letter;
            BinaryPrimitives.WriteUInt32LittleEndian(entry[4..], perm.Domid);
            _body.Advance(8);
        }
        PutString(path);
        PutBytes(value);
        Emit(StateRecordType.Node);
    }

    public void NodeRemoved(string path)
    {
        _body.ResetWrittenCount();
        PutString(path);
        Emit(StateRecordType.NodeRemoved);
    }

    public void DomainWritten(DomainRecord domain)
    {
        _body.ResetWrittenCount();
        PutUInt32(domain.Domid);
        uint flags = (domain.Introduced ? 1u : 0) | (domain.Shutdown ? 2u : 0) | (domain.Target is not null ? 4u : 0);
        PutUInt32(flags);
        PutUInt64(domain.Gfn);
        PutUInt32(domain.EventChannel);
        PutUInt32(domain.Target ?? 0);
        PutUInt32((uint)domain.Features);
        PutUInt32((uint)domain.QuotaOverrides.Count);
        foreach ((Quota quota, long value) in domain.QuotaOverrides)
        {
            PutUInt32((uint)quota);
            PutUInt64((ulong)value);
        }
        Emit(StateRecordType.Domain);
    }

    public void DomainRemoved(uint domid)
    {
        _body.ResetWrittenCount();
        PutUInt32(domid);
        Emit(StateRecordType.DomainRemoved);
    }

    public void GlobalQuotaWritten(Quota quota, long value)
    {
        _body.ResetWrittenCount();
        PutUInt32((uint)quota);
        PutUInt64((ulong)value);
        Emit(StateRecordType.GlobalQuota);
    }

    public void RingWatchAdded(uint domid, WatchRecord watch)
    {
        _body.ResetWrittenCount();
        PutUInt32(domid);
        PutUInt32(watch.Relative ? 1u : 0);
        PutUInt32((uint)watch.Depth);
        PutString(watch.Path);
        PutString(watch.Token);
        Emit(StateRecordType.RingWatch);
    }

    public void RingWatchRemoved(uint domid, string path, string token)
    {
        _body.ResetWrittenCount();
        PutUInt32(domid);
        PutString(path);
        PutString(token);
        Emit(StateRecordType.RingWatchRemoved);
    }

    public void RingTransactionOpened(uint domid, uint transactionId)
    {
        _body.ResetWrittenCount();
        PutUInt32(domid);
        PutUInt32(transactionId);
        Emit(StateRecordType.RingTransaction);
    }

    public void RingTransactionEnded(uint domid, uint transactionId)
    {
        _body.ResetWrittenCount();
        PutUInt32(domid);
        PutUInt32(transactionId);
        Emit(StateRecordType.RingTransactionEnded);
    }

    public void RingConnectionCleared(uint domid)
    {
        _body.ResetWrittenCount();
        PutUInt32(domid);
        Emit(StateRecordType.RingCleared);
    }

    public void End()
    {
        _body.ResetWrittenCount();
        Emit(StateRecordType.End);
    }

    private void Emit(StateRecordType type)
    {
        ReadOnlySpan<byte> body = _body.WrittenSpan;
        int total = StateFileFormat.RecordHeaderSize + StateFileFormat.Padded(body.Length);
        Span<byte> record = _buffer.GetSpan(total)[..total];
        record.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)type);
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)body.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record[8..], StateFileFormat.Checksum(type, body));
        body.CopyTo(record[StateFileFormat.RecordHeaderSize..]);
        _buffer.Advance(total);
        Count++;
        if (spillTo is not null && _buffer.WrittenCount >= SpillBytes)
        {
            Spill();
        }
    }

    private void PutUInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_body.GetSpan(4), value);
        _body.Advance(4);
    }

    private void PutUInt64(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_body.GetSpan(8), value);
        _body.Advance(8);
    }

    private void PutBytes(ReadOnlySpan<byte> bytes)
    {
        PutUInt32((uint)bytes.Length);
        bytes.CopyTo(_body.GetSpan(bytes.Length));
        _body.Advance(bytes.Length);
    }

    private void PutString(string text)
    {
        int length = Encoding.Latin1.GetByteCount(text);
        PutUInt32((uint)length);
        Encoding.Latin1.GetBytes(text, _body.GetSpan(length));
        _body.Advance(length);
    }
}
