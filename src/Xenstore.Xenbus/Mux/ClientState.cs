using Xenstore.Protocol;
using Xenstore.Xenbus.Clients;

namespace Xenstore.Xenbus.Mux;

/// <summary>What the multiplexer knows of one client; touched only by the multiplexer's loop.</summary>
internal sealed class ClientState(ClientConnection connection)
{
    public ClientConnection Connection { get; } = connection;

    public int Id => Connection.Id;

    /// <summary>Requests received and not dispatched yet, in the client's order.</summary>
    public Queue<(XsHeader Header, byte[] Payload)> Waiting { get; } = new();

    /// <summary>Replies owed, in the client's order.</summary>
    public Queue<ReplySlot> Slots { get; } = new();

    /// <summary>By the id the client sees.</summary>
    public Dictionary<uint, TransactionEntry> Transactions { get; } = [];

    public List<WatchEntry> Watches { get; } = [];

    /// <summary>Upstream requests of this client not answered yet (queued for replay or sent).</summary>
    public int InFlight { get; set; }

    /// <summary>TRANSACTION_STARTs of this client on the upstream.</summary>
    public int StartsInFlight { get; set; }

    public bool Closed { get; set; }

    /// <summary>In the multiplexer's ready queue.</summary>
    public bool Scheduled { get; set; }

    /// <summary>Its next request waits for a limit or a barrier; set again free by a reschedule.</summary>
    public bool Parked { get; set; }

    /// <summary>When its current head request first had to wait for a transaction slot (ms, monotonic).</summary>
    public long ParkedSince { get; set; } = -1;

    /// <summary>The upstream token prefix: the client's number and a colon.</summary>
    public byte[] TokenPrefix { get; } = System.Text.Encoding.ASCII.GetBytes(
        connection.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":");

    private uint _lastTransactionId;

    /// <summary>As the daemon numbers a connection's transactions: from 1, skipping 0 and ids in use.</summary>
    public uint NextTransactionId()
    {
        do
        {
            _lastTransactionId++;
        }
        while (_lastTransactionId == 0 || Transactions.ContainsKey(_lastTransactionId));
        return _lastTransactionId;
    }
}
