using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Xenbus.Tests;

/// <summary>
/// Our daemon as a process with xenbusd in front of it over the daemon's socket, shared by a test class; tests work
/// under paths of their own. <see cref="Direct"/> talks to the daemon itself, to look behind xenbusd's back.
/// </summary>
public sealed class XenbusFixture : IAsyncLifetime
{
    private OurDaemon? _daemon;
    private OurXenbus? _xenbus;

    public OurDaemon Daemon => _daemon!;

    public OurXenbus Xenbus => _xenbus!;

    public async ValueTask InitializeAsync()
    {
        _daemon = await OurDaemon.StartAsync();
        _xenbus = await OurXenbus.OverSocketAsync(_daemon, own: false, "--client-queue", "262144");
    }

    /// <summary>A client of xenbusd.</summary>
    public Task<RawConnection> ConnectAsync() => RawConnection.ConnectAsync(Xenbus.SocketPath);

    /// <summary>A client of the daemon's own socket.</summary>
    public Task<RawConnection> DirectAsync() => RawConnection.ConnectAsync(Daemon.SocketPath);

    /// <summary>The daemon's count of dom0's watches and transactions (CONTROL quota 0).</summary>
    public async Task<(int Watches, int Transactions)> Dom0UsageAsync()
    {
        await using RawConnection direct = await DirectAsync();
        RawMessage usage = await direct.RequestAsync(XsMessageType.Control, RawPayload.Strings("quota", "0"));
        int Value(string name) => int.Parse(usage.Text.Split('\n').Single(l => l.StartsWith(name, StringComparison.Ordinal)).Split(':')[1].Trim(),
            System.Globalization.CultureInfo.InvariantCulture);
        return (Value("watches"), Value("transactions"));
    }

    public async ValueTask DisposeAsync()
    {
        if (_xenbus is not null)
        {
            await _xenbus.DisposeAsync();
        }
        if (_daemon is not null)
        {
            await _daemon.DisposeAsync();
        }
    }
}
