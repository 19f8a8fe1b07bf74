namespace Xenstore.Server.Pipeline;

/// <summary>
/// The single thread that owns the engine. It waits in epoll on the Unix sockets, the hypervisor's event channel
/// and a wake-up for work posted from other threads, then runs one <see cref="BatchPipeline"/> batch: everything
/// that wait returned plus everything posted. Sockets and guest rings need no other thread: on a small machine
/// each hand-off between threads costs more than the request itself.
/// </summary>
internal sealed class StoreThread : IDisposable
{
    private readonly DescriptorWatcher _watcher;
    private readonly WorkQueue _queue;
    private readonly BatchPipeline _pipeline;
    private readonly Thread _thread;
    private volatile bool _stopping;

    public StoreThread(DescriptorWatcher watcher, WorkQueue queue, BatchPipeline pipeline)
    {
        _watcher = watcher;
        _queue = queue;
        _pipeline = pipeline;
        _thread = new Thread(Run) { Name = "xs-store", IsBackground = true };
    }

    public bool IsCurrent => Thread.CurrentThread == _thread;

    public void Start() => _thread.Start();

    public void Stop()
    {
        _stopping = true;
        _watcher.Wake();
        if (!IsCurrent && _thread.IsAlive)
        {
            _thread.Join();
        }
    }

    public void Dispose() => Stop();

    private void Run()
    {
        while (!_stopping)
        {
            if (_watcher.WaitAndDispatch(_pipeline.WaitMilliseconds()))
            {
                _queue.Woken();
            }
            _pipeline.RunBatch();
        }
    }
}
