namespace Xenstore.Server.Reactor;

/// <summary>What a <see cref="SocketIoBatch"/> reports to: a connection whose sends and receives it carries out.</summary>
internal interface ISocketIoTarget
{
    /// <summary>False once the connection closed: its queued operations are dropped, its descriptor may be reused.</summary>
    bool IsOpen { get; }

    /// <summary>A receive finished: bytes received (0 at end of stream) or a negated errno.</summary>
    void ReceiveCompleted(int result);

    /// <summary>A send finished: bytes sent or a negated errno.</summary>
    void SendCompleted(int result);
}
