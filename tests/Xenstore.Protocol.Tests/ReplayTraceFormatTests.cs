using CsCheck;
using Xenstore.Protocol.Trace;

namespace Xenstore.Protocol.Tests;

public sealed class ReplayTraceFormatTests
{
    [Fact]
    public void Message_RoundTripsEveryByteAndHeaderField()
    {
        Gen.Select(Gen.Byte.Array[0, 300], Gen.UInt, Gen.UInt, Gen.UInt[0, 40], Gen.Long[0, long.MaxValue], Gen.Int[0, int.MaxValue], Gen.Bool)
            .Sample((payload, reqId, txId, type, microseconds, connection, inbound) =>
            {
                var header = new XsHeader((XsMessageType)type, reqId, txId, (uint)payload.Length);
                var record = ReplayRecord.Message(microseconds, connection, inbound ? ReplayEvent.In : ReplayEvent.Out, header, payload);
                string line = ReplayTraceFormat.Format(record);
                Assert.DoesNotContain('\n', line);
                Assert.True(line.All(c => c is >= ' ' and <= '~'), line);
                Assert.True(ReplayTraceFormat.TryParse(line, out ReplayRecord? back, out string? error), error);
                Assert.Equal(record.Event, back!.Event);
                Assert.Equal((record.Microseconds, record.Connection, header), (back.Microseconds, back.Connection, back.Header));
                Assert.Equal(payload, back.Payload);
            });
    }

    [Fact]
    public void OpenAndClose_RoundTrip_AndTypesAreCNames()
    {
        Assert.Equal("replay: 12 3 open ring d5", ReplayTraceFormat.Format(new ReplayRecord(12, 3, ReplayEvent.Open, true, 5, default, [])));
        Assert.True(ReplayTraceFormat.TryParse("replay: 12 3 open socket d0", out ReplayRecord? open, out _));
        Assert.Equal((ReplayEvent.Open, false, 0u), (open!.Event, open.Ring, open.Domid));
        Assert.True(ReplayTraceFormat.TryParse("replay: 14 3 close", out ReplayRecord? close, out _));
        Assert.Equal(ReplayEvent.Close, close!.Event);
        Assert.Equal("replay: 1 2 in GET_DOMAIN_PATH 7 0 \"5\\0\"", ReplayTraceFormat.Format(ReplayRecord.Message(1, 2, ReplayEvent.In,
            new XsHeader(XsMessageType.GetDomainPath, 7, 0, 2), "5\0"u8.ToArray())));
        Assert.Equal("replay: 1 2 in 999 7 0 \"\"", ReplayTraceFormat.Format(ReplayRecord.Message(1, 2, ReplayEvent.In,
            new XsHeader((XsMessageType)999, 7, 0, 0), [])));
    }

    [Theory]
    [InlineData("io: IN 0x1 (d0) 20261204 16:41:02 READ (/local )", null)]
    [InlineData("replay: x 3 close", "expected: replay: MICROSECONDS CONNECTION EVENT ...")]
    [InlineData("replay: 1 3 open pipe d0", "unknown or incomplete event 'open'")]
    [InlineData("replay: 1 3 in READ 1 0 /a", "bad payload (expected a quoted, escaped string)")]
    [InlineData("replay: 1 3 in READ 1 0 \"\\q\"", "bad payload (expected a quoted, escaped string)")]
    [InlineData("replay: 1 3 in READ 1 0 \"\\x4\"", "bad payload (expected a quoted, escaped string)")]
    [InlineData("replay: 1 3 in REED 1 0 \"\"", "bad type, request id or transaction id in 'in' record")]
    [InlineData("replay: 1 3 in READ -1 0 \"\"", "bad type, request id or transaction id in 'in' record")]
    public void OtherLines_AreSkippedAndDamagedRecordsSaySo(string line, string? expectedError)
    {
        Assert.False(ReplayTraceFormat.TryParse(line, out ReplayRecord? record, out string? error));
        Assert.Null(record);
        Assert.Equal(expectedError, error);
    }
}
