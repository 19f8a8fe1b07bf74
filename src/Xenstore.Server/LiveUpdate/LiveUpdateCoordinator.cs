using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Xenstore.Protocol;
using Xenstore.Server.Pipeline;
using Xenstore.Server.Transports.Rings;
using Xenstore.Server.Transports.Sockets;
using Xenstore.Store;

namespace Xenstore.Server.LiveUpdate;

/// <summary>
/// Restart without dropping clients (C xenstored's live update, over a socket): the daemon stops reading (every
/// request already read has been executed by then), writes a snapshot, and starts the new binary with the
/// listening socket and every client socket inherited, plus a handover file (unparsed input, unsent output,
/// watches). The new daemon answers the request that asked for the update; the old one exits. Clients see a pause.
/// If anything fails before the new daemon is ready, the old one carries on as if nothing happened.
/// </summary>
internal sealed class LiveUpdateCoordinator(
    LiveUpdateRequests requests,
    WorkQueue queue,
    EngineOutputRouter output,
    UnixSocketListener listener,
    OpenSockets sockets,
    RingManager? rings,
    Persistence.StateStore? state,
    ILogger logger)
{
    private static readonly TimeSpan s_readyTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The handover file's name in the state directory.</summary>
    public const string HandoverFileName = "live-update-handover.json";
    private readonly TaskCompletionSource<int> _handedOver = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _running;

    /// <summary>
    /// Completes with the successor's process id once it has taken over: the daemon should leave without closing
    /// anything.
    /// </summary>
    public Task<int> HandedOver => _handedOver.Task;

    /// <summary>Carries out the updates asked for, one at a time, until <see cref="LiveUpdateRequests.Complete"/>.</summary>
    public void Start() => _running = Task.Run(async () =>
    {
        await foreach (LiveUpdateStart start in requests.Starts.ReadAllAsync().ConfigureAwait(false))
        {
            await RunAsync(start.Requester, start.Header, start.Force).ConfigureAwait(false);
        }
    });

    /// <summary>Stops taking requests and waits for an update under way.</summary>
    public async Task StopAsync()
    {
        requests.Complete();
        if (_running is not null)
        {
            await _running.ConfigureAwait(false);
        }
    }

    private async Task RunAsync(int requester, XsHeader header, bool force)
    {
        var stopped = new List<(SocketConnection Connection, byte[] Input)>();
        Dictionary<uint, (byte[] Input, byte[] Output)> ringBuffers = [];
        Process? successor = null;
        string handoverPath = "";
        try
        {
            if (rings is not null)
            {
                await rings.SetPausedAsync(true).ConfigureAwait(false);
            }
            await listener.StopAcceptingAsync().ConfigureAwait(false);
            // Every request read so far has been executed: the store thread runs them as it parses them.
            stopped.AddRange(await queue.InvokeAsync(_ =>
                sockets.All.Where(c => c.IsOpen).Select(c => (c, c.StopReading())).ToList()).ConfigureAwait(false));
            // Runs after every request already read: the store is quiet from here on.
            (List<List<WatchRecord>> watches, List<HandoverRing> ringWatches) = await queue.InvokeAsync(engine =>
            {
                // The update was accepted with no transaction open, but clients kept being read until just now: one
                // may have started a transaction since, which the successor would not know. Unless forced, the
                // update gives way, as it would have if that transaction had come first.
                if (!force && engine.OpenTransactionCount > 0)
                {
                    throw new TransactionsOpenException();
                }
                state!.Compact(engine);
                return (stopped.Select(s => engine.LiveUpdate.ExportWatches(s.Connection.Id).ToList()).ToList(),
                    engine.Domains.Introduced()
                        .Select(d => engine.LiveUpdate.ConnectionOf(d.Domid) is int id ? new HandoverRing(d.Domid, engine.LiveUpdate.ExportWatches(id).ToList()) : null)
                        .OfType<HandoverRing>().ToList());
            }).ConfigureAwait(false);
            if (rings is not null)
            {
                ringBuffers = await rings.TakeBuffersAsync().ConfigureAwait(false);
            }
            var handoverConnections = new List<HandoverConnection>();
            for (int i = 0; i < stopped.Count; i++)
            {
                SocketConnection connection = stopped[i].Connection;
                await WaitForOutputAsync(connection).ConfigureAwait(false);
                byte[] unsent = new byte[4096];
                int length = connection.Output.TakeAll(ref unsent);
                int descriptor = (int)connection.Socket.SafeHandle.DangerousGetHandle();
                Inherit(descriptor);
                handoverConnections.Add(new HandoverConnection(descriptor, stopped[i].Input, unsent[..length], watches[i]));
            }
            int listenDescriptor = (int)listener.Socket.SafeHandle.DangerousGetHandle();
            Inherit(listenDescriptor);
            int requesterIndex = stopped.FindIndex(s => s.Connection.Id == requester);
            var handover = new Handover(listenDescriptor, handoverConnections,
                ringWatches,
                requesterIndex >= 0 ? new HandoverReply(requesterIndex, header.ReqId, header.TxId) : null);
            // In the state directory, private to the daemon: it holds clients' unread requests and unsent replies.
            handoverPath = Path.Combine(state!.DirectoryPath, HandoverFileName);
            var payload = new HandoverFile(handover, ringBuffers.Select(p => new HandoverRingBuffers(p.Key, p.Value.Input, p.Value.Output)).ToList());
            File.Delete(handoverPath);
            File.Delete(handoverPath + ".ready");
            await using (var file = new FileStream(handoverPath, PrivateFiles.Options(FileMode.CreateNew, FileAccess.Write, FileShare.None)))
            {
                await JsonSerializer.SerializeAsync(file, payload, HandoverJson.Default.HandoverFile).ConfigureAwait(false);
            }
            successor = StartSuccessor(handoverPath);
            if (await WaitReadyAsync(handoverPath, successor).ConfigureAwait(false))
            {
                Log.LiveUpdateDone(logger, successor.Id);
                // The sockets stay open in the successor; the daemon leaves without closing or unlinking anything.
                listener.MarkHandedOver();
                _handedOver.TrySetResult(successor.Id);
                return;
            }
            throw new InvalidOperationException("the new daemon did not become ready");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            if (e is not TransactionsOpenException)
            {
                Log.LiveUpdateFailed(logger, e);
            }
            if (successor is { HasExited: false })
            {
                successor.Kill();
            }
            await RollBackAsync(stopped, ringBuffers, requester, header,
                e is TransactionsOpenException ? "BUSY" : "live update failed: " + e.Message).ConfigureAwait(false);
        }
        finally
        {
            if (handoverPath.Length > 0)
            {
                File.Delete(handoverPath);
                File.Delete(handoverPath + ".ready");
            }
            requests.Finished();
        }
    }

    private static async Task WaitForOutputAsync(SocketConnection connection)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        while (!connection.OutputIdle && connection.IsOpen && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5).ConfigureAwait(false);
        }
        if (connection.IsWriting)
        {
            throw new InvalidOperationException("a client is not reading: its output is still being written");
        }
    }

    /// <summary>Clears close-on-exec so the successor inherits the descriptor.</summary>
    private static void Inherit(int descriptor)
    {
        int flags = Libc.Fcntl(descriptor, Libc.FGetFd, 0);
        if (flags < 0 || Libc.Fcntl(descriptor, Libc.FSetFd, flags & ~Libc.FdCloexec) < 0)
        {
            throw new IOException("cannot pass descriptor " + descriptor);
        }
    }

    private Process StartSuccessor(string handoverPath)
    {
        string[] current = Environment.GetCommandLineArgs();
        string host = Environment.ProcessPath ?? "dotnet";
        bool runByDotnet = Path.GetFileName(host) == "dotnet";
        var info = new ProcessStartInfo { UseShellExecute = false };
        // The running program is the native executable, or an assembly the dotnet host runs (whose executable next
        // to it also reports the assembly as its first argument).
        string binary = requests.Binary ?? (runByDotnet ? current[0] : host);
        if (binary.EndsWith(".dll", StringComparison.Ordinal))
        {
            info.FileName = runByDotnet ? host : "dotnet";
            info.ArgumentList.Add(binary);
        }
        else
        {
            info.FileName = binary;
        }
        IEnumerable<string> arguments = requests.CommandLine is not null
            ? requests.CommandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            : current.Skip(1);
        bool skipNext = false;
        foreach (string argument in arguments)
        {
            if (skipNext)
            {
                skipNext = false;
                continue;
            }
            if (argument == "--live-update-state")
            {
                skipNext = true;
                continue;
            }
            info.ArgumentList.Add(argument);
        }
        info.ArgumentList.Add("--live-update-state");
        info.ArgumentList.Add(handoverPath);
        return Process.Start(info) ?? throw new InvalidOperationException("cannot start " + info.FileName);
    }

    private static async Task<bool> WaitReadyAsync(string handoverPath, Process successor)
    {
        var deadline = DateTime.UtcNow + s_readyTimeout;
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(handoverPath + ".ready"))
            {
                return true;
            }
            if (successor.HasExited)
            {
                return false;
            }
            await Task.Delay(10).ConfigureAwait(false);
        }
        return false;
    }

    private async Task RollBackAsync(List<(SocketConnection Connection, byte[] Input)> stopped,
        Dictionary<uint, (byte[] Input, byte[] Output)> ringBuffers, int requester, XsHeader header, string reply)
    {
        foreach ((uint domid, (byte[] input, byte[] output)) in ringBuffers)
        {
            await rings!.SeedBuffersAsync(domid, input, output).ConfigureAwait(false);
        }
        if (rings is not null)
        {
            await rings.SetPausedAsync(false).ConfigureAwait(false);
        }
        queue.Post(StoreWork.Run(_ =>
        {
            foreach (SocketConnection connection in stopped.Select(s => s.Connection).Where(c => c.IsOpen))
            {
                connection.ResumeReading();
            }
        }));
        listener.ResumeAccepting();
        queue.Post(StoreWork.Run(_ => output.Send(requester, XsMessageType.Control, header.ReqId, header.TxId,
            System.Text.Encoding.ASCII.GetBytes(reply + "\0"))));
    }
}

/// <summary>The handover file: connections and watches, plus the guest rings' carried-over buffers.</summary>
internal sealed record HandoverFile(Handover Handover, List<HandoverRingBuffers> RingBuffers);

internal sealed record HandoverRingBuffers(uint Domid, byte[] Input, byte[] Output);

/// <summary>A transaction was opened between the update's acceptance and the store going quiet.</summary>
internal sealed class TransactionsOpenException() : InvalidOperationException("transactions are open");
