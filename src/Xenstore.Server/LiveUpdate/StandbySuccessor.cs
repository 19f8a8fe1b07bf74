using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Xenstore.Server.LiveUpdate;

/// <summary>
/// The new daemon of a live update, started while this one still serves: it starts its runtime, reads its command
/// line and builds everything that does not depend on the state, then stands by on the <see cref="HandoverChannel"/>,
/// loads the state when told to, and waits to be handed the sockets. Its start and most of its load are thus off the
/// clients' pause. Killed when the update gives way.
/// </summary>
internal sealed class StandbySuccessor : IDisposable
{
    private readonly Process _process;
    private readonly HandoverChannel _channel;
    private bool _standingBy;

    private StandbySuccessor(Process process, HandoverChannel channel, string? binary, string? commandLine)
    {
        _process = process;
        _channel = channel;
        Binary = binary;
        CommandLine = commandLine;
    }

    public int ProcessId => _process.Id;

    /// <summary>The binary asked for (<c>-f</c>), null for the running one.</summary>
    public string? Binary { get; }

    /// <summary>The command line asked for (<c>-c</c>), null for the running one's.</summary>
    public string? CommandLine { get; }

    /// <summary>It stands by and has not exited (as far as can be seen without waiting).</summary>
    public bool IsStandingBy => _standingBy && !_process.HasExited;

    /// <summary>
    /// Starts the binary with the command line given (or this daemon's), plus the option that names the inherited
    /// end of the channel; the channel is its only descriptor besides the standard ones.
    /// </summary>
    public static StandbySuccessor Start(string? binary, string? commandLine)
    {
        HandoverChannel channel = HandoverChannel.CreatePair(out int successorEnd);
        try
        {
            ProcessStartInfo info = StartInfo(binary, commandLine, successorEnd);
            Process process = Process.Start(info) ?? throw new InvalidOperationException("cannot start " + info.FileName);
            return new StandbySuccessor(process, channel, binary, commandLine);
        }
        catch
        {
            channel.Dispose();
            throw;
        }
        finally
        {
            Libc.Close(successorEnd);
        }
    }

    /// <summary>The successor has loaded the state (a kept one need not again: it catches up at the hand-over).</summary>
    public bool HasLoaded { get; private set; }

    /// <summary>
    /// Tells the successor to load the state directory (which the daemon keeps to one snapshot and a journal that
    /// only grows from now on) and waits until it has; throws when it exits first or times out.
    /// </summary>
    public async Task LoadAsync(TimeSpan timeout)
    {
        _channel.Signal(HandoverChannel.Load);
        await WaitForAsync(HandoverChannel.Loaded, "load the state", timeout).ConfigureAwait(false);
        HasLoaded = true;
    }

    /// <summary>Waits until the successor stands by; throws when it exits first or takes longer than the timeout.</summary>
    public async Task WaitStandingByAsync(TimeSpan timeout)
    {
        if (!_standingBy)
        {
            await WaitForAsync(HandoverChannel.StandingBy, "stand by", timeout).ConfigureAwait(false);
            _standingBy = true;
        }
    }

    /// <summary>
    /// Hands over the sockets (in the order the record refers to them) and the record. Each socket is kept from
    /// closing while it is sent, so that its number cannot be another file's by then.
    /// </summary>
    public Task HandOverAsync(IReadOnlyList<SafeHandle> sockets, byte[] record) => Task.Run(() =>
    {
        var held = new List<SafeHandle>(sockets.Count);
        try
        {
            var descriptors = new List<int>(sockets.Count);
            foreach (SafeHandle socket in sockets)
            {
                bool added = false;
                socket.DangerousAddRef(ref added);
                held.Add(socket);
                descriptors.Add((int)socket.DangerousGetHandle());
            }
            _channel.SendHandover(descriptors, record);
        }
        finally
        {
            foreach (SafeHandle socket in held)
            {
                socket.DangerousRelease();
            }
        }
    });

    /// <summary>Waits until the successor serves every socket; throws when it exits first or times out.</summary>
    public Task WaitServingAsync(TimeSpan timeout) => WaitForAsync(HandoverChannel.Serving, "serve", timeout);

    private Task WaitForAsync(byte signal, string what, TimeSpan timeout) => Task.Run(() =>
    {
        byte? received;
        try
        {
            received = _channel.Receive(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"the new daemon did not {what} within {timeout.TotalSeconds:0} s");
        }
        if (received is null)
        {
            throw new InvalidOperationException($"the new daemon exited before it could {what}{ExitText()}");
        }
        if (received != signal)
        {
            throw new InvalidDataException($"the new daemon sent {received} instead of {signal}");
        }
    });

    private string ExitText()
    {
        // The channel ends as the process does; its exit status follows shortly.
        return _process.WaitForExit(TimeSpan.FromSeconds(1)) ? $" (exit status {_process.ExitCode})" : "";
    }

    /// <summary>
    /// The daemon stops: a wait on the successor ends at once (the channel is shut down, not closed, since the
    /// wait is still using it), and the successor sees the channel end and leaves.
    /// </summary>
    public void Interrupt() => _channel.ShutDown();

    /// <summary>The update gave way: the successor goes (it would see the channel end and leave by itself too).</summary>
    public void Abandon()
    {
        _channel.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile.
        }
        _process.Dispose();
    }

    public void Dispose()
    {
        _channel.Dispose();
        _process.Dispose();
    }

    private static ProcessStartInfo StartInfo(string? binary, string? commandLine, int channel)
    {
        string[] current = Environment.GetCommandLineArgs();
        string host = Environment.ProcessPath ?? "dotnet";
        bool runByDotnet = Path.GetFileName(host) == "dotnet";
        var info = new ProcessStartInfo { UseShellExecute = false };
        // The running program is the native executable, or an assembly the dotnet host runs (whose executable next
        // to it also reports the assembly as its first argument).
        binary ??= runByDotnet ? current[0] : host;
        if (binary.EndsWith(".dll", StringComparison.Ordinal))
        {
            info.FileName = runByDotnet ? host : "dotnet";
            info.ArgumentList.Add(binary);
        }
        else
        {
            info.FileName = binary;
        }
        IEnumerable<string> arguments = commandLine is not null
            ? commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            : current.Skip(1);
        bool skipNext = false;
        foreach (string argument in arguments)
        {
            if (skipNext)
            {
                skipNext = false;
                continue;
            }
            if (argument == LiveUpdateOption)
            {
                skipNext = true;
                continue;
            }
            info.ArgumentList.Add(argument);
        }
        info.ArgumentList.Add(LiveUpdateOption);
        info.ArgumentList.Add(channel.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return info;
    }

    /// <summary>The daemon's option that makes it a successor, with the number of its end of the channel.</summary>
    public const string LiveUpdateOption = "--live-update-state";
}
