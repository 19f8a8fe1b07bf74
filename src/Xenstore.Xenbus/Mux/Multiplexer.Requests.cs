using Xenstore.Protocol;
using Xenstore.Xenbus.Clients;

namespace Xenstore.Xenbus.Mux;

internal enum StepResult
{
    /// <summary>One request went upstream; the client may have more.</summary>
    Sent,

    /// <summary>Nothing left to dispatch.</summary>
    Drained,

    /// <summary>The next request waits for a limit or a barrier of its own.</summary>
    Parked,

    /// <summary>The next request needs the upstream, which is full.</summary>
    Stalled,
}

internal sealed partial class Multiplexer
{
    public void OnClientRequest(ClientConnection connection, XsHeader header, byte[] payload)
    {
        if (!_clients.TryGetValue(connection, out ClientState? client) || client.Closed)
        {
            return;
        }
        client.Waiting.Enqueue((header, payload));
        if (!client.Parked)
        {
            Schedule(client);
        }
    }

    /// <summary>
    /// Dispatches the client's requests in order: those answered here (a foreign transaction, a malformed END or
    /// WATCH, RESET_WATCHES, a transaction the daemon forgot) at once, until one goes upstream.
    /// </summary>
    private StepResult Step(ClientState client)
    {
        while (client.Waiting.TryPeek(out (XsHeader Header, byte[] Payload) next))
        {
            (XsHeader header, byte[] payload) = next;
            uint upstreamTx = 0;
            TransactionEntry? transaction = null;
            if (header.TxId != 0)
            {
                if (!client.Transactions.TryGetValue(header.TxId, out transaction))
                {
                    // Not one of this client's: the daemon would not know it on this client's own connection either.
                    client.Waiting.Dequeue();
                    Answer(client, Messages.Error(header, XsError.ENOENT));
                    continue;
                }
                if (transaction.Session != _session)
                {
                    client.Waiting.Dequeue();
                    Answer(client, AnswerForgottenTransaction(client, transaction, header, payload));
                    continue;
                }
                upstreamTx = transaction.UpstreamId;
            }
            switch (header.Type)
            {
                case XsMessageType.ResetWatches:
                    if (client.InFlight > 0)
                    {
                        // A barrier: the requests before it must have reached the daemon's state first.
                        client.Parked = true;
                        return StepResult.Parked;
                    }
                    client.Waiting.Dequeue();
                    ResetClient(client);
                    Answer(client, Messages.Ok(header));
                    continue;
                case XsMessageType.TransactionEnd when transaction is not null && !IsEndArgument(payload):
                    // The daemon refuses it without ending the transaction; so do we, before it is marked ending.
                    client.Waiting.Dequeue();
                    Answer(client, Messages.Error(header, XsError.EINVAL));
                    continue;
                case XsMessageType.Watch or XsMessageType.Unwatch:
                    if (!Messages.TrySplitPathToken(payload, out byte[] path, out byte[] token, out byte[] tail))
                    {
                        client.Waiting.Dequeue();
                        Answer(client, Messages.Error(header, XsError.EINVAL));
                        continue;
                    }
                    byte[] upstreamToken = [.. client.TokenPrefix, .. token];
                    byte[] rewritten = Messages.JoinPathToken(path, upstreamToken, tail);
                    if (rewritten.Length > XsConstants.PayloadMax)
                    {
                        client.Waiting.Dequeue();
                        Answer(client, Messages.Error(header, XsError.E2BIG));
                        continue;
                    }
                    var watch = new WatchEntry(path, token, upstreamToken, tail);
                    if (header.Type == XsMessageType.Watch && !AdmitWatch())
                    {
                        client.Parked = true;
                        return StepResult.Parked;
                    }
                    if (!CanSend)
                    {
                        return StepResult.Stalled;
                    }
                    client.Waiting.Dequeue();
                    Dispatch(client, header, upstreamTx, rewritten, watch: watch);
                    return StepResult.Sent;
                case XsMessageType.TransactionStart when header.TxId == 0:
                    if (!AdmitTransaction(client))
                    {
                        client.Parked = true;
                        return StepResult.Parked;
                    }
                    if (!CanSend)
                    {
                        return StepResult.Stalled;
                    }
                    client.Waiting.Dequeue();
                    Dispatch(client, header, upstreamTx, payload);
                    return StepResult.Sent;
                default:
                    if (!CanSend)
                    {
                        return StepResult.Stalled;
                    }
                    client.Waiting.Dequeue();
                    if (header.Type == XsMessageType.TransactionEnd && transaction is not null)
                    {
                        transaction.Ending = true;
                    }
                    Dispatch(client, header, upstreamTx, payload,
                        transaction: header.Type == XsMessageType.TransactionEnd ? transaction : null);
                    return StepResult.Sent;
            }
        }
        return StepResult.Drained;
    }

