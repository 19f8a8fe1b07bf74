namespace Xenstore.Xenbus.Mux;

/// <summary>
/// What the upstream connection may hold at once. The daemon counts outstanding requests, transactions and watches
/// per connection (per domain for a guest), so xenbusd keeps within them and queues the excess locally. 0 means
/// unlimited (transactions, watches).
/// </summary>
internal sealed record Limits(int InFlight, int Transactions, int Watches)
{
    /// <summary>C 4.22's defaults for an unprivileged domain; dom0 has none of these quotas.</summary>
    public static Limits For(XenbusSettings settings)
    {
        bool privileged = settings.Domain == 0;
        int inFlight = settings.Serialize ? 1 : settings.MaxInFlight ?? (privileged ? 256 : 20);
        return new Limits(
            inFlight,
            settings.MaxTransactions ?? (privileged ? 0 : 10),
            settings.MaxWatches ?? (privileged ? 0 : 128));
    }
}
