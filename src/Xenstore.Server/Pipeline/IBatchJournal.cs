using Xenstore.Store;

namespace Xenstore.Server.Pipeline;

/// <summary>
/// Where a batch's changes become durable: called once per batch on the store thread, after every request of the
/// batch was executed and before any of its output is published. A crash after this call loses nothing the batch
/// acknowledged; a crash before it loses only changes whose replies nobody could have seen.
/// </summary>
internal interface IBatchJournal
{
    void Append(XenstoreEngine engine);
}

/// <summary>The journal of a daemon without a state directory: the state lives in memory only.</summary>
internal sealed class InMemoryOnly : IBatchJournal
{
    public static readonly InMemoryOnly Instance = new();

    public void Append(XenstoreEngine engine)
    {
    }
}
