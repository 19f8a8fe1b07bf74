using System.Net.Sockets;

namespace Xenstore.Client.Tests;

/// <summary>
/// A daemon busy with many clients connecting at once can have its listen backlog full: a Unix socket connect then
/// fails with EAGAIN at once. The client waits and retries instead of failing a connection that would have been
/// accepted a moment later.
/// </summary>
public sealed class ListenBacklogTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("xs-backlog-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Connect_WaitsOutAFullListenBacklog()
    {
        string path = Path.Combine(_directory, "socket");
        var endpoint = new UnixDomainSocketEndPoint(path);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(endpoint);
        listener.Listen(1);
        var fillers = new List<Socket>();
        try
        {
            // Connections nobody accepts yet, until the kernel refuses the next one.
            while (fillers.Count < 64)
            {
                var filler = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { Blocking = false };
                try
                {
                    filler.Connect(endpoint);
                    fillers.Add(filler);
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
                {
                    filler.Dispose();
                    break;
                }
            }
            Assert.InRange(fillers.Count, 1, 63);

            Task<XenstoreClient> connecting = XenstoreClient.ConnectAsync(path);
            await Task.Delay(100);
            Assert.False(connecting.IsCompleted, "the connect gave up (or got in) while the backlog was full");

            // The daemon catches up: the client's retry is accepted.
            var accepted = new List<Socket>();
            for (int i = 0; i <= fillers.Count; i++)
            {
                accepted.Add(await listener.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(5)));
            }
            await using XenstoreClient client = await connecting.WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Equal(fillers.Count + 1, accepted.Count);
            foreach (Socket socket in accepted)
            {
                socket.Dispose();
            }
        }
        finally
        {
            foreach (Socket filler in fillers)
            {
                filler.Dispose();
            }
        }
    }
}
