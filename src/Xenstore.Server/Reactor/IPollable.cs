namespace Xenstore.Server.Reactor;

/// <summary>Something the store thread's epoll loop watches: a listening socket or a client socket.</summary>
internal interface IPollable
{
    /// <summary>Called on the store thread with the epoll events that are ready.</summary>
    void OnReady(uint events);
}
