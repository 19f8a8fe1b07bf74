using System.Collections.Concurrent;
using Xenstore.Store;

namespace Xenstore.Server.Pipeline;

/// <summary>
/// Work for the store thread from other threads: guest ring requests, connections opening and closing, actions
/// (queries, live update steps). Posting wakes the store thread once per batch, not once per item.
/// </summary>
internal sealed class WorkQueue(DescriptorWatcher watcher)
{
    private readonly ConcurrentQueue<StoreWork> _queue = new();
    private int _signalled;

    public void Post(StoreWork work)
    {
        _queue.Enqueue(work);
        // Wake the store thread only if it may be asleep: one wake-up per batch, not per item.
        if (Interlocked.Exchange(ref _signalled, 1) == 0)
        {
            watcher.Wake();
        }
    }

    /// <summary>Runs an action on the store thread and completes with its result.</summary>
    public Task<T> InvokeAsync<T>(Func<XenstoreEngine, T> action)
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(StoreWork.Run(engine =>
        {
            try
            {
                completion.SetResult(action(engine));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                completion.SetException(e);
            }
        }));
        return completion.Task;
    }

    /// <summary>Store thread, after a wake-up: posts from now on wake it again.</summary>
    public void Woken() => Volatile.Write(ref _signalled, 0);

    public bool TryTake(out StoreWork work) => _queue.TryDequeue(out work);
}
