using System.Buffers.Binary;
using System.Text;
using Xenstore.Protocol;
using Xenstore.Store;

namespace Xenstore.Server.Persistence;

/// <summary>
/// Reads state records back and hands them to a journal (in recovery, the engine's restorer). Stops at the first
/// record that is torn (shorter than it claims), fails its checksum or cannot be decoded, and reports how many
/// bytes were good.
/// </summary>
internal static class RecordDecoder
{
    /// <summary>Applies every valid record of <paramref name="records"/>; returns the length of the valid prefix.</summary>
    public static int Apply(ReadOnlySpan<byte> records, IStateJournal journal, out bool sawEnd, out int applied)
    {
        int offset = 0;
        sawEnd = false;
        applied = 0;
        while (records.Length - offset >= StateFileFormat.RecordHeaderSize)
        {
            ReadOnlySpan<byte> head = records[offset..];
            var type = (StateRecordType)BinaryPrimitives.ReadUInt32LittleEndian(head);
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(head[4..]);
            uint checksum = BinaryPrimitives.ReadUInt32LittleEndian(head[8..]);
            if (length > StateFileFormat.MaxBodySize)
            {
                break;
            }
            int total = StateFileFormat.RecordHeaderSize + StateFileFormat.Padded((int)length);
            if (records.Length - offset < total)
            {
                break;
            }
            ReadOnlySpan<byte> body = head.Slice(StateFileFormat.RecordHeaderSize, (int)length);
            if (StateFileFormat.Checksum(type, body) != checksum || !TryApply(type, body, journal))
            {
                break;
            }
            offset += total;
            applied++;
            if (type == StateRecordType.End)
            {
                sawEnd = true;
                break;
            }
        }
        return offset;
    }

    private static bool TryApply(StateRecordType type, ReadOnlySpan<byte> body, IStateJournal journal)
    {
        var reader = new BodyReader(body);
        switch (type)
        {
            case StateRecordType.End:
                return true;
            case StateRecordType.Node:
            {
                if (!reader.TryUInt32(out uint count) || count == 0 || count > 4096)
                {
                    return false;
                }
                var perms = new XsPermission[count];
                for (int i = 0; i < count; i++)
                {
                    if (!reader.TryBytes(8, out ReadOnlySpan<byte> entry)
                        || !XsPermission.TryParse([entry[0], (byte)'0'], out XsPermission letter))
                    {
                        return false;
                    }
                    perms[i] = letter with { Domid = BinaryPrimitives.ReadUInt32LittleEndian(entry[4..]) };
                }
                if (!reader.TryString(out string path) || !reader.TryBlob(out byte[] value))
                {
                    return false;
                }
                journal.NodeWritten(path, value, perms);
                return true;
            }
            case StateRecordType.NodeRemoved:
            {
                if (!reader.TryString(out string path))
                {
                    return false;
                }
                journal.NodeRemoved(path);
                return true;
            }
            case StateRecordType.Domain:
            {
                if (!reader.TryUInt32(out uint domid) || !reader.TryUInt32(out uint flags) || !reader.TryUInt64(out ulong gfn)
                    || !reader.TryUInt32(out uint port) || !reader.TryUInt32(out uint target)
                    || !reader.TryUInt32(out uint features) || !reader.TryUInt32(out uint overrides) || overrides > 64)
                {
                    return false;
                }
                var quotas = new Dictionary<Quota, long>();
                for (int i = 0; i < overrides; i++)
                {
                    if (!reader.TryUInt32(out uint quota) || !reader.TryUInt64(out ulong value) || !Enum.IsDefined((Quota)quota))
                    {
                        return false;
                    }
                    quotas[(Quota)quota] = (long)value;
                }
                journal.DomainWritten(new DomainRecord(domid, (flags & 1) != 0, gfn, port, (flags & 2) != 0,
                    (flags & 4) != 0 ? target : null, (XsServerFeatures)features, quotas));
                return true;
            }
            case StateRecordType.DomainRemoved:
            {
                if (!reader.TryUInt32(out uint domid))
                {
                    return false;
                }
                journal.DomainRemoved(domid);
                return true;
            }
            case StateRecordType.GlobalQuota:
            {
                if (!reader.TryUInt32(out uint quota) || !reader.TryUInt64(out ulong value) || !Enum.IsDefined((Quota)quota))
                {
                    return false;
                }
                journal.GlobalQuotaWritten((Quota)quota, (long)value);
                return true;
            }
            case StateRecordType.RingWatch:
            {
                if (!reader.TryUInt32(out uint domid) || !reader.TryUInt32(out uint flags) || flags > 1
                    || !reader.TryUInt32(out uint depth) || (depth > int.MaxValue && depth != uint.MaxValue)
                    || !reader.TryString(out string path) || !reader.TryText(out string token))
                {
                    return false;
                }
                journal.RingWatchAdded(domid, new WatchRecord(path, token, (flags & 1) != 0, (int)depth));
                return true;
            }
            case StateRecordType.RingWatchRemoved:
            {
                if (!reader.TryUInt32(out uint domid) || !reader.TryString(out string path) || !reader.TryText(out string token))
                {
                    return false;
                }
                journal.RingWatchRemoved(domid, path, token);
                return true;
            }
            case StateRecordType.RingTransaction:
            case StateRecordType.RingTransactionEnded:
            {
                if (!reader.TryUInt32(out uint domid) || !reader.TryUInt32(out uint transactionId) || transactionId == 0)
                {
                    return false;
                }
                if (type == StateRecordType.RingTransaction)
                {
                    journal.RingTransactionOpened(domid, transactionId);
                }
                else
                {
                    journal.RingTransactionEnded(domid, transactionId);
                }
                return true;
            }
            case StateRecordType.RingCleared:
            {
                if (!reader.TryUInt32(out uint domid))
                {
                    return false;
                }
                journal.RingConnectionCleared(domid);
                return true;
            }
            default:
                return false;
        }
    }

