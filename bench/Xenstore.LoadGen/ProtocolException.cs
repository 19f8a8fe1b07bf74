namespace Xenstore.LoadGen;

/// <summary>A reply that is not the one the request must get: the run fails.</summary>
internal sealed class ProtocolException(string message) : Exception(message);
