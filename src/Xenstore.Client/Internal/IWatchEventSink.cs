namespace Xenstore.Client.Internal;

/// <summary>Receives WATCH_EVENT payloads on the reader loop; must return at once and never run user code.</summary>
internal interface IWatchEventSink
{
    void OnWatchEvent(ReadOnlySpan<byte> payload);
}
