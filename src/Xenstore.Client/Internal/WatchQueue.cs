namespace Xenstore.Client.Internal;

/// <summary>
/// The bounded queue of one watch. The reader loop posts without ever blocking; a path already queued is not
/// queued twice (coalescing, as in Linux after XSA-349); when the queue is full it is emptied and an overflow is
/// reported first, so a slow consumer learns it must resynchronise instead of silently missing events.
/// Single consumer.
/// </summary>
internal sealed class WatchQueue
{
    private readonly object _lock = new();
    private readonly Queue<string> _paths = new();
    private readonly HashSet<string> _queued = new(StringComparer.Ordinal);
    private readonly int _capacity;
    private readonly bool _coalesce;
    private readonly ClientCounters _counters;
    private TaskCompletionSource? _waiter;
    private bool _overflowed;
    private bool _completed;
    private Exception? _error;

    public WatchQueue(int capacity, ClientCounters counters, bool coalesce = true)
    {
        _capacity = Math.Max(1, capacity);
        _coalesce = coalesce;
        _counters = counters;
    }

    public void Post(string path)
    {
        TaskCompletionSource? waiter;
        lock (_lock)
        {
            if (_completed)
            {
                return;
            }
            if (_coalesce && _queued.Contains(path))
            {
                Interlocked.Increment(ref _counters.CoalescedWatchEvents);
                return;
            }
            if (_paths.Count >= _capacity)
            {
                _paths.Clear();
                _queued.Clear();
                _overflowed = true;
                Interlocked.Increment(ref _counters.WatchOverflows);
            }
            _paths.Enqueue(path);
            if (_coalesce)
            {
                _queued.Add(path);
            }
            waiter = _waiter;
            _waiter = null;
        }
        waiter?.TrySetResult();
    }

    /// <summary>Ends the stream: with an error, the consumer sees it; without, the stream just ends.</summary>
    public void Complete(Exception? error)
    {
        TaskCompletionSource? waiter;
        lock (_lock)
        {
            if (_completed)
            {
                return;
            }
            _completed = true;
            _error = error;
            waiter = _waiter;
            _waiter = null;
        }
        waiter?.TrySetResult();
    }

    /// <summary>Returns the next path, <c>(null, true)</c> for an overflow, or <c>(null, false)</c> at the end.</summary>
    public async ValueTask<(string? Path, bool Overflow)> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                if (_overflowed)
                {
                    _overflowed = false;
                    return (null, true);
                }
                if (_paths.TryDequeue(out string? path))
                {
                    _queued.Remove(path);
                    return (path, false);
                }
                if (_completed)
                {
                    if (_error is not null)
                    {
                        throw _error;
                    }
                    return (null, false);
                }
                _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _waiter.Task;
            }
            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Drops whatever is queued (the caller is about to re-read everything anyway).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _paths.Clear();
            _queued.Clear();
            _overflowed = false;
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _paths.Count;
            }
        }
    }
}