    private ref struct BodyReader(ReadOnlySpan<byte> body)
    {
        private ReadOnlySpan<byte> _rest = body;

        public bool TryUInt32(out uint value)
        {
            value = 0;
            if (_rest.Length < 4)
            {
                return false;
            }
            value = BinaryPrimitives.ReadUInt32LittleEndian(_rest);
            _rest = _rest[4..];
            return true;
        }

        public bool TryUInt64(out ulong value)
        {
            value = 0;
            if (_rest.Length < 8)
            {
                return false;
            }
            value = BinaryPrimitives.ReadUInt64LittleEndian(_rest);
            _rest = _rest[8..];
            return true;
        }

        public bool TryBytes(int count, out ReadOnlySpan<byte> bytes)
        {
            bytes = default;
            if (count < 0 || _rest.Length < count)
            {
                return false;
            }
            bytes = _rest[..count];
            _rest = _rest[count..];
            return true;
        }

        public bool TryBlob(out byte[] value)
        {
            value = [];
            if (!TryUInt32(out uint length) || !TryBytes((int)Math.Min(length, int.MaxValue), out ReadOnlySpan<byte> bytes))
            {
                return false;
            }
            value = bytes.ToArray();
            return true;
        }

        /// <summary>Any bytes, as Latin-1 text (a watch token).</summary>
        public bool TryText(out string text)
        {
            text = "";
            if (!TryBlob(out byte[] bytes))
            {
                return false;
            }
            text = Encoding.Latin1.GetString(bytes);
            return true;
        }

        /// <summary>A path: absolute or special.</summary>
        public bool TryString(out string text)
        {
            text = "";
            if (!TryBlob(out byte[] bytes))
            {
                return false;
            }
            text = Encoding.Latin1.GetString(bytes);
            ReadOnlySpan<byte> raw = bytes;
            XsPathKind kind = XsPath.Classify(raw);
            return kind is XsPathKind.Absolute or XsPathKind.Special;
        }
    }
}
