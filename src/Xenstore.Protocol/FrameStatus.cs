namespace Xenstore.Protocol;

/// <summary>Outcome of looking for one complete message at the start of a buffer.</summary>
public enum FrameStatus
{
    /// <summary>A whole message (header and payload) is available.</summary>
    Complete,
    /// <summary>The buffer holds only part of a message so far.</summary>
    NeedMoreData,
    /// <summary>The header announces a payload over 4096 bytes: a protocol violation, the stream cannot continue.</summary>
    TooLarge,
}
