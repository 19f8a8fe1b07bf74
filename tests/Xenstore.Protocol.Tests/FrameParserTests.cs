using CsCheck;
using Xenstore.Protocol;

namespace Xenstore.Protocol.Tests;

public sealed class FrameParserTests
{
    [Fact]
    public void TryParse_ShortHeader_NeedsMoreData()
    {
        Assert.Equal(FrameStatus.NeedMoreData, FrameParser.TryParse(new byte[15], out _, out _));
    }

    [Fact]
    public void TryParse_PayloadOverMax_IsTooLarge()
    {
        var buffer = new byte[16];
        new XsHeader(XsMessageType.Read, 1, 0, 4097).Write(buffer);
        Assert.Equal(FrameStatus.TooLarge, FrameParser.TryParse(buffer, out _, out _));
        new XsHeader(XsMessageType.Read, 1, 0, uint.MaxValue).Write(buffer);
        Assert.Equal(FrameStatus.TooLarge, FrameParser.TryParse(buffer, out _, out _));
    }

    [Fact]
    public void TryParse_ExactlyMaxPayload_IsComplete()
    {
        var buffer = new byte[16 + 4096];
        new XsHeader(XsMessageType.Write, 7, 3, 4096).Write(buffer);
        Assert.Equal(FrameStatus.Complete, FrameParser.TryParse(buffer, out XsHeader header, out int length));
        Assert.Equal(16 + 4096, length);
        Assert.Equal(new XsHeader(XsMessageType.Write, 7, 3, 4096), header);
    }

    [Fact]
    public void TryParse_AnySplit_ResumesToSameFrames()
    {
        Gen.Select(Gen.Byte.Array[0, 300], Gen.Int[1, 64]).Sample((payload, chunk) =>
        {
            var stream = new byte[2 * (16 + payload.Length)];
            int first = FrameParser.Write(stream, XsMessageType.Write, 1, 0, payload);
            FrameParser.Write(stream.AsSpan(first), XsMessageType.Read, 2, 9, payload);
            var pending = new List<byte>();
            var seen = new List<(XsHeader, byte[])>();
            for (int offset = 0; offset < stream.Length; offset += chunk)
            {
                pending.AddRange(stream.AsSpan(offset, Math.Min(chunk, stream.Length - offset)).ToArray());
                while (FrameParser.TryParse(pending.ToArray(), out XsHeader h, out int len) == FrameStatus.Complete)
                {
                    seen.Add((h, pending.GetRange(16, len - 16).ToArray()));
                    pending.RemoveRange(0, len);
                }
            }
            Assert.Equal(2, seen.Count);
            Assert.Equal(2u, seen[1].Item1.ReqId);
            Assert.Equal(9u, seen[1].Item1.TxId);
            Assert.Equal(payload, seen[0].Item2);
            Assert.Empty(pending);
        });
    }

    [Theory]
    [InlineData("EACCES\0", XsError.EACCES)]
    [InlineData("EPERM\0", XsError.EPERM)]
    [InlineData("EQUOTA\0", XsError.EINVAL)]
    [InlineData("", XsError.EINVAL)]
    public void ErrorsParse_MapsNames(string wire, XsError expected)
    {
        Assert.Equal(expected, XsErrors.Parse(System.Text.Encoding.ASCII.GetBytes(wire)));
    }

    [Fact]
    public void ErrorWireName_RoundTrips()
    {
        foreach (XsError e in Enum.GetValues<XsError>().Where(e => e != XsError.None))
        {
            Assert.Equal(e, XsErrors.Parse(XsErrors.WireName(e)));
        }
    }
}