    private void Dispatch(ClientState client, XsHeader header, uint upstreamTx, byte[] payload,
        TransactionEntry? transaction = null, WatchEntry? watch = null)
    {
        client.ParkedSince = -1;
        var slot = new ReplySlot();
        client.Slots.Enqueue(slot);
        client.InFlight++;
        var request = new InFlightRequest
        {
            Client = client,
            Original = header,
            Type = header.Type,
            UpstreamTx = upstreamTx,
            Payload = payload,
            Slot = slot,
            Transaction = transaction,
            Watch = watch,
        };
        CountAtSend(request);
        Transmit(request);
    }

    /// <summary>Takes a place under the transaction or watch limit for a START or WATCH about to go upstream.</summary>
    private void CountAtSend(InFlightRequest request)
    {
        if (request.Type == XsMessageType.TransactionStart && request.UpstreamTx == 0)
        {
            _openTransactions++;
            request.Counted = true;
            if (request.Client is { } client)
            {
                client.StartsInFlight++;
            }
        }
        else if (request.Type == XsMessageType.Watch)
        {
            _watches++;
            request.Counted = true;
        }
        else if (request.Type == XsMessageType.Unwatch)
        {
            _unwatchesInFlight++;
        }
    }

    /// <summary>END's argument is exactly <c>T\0</c> or <c>F\0</c>.</summary>
    private static bool IsEndArgument(ReadOnlySpan<byte> payload) =>
        payload.SequenceEqual("T\0"u8) || payload.SequenceEqual("F\0"u8);

    /// <summary>
    /// A transaction of an earlier upstream session (the daemon restarted or the link was re-opened): a commit is a
    /// conflict to retry (EAGAIN), an abort succeeds, anything else in it fails with EAGAIN so that the client
    /// retries the whole transaction.
    /// </summary>
    private static byte[] AnswerForgottenTransaction(ClientState client, TransactionEntry transaction, XsHeader header, byte[] payload)
    {
        if (header.Type != XsMessageType.TransactionEnd)
        {
            return Messages.Error(header, XsError.EAGAIN);
        }
        if (!IsEndArgument(payload))
        {
            return Messages.Error(header, XsError.EINVAL);
        }
        client.Transactions.Remove(transaction.ClientId);
        return payload[0] == (byte)'T' ? Messages.Error(header, XsError.EAGAIN) : Messages.Ok(header);
    }

    /// <summary>
    /// A START may go upstream when the transaction limit allows it. When other clients hold the open transactions,
    /// it waits for one of them to end (they do, being short-lived), up to the admission wait; when this client
    /// holds them all, or the wait is over, it goes anyway and the daemon's own answer (ENOSPC) comes back.
    /// </summary>
    private bool AdmitTransaction(ClientState client)
    {
        if (_limits.Transactions == 0 || _openTransactions < _limits.Transactions)
        {
            return true;
        }
        int own = client.StartsInFlight;
        foreach (TransactionEntry entry in client.Transactions.Values)
        {
            if (entry.Session == _session)
            {
                own++;
            }
        }
        if (own >= _openTransactions)
        {
            return true;
        }
        if (client.ParkedSince < 0)
        {
            client.ParkedSince = Now;
        }
        return Now - client.ParkedSince >= (long)_settings.AdmissionWait.TotalMilliseconds;
    }

    /// <summary>
    /// A WATCH may go upstream when the watch limit allows it, or waits while watches being removed will free a place;
    /// otherwise it goes and the daemon's own answer comes back.
    /// </summary>
    private bool AdmitWatch()
    {
        int limit = _limits.Watches == 0 ? 0 : _limits.Watches - (ProbeEnabled ? 2 : 0);
        return limit <= 0 || _watches < limit || _unwatchesInFlight == 0;
    }

    /// <summary>RESET_WATCHES for one client: its watches and transactions go, nobody else's.</summary>
    private void ResetClient(ClientState client)
    {
        foreach (TransactionEntry entry in client.Transactions.Values)
        {
            if (entry.Session == _session && !entry.Ending)
            {
                SendInternal(InternalPurpose.Cleanup, XsMessageType.TransactionEnd, entry.UpstreamId, "F\0"u8.ToArray(),
                    transaction: entry, counted: true);
            }
        }
        client.Transactions.Clear();
        foreach (WatchEntry watch in client.Watches)
        {
            if (watch.Session == _session)
            {
                _unwatchesInFlight++;
                SendInternal(InternalPurpose.Cleanup, XsMessageType.Unwatch, 0, watch.UnregisterPayload(), watch: watch, counted: true);
            }
        }
        client.Watches.Clear();
    }

    /// <summary>A client went away: what it left open upstream is ended and removed, nothing else is touched.</summary>
    public void OnClientClosed(ClientConnection connection)
    {
        if (!_clients.Remove(connection, out ClientState? client))
        {
            return;
        }
        _clientsById.Remove(client.Id);
        client.Closed = true;
        client.Waiting.Clear();
        client.Slots.Clear();
        ResetClient(client);
        RescheduleParked();
    }
}
