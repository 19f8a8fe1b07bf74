using Xenstore.Protocol;

namespace Xenstore.Benchmarks.Operations;

/// <summary>Framing, path and permission handling of the protocol library, one call each.</summary>
public sealed class ProtocolOperations
{
    private readonly byte[] _frame = new byte[XsConstants.HeaderSize + XsConstants.PayloadMax];
    private readonly byte[] _output = new byte[XsConstants.HeaderSize + XsConstants.PayloadMax];
    private readonly byte[] _readPayload = "/local/domain/7/device/vif/0/state\0"u8.ToArray();
    private readonly byte[] _absolutePath = "/local/domain/7/device/vif/0/state"u8.ToArray();
    private readonly byte[] _relativePath = "device/vif/0/state"u8.ToArray();
    private readonly byte[] _permission = "r12345"u8.ToArray();
    private readonly byte[] _permissionList = "n0\0r5\0w7\0b12\0"u8.ToArray();
    private readonly int _frameLength;

    public ProtocolOperations()
    {
        _frameLength = FrameParser.Write(_frame, XsMessageType.Read, 42, 0, _readPayload);
    }

    /// <summary>Finds one complete READ request in a buffer.</summary>
    public int ParseFrame()
    {
        FrameParser.TryParse(_frame.AsSpan(0, _frameLength), out XsHeader header, out int length);
        return length + (int)header.ReqId;
    }

    public uint ReadHeader() => XsHeader.Read(_frame).ReqId;

    public int WriteFrame() => FrameParser.Write(_output, XsMessageType.Read, 42, 0, _readPayload);

    public XsPathKind ClassifyPath() => XsPath.Classify(_absolutePath);

    /// <summary>A relative path made absolute under the domain's home (allocates the canonical string).</summary>
    public string CanonicalizeRelative() => XsPath.Canonicalize(_relativePath, XsPathKind.Relative, 7);

    public string CanonicalizeAbsolute() => XsPath.Canonicalize(_absolutePath, XsPathKind.Absolute, 7);

    public uint ParsePermission()
    {
        return XsPermission.TryParse(_permission, out XsPermission permission) ? permission.Domid : uint.MaxValue;
    }

    public int ParsePermissionList() => XsPermission.TryParseList(_permissionList)!.Length;
}
