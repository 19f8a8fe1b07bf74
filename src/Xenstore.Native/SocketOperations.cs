using System.Runtime.InteropServices;

namespace Xenstore.Native;

/// <summary>One non-blocking send or receive (<see cref="IoUring.OpSend"/>, <see cref="IoUring.OpRecv"/>) of a pinned buffer.</summary>
internal readonly record struct SocketOperation(byte Opcode, int Descriptor, nint Address, int Length);

/// <summary>
/// Carries out a set of socket sends and receives: through io_uring in submissions of at most the ring's capacity,
/// or, without a ring or for a single operation (where a submission saves nothing), one plain call each. Nothing
/// waits (MSG_DONTWAIT: a socket with nothing to read or no room reports EAGAIN) and a peer that went away never
/// raises SIGPIPE. The daemon and the load generator both use it.
/// </summary>
internal static class SocketOperations
{
    /// <summary>Fills <paramref name="results"/> with each operation's bytes, or its negated errno.</summary>
    public static unsafe void Run(IoUring? ring, ReadOnlySpan<SocketOperation> operations, Span<int> results)
    {
        if (ring is null || operations.Length == 1)
        {
            for (int i = 0; i < operations.Length; i++)
            {
                SocketOperation operation = operations[i];
                nint result = operation.Opcode == IoUring.OpRecv
                    ? Libc.Receive(operation.Descriptor, (byte*)operation.Address, operation.Length, Flags(operation.Opcode))
                    : Libc.Send(operation.Descriptor, (byte*)operation.Address, operation.Length, Flags(operation.Opcode));
                results[i] = result < 0 ? -Marshal.GetLastPInvokeError() : (int)result;
            }
            return;
        }
        for (int start = 0; start < operations.Length; start += (int)ring.Capacity)
        {
            int end = Math.Min(operations.Length, start + (int)ring.Capacity);
            for (int i = start; i < end; i++)
            {
                SocketOperation operation = operations[i];
                ring.Prepare(operation.Opcode, operation.Descriptor, (byte*)operation.Address, operation.Length,
                    Flags(operation.Opcode), (ulong)i);
            }
            ring.SubmitAndWait(end - start);
            while (ring.TryReap(out ulong index, out int result))
            {
                results[(int)index] = result;
            }
        }
    }

    private static int Flags(byte opcode) =>
        opcode == IoUring.OpRecv ? Libc.MsgDontWait : Libc.MsgDontWait | Libc.MsgNoSignal;
}
