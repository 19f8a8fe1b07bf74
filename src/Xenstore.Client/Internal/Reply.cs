using Xenstore.Protocol;

namespace Xenstore.Client.Internal;

/// <summary>A reply as received: its type (the request's, or ERROR) and a payload the caller now owns.</summary>
internal readonly record struct Reply(XsMessageType Type, byte[] Payload);
