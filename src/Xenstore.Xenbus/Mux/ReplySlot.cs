namespace Xenstore.Xenbus.Mux;

/// <summary>
/// A client's place in its own reply order: taken when a request is dispatched, filled by the upstream reply or a
/// local answer. Replies leave in slot order, so a client sees them in the order it asked.
/// </summary>
internal sealed class ReplySlot
{
    public byte[]? Message { get; set; }
}
