using Xenstore.Protocol;

namespace Xenstore.Client.Internal;

/// <summary>
/// One request between its caller and the I/O loops. Ownership moves by compare-and-swap on <see cref="State"/>,
/// so exactly one party releases its in-flight slot and a late reply is recognised (the lesson of Linux's xenbus
/// request lifetime bugs: two owners need an explicit protocol).
/// </summary>
internal sealed class PendingRequest
{
    /// <summary>In the outbox; the caller may still withdraw it.</summary>
    public const int Queued = 0;
    /// <summary>Taken by the writer: it is (being) written, a reply will come.</summary>
    public const int Sent = 1;
    /// <summary>The reader (or a connection failure) completed it.</summary>
    public const int Completed = 2;
    /// <summary>The caller gave up; the reader absorbs the reply when it comes.</summary>
    public const int Abandoned = 3;

    private readonly TaskCompletionSource<Reply> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PendingRequest(uint reqId, XsMessageType type, byte[] frame, bool holdsSlot)
    {
        ReqId = reqId;
        Type = type;
        Frame = frame;
        HoldsSlot = holdsSlot;
    }

    public int State;

    public uint ReqId { get; }

    public XsMessageType Type { get; }

    /// <summary>Header and payload, ready to write.</summary>
    public byte[] Frame { get; }

    /// <summary>False for requests the client sends on its own (the abort after a late TRANSACTION_START).</summary>
    public bool HoldsSlot { get; }

    public Task<Reply> Task => _completion.Task;

    public bool TryMove(int from, int to) => Interlocked.CompareExchange(ref State, to, from) == from;

    // The reply is fully built before completion publishes it (Linux 2020: state seen before body).
    public void Complete(Reply reply) => _completion.TrySetResult(reply);

    public void Fail(Exception error) => _completion.TrySetException(error);
}
