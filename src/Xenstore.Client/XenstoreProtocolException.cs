namespace Xenstore.Client;

/// <summary>The daemon sent something the protocol does not allow (a reply of the wrong type, a malformed payload).</summary>
public sealed class XenstoreProtocolException(string message) : XenstoreException(message);
