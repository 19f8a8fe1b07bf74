namespace Xenstore.Server.Pipeline;

/// <summary>What <see cref="OutputQueue.Append"/> did with a message.</summary>
internal enum AppendOutcome
{
    /// <summary>Queued, to be sent once published.</summary>
    Queued,

    /// <summary>A watch event past the queue's event limit: dropped (and counted as such).</summary>
    Dropped,

    /// <summary>A watch event identical to one still queued: the reader gets that one.</summary>
    AlreadyQueued,
}
