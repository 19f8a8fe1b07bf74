using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Xenstore.Protocol;
using Xenstore.Server;

namespace Xenstore.Benchmarks;

/// <summary>
/// The path between the engine micro-benchmarks and the whole daemon under the load generator: one request in
/// flight through the embedded server (framing, the store thread's batch, the journal, publishing, the reply
/// read back), with no socket. A WRITE pays for its journal record (on the state directory's file system).
/// </summary>
[MemoryDiagnoser]
public class EmbeddedServerBenchmarks
{
    private readonly byte[] _reply = new byte[XsConstants.HeaderSize + XsConstants.PayloadMax];
    private string _directory = "";
    private XenstoreServer _server = null!;
    private Stream _connection = null!;
    private byte[] _read = [];
    private byte[] _write = [];

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("xs-bench-embedded-").FullName;
        _server = new XenstoreServer(new ServerOptions { StateDirectory = Path.Combine(_directory, "state") }, NullLoggerFactory.Instance);
        _server.StartAsync().GetAwaiter().GetResult();
        _connection = _server.ConnectInMemory();
        _read = Frame(XsMessageType.Read, "/bench/key\0"u8);
        _write = Frame(XsMessageType.Write, "/bench/key\0value"u8);
        RoundTrip(_write);
    }

    [Benchmark]
    public int ReadRoundTrip() => RoundTrip(_read);

    [Benchmark]
    public int WriteRoundTrip() => RoundTrip(_write);

    [GlobalCleanup]
    public void Cleanup()
    {
        _connection.Dispose();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_directory, recursive: true);
    }

    private static byte[] Frame(XsMessageType type, ReadOnlySpan<byte> payload)
    {
        byte[] frame = new byte[XsConstants.HeaderSize + payload.Length];
        FrameParser.Write(frame, type, 1, 0, payload);
        return frame;
    }

    /// <summary>Sends one request and reads until its whole reply is in.</summary>
    private int RoundTrip(byte[] request)
    {
        _connection.Write(request);
        int filled = 0;
        while (FrameParser.TryParse(_reply.AsSpan(0, filled), out _, out int length) != FrameStatus.Complete || filled < length)
        {
            filled += _connection.Read(_reply, filled, _reply.Length - filled);
        }
        return filled;
    }
}
