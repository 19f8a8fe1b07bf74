using Xenstore.Protocol;

namespace Xenstore.Xenbus.Mux;

internal sealed partial class Multiplexer
{
    public void OnUpstreamMessage(int link, XsHeader header, byte[] message)
    {
        if (link != _link || !_up)
        {
            return;
        }
        _lastUpstreamActivity = Now;
        if (header.Type == XsMessageType.WatchEvent)
        {
            RouteEvent(header, message);
            return;
        }
        if (!_inFlight.Remove(header.ReqId, out InFlightRequest? request))
        {
            Log.UnknownReply(_logger, header.ReqId);
            return;
        }
        bool failed = header.Type == XsMessageType.Error;
        XsError error = failed ? XsErrors.Parse(message) : XsError.None;
        if (request.Type == XsMessageType.Unwatch && _unwatchesInFlight > 0)
        {
            _unwatchesInFlight--;
        }
        switch (request.Purpose)
        {
            case InternalPurpose.Probe:
                OnProbeReply(request, failed, error);
                return;
            case InternalPurpose.Anchor:
                OnAnchorReply(request, failed);
                return;
            case InternalPurpose.Cleanup:
                OnCleanupReply(request);
                RescheduleParked();
                return;
            case InternalPurpose.Reregister:
                if (failed && error != XsError.EEXIST)
                {
                    Log.ReregisterFailed(_logger, XsErrors.Name(error));
                    _watches--;
                    foreach (ClientState owner in _clients.Values)
                    {
                        owner.Watches.Remove(request.Watch!);
                    }
                }
                return;
            default:
                break;
        }
        ClientState client = request.Client!;
        client.InFlight--;
        byte[] payload = message;
        XsMessageType type = header.Type;
        switch (request.Type)
        {
            case XsMessageType.TransactionStart when request.Counted:
                client.StartsInFlight--;
                if (failed || !Messages.TryParseNumber(payload, out uint upstreamId))
                {
                    _openTransactions--;
                    RescheduleParked();
                    break;
                }
                if (client.Closed)
                {
                    // The client went while its START was on its way: the transaction is nobody's, end it.
                    var orphan = new TransactionEntry(0, upstreamId, _session);
                    SendInternal(InternalPurpose.Cleanup, XsMessageType.TransactionEnd, upstreamId, "F\0"u8.ToArray(), transaction: orphan);
                    break;
                }
                uint clientId = client.NextTransactionId();
                client.Transactions[clientId] = new TransactionEntry(clientId, upstreamId, _session);
                payload = Messages.Number(clientId);
                break;
            case XsMessageType.TransactionEnd when request.Transaction is { } ending:
                if (client.Transactions.TryGetValue(ending.ClientId, out TransactionEntry? current) && current == ending)
                {
                    client.Transactions.Remove(ending.ClientId);
                }
                if (ending.Session == _session)
                {
                    _openTransactions--;
                    RescheduleParked();
                }
                if (error == XsError.ENOENT)
                {
                    // The daemon dropped it behind the client's back (a forced live update): a commit is a
                    // conflict to retry, an abort has nothing left to undo.
                    bool commit = request.Payload.AsSpan().SequenceEqual("T\0"u8);
                    type = commit ? XsMessageType.Error : XsMessageType.TransactionEnd;
                    payload = commit ? XsErrors.WireName(XsError.EAGAIN).ToArray() : XsConstants.Ok.ToArray();
                }
                break;
            case XsMessageType.Watch:
                WatchEntry watch = request.Watch!;
                if (failed)
                {
                    _watches--;
                    RescheduleParked();
                    break;
                }
                watch.Session = _session;
                if (client.Closed)
                {
                    _unwatchesInFlight++;
                    SendInternal(InternalPurpose.Cleanup, XsMessageType.Unwatch, 0, watch.UnregisterPayload(), watch: watch);
                    break;
                }
                client.Watches.Add(watch);
                break;
            case XsMessageType.Unwatch:
                if (!failed)
                {
                    WatchEntry named = request.Watch!;
                    int index = client.Watches.FindIndex(w => w.Matches(named.Path, named.UpstreamToken, _settings.Domain));
                    if (index >= 0)
                    {
                        if (client.Watches[index].Session == _session)
                        {
                            _watches--;
                        }
                        client.Watches.RemoveAt(index);
                    }
                }
                RescheduleParked();
                break;
            default:
                break;
        }
        if (client.InFlight == 0)
        {
            RescheduleParked();
        }
        if (client.Closed)
        {
            return;
        }
        uint txId = header.TxId == request.UpstreamTx ? request.Original.TxId : header.TxId;
        Fill(client, request.Slot!, Messages.Build(type, request.Original.ReqId, txId, payload));
    }

    private void OnCleanupReply(InFlightRequest request)
    {
        if (request.Type == XsMessageType.TransactionEnd && request.Transaction is { } ended && ended.Session == _session)
        {
            _openTransactions--;
        }
        else if (request.Type == XsMessageType.Unwatch && request.Watch is { } removed && removed.Session == _session)
        {
            _watches--;
        }
    }

    /// <summary>
    /// A watch event goes to the client whose number prefixes the token, with the client's own token, if that
    /// client still has the watch; anything else (xenbusd's probe, a watch being removed) is dropped.
    /// </summary>
    private void RouteEvent(XsHeader header, byte[] payload)
    {
        if (!Messages.TrySplitPathToken(payload, out byte[] path, out byte[] token, out byte[] tail))
        {
            return;
        }
        int colon = Array.IndexOf(token, (byte)':');
        if (colon <= 0 || !int.TryParse(token.AsSpan(0, colon), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out int clientId)
            || !_clientsById.TryGetValue(clientId, out ClientState? client))
        {
            return;
        }
        bool watched = false;
        foreach (WatchEntry watch in client.Watches)
        {
            if (watch.UpstreamToken.AsSpan().SequenceEqual(token))
            {
                watched = true;
                break;
            }
        }
        if (!watched)
        {
            return;
        }
        client.Connection.Send(Messages.Build(XsMessageType.WatchEvent, header.ReqId, header.TxId,
            Messages.JoinPathToken(path, token.AsSpan(colon + 1), tail)));
    }
}
