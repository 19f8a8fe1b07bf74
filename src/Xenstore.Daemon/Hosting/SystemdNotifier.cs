using System.Net.Sockets;
using System.Text;

namespace Xenstore.Daemon.Hosting;

/// <summary>
/// sd_notify: one datagram of newline-separated assignments (READY=1, STATUS=…, MAINPID=…, STOPPING=1) to the
/// socket systemd names in NOTIFY_SOCKET. Written here rather than taken from Microsoft.Extensions.Hosting.Systemd,
/// whose notifier comes with the Generic Host (see <see cref="DaemonHost"/>). NOTIFY_SOCKET stays set, so a live update's successor reports to the same socket (the unit's
/// NotifyAccess=all lets it).
/// </summary>
internal sealed class SystemdNotifier : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly UnixDomainSocketEndPoint _endpoint;

    private SystemdNotifier(UnixDomainSocketEndPoint endpoint) => _endpoint = endpoint;

    /// <summary>The notifier when systemd (or a test standing in for it) gave a socket; otherwise null.</summary>
    public static SystemdNotifier? FromEnvironment()
    {
        string? path = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }
        // "@name" is a socket in the abstract namespace, whose address starts with a NUL byte.
        return new SystemdNotifier(new UnixDomainSocketEndPoint(path[0] == '@' ? "\0" + path[1..] : path));
    }

    /// <summary>Sends one state message. Best effort, as sd_notify: a failure is not the daemon's to handle.</summary>
    public void Notify(string state)
    {
        try
        {
            _socket.SendTo(Encoding.UTF8.GetBytes(state), SocketFlags.None, _endpoint);
        }
        catch (SocketException)
        {
        }
    }

    public void Dispose() => _socket.Dispose();
}
