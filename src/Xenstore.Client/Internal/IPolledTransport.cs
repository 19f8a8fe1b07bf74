namespace Xenstore.Client.Internal;

/// <summary>
/// A connection to the daemon driven by its owner's poll loop (xenbusd's): no thread and no task of its own, and
/// neither reads nor writes ever wait. The owner polls <see cref="Descriptor"/> for input (and for room to write
/// when <see cref="PollsForOutput"/>), calls <see cref="OnReady"/> when it is readable, and receives until nothing is
/// left. A ring's daemon may never notify, so a ring also wants to be looked at every <see cref="LookAgainMs"/>.
/// </summary>
internal interface IPolledTransport : IDisposable
{
    /// <summary>The descriptor to poll: the socket, the device, or the ring's notification FIFO.</summary>
    int Descriptor { get; }

    /// <summary>True when a write that fell short is resumed by polling <see cref="Descriptor"/> for output.</summary>
    bool PollsForOutput { get; }

    /// <summary>How soon to look for input again without being woken; -1 when only the descriptor tells.</summary>
    int LookAgainMs { get; }

    /// <summary>The descriptor polled readable: takes what woke it (a ring's notifications).</summary>
    void OnReady();

    /// <summary>Bytes of replies and events read into <paramref name="buffer"/>; 0 when none are there now.</summary>
    /// <exception cref="IOException">The connection is lost (closed by the daemon, a broken ring).</exception>
    int Receive(Span<byte> buffer);

    /// <summary>
    /// Writes as much of <paramref name="data"/> as the connection takes now and returns how much that was. The data
    /// holds whole messages; a device takes them all, one message per write.
    /// </summary>
    /// <exception cref="IOException">The connection is lost.</exception>
    int Send(ReadOnlySpan<byte> data);
}
