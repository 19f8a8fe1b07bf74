using System.Text;
using Xenstore.Client;
using Xenstore.TestKit;

namespace Xenstore.Cli.Tests;

/// <summary><c>xenstore --device PATH ...</c> through a pseudo-terminal stand-in for /dev/xen/xenbus.</summary>
public sealed class DeviceCliTests(ToolRunner tools) : IClassFixture<ToolRunner>
{
    [Fact]
    public async Task Tools_OverADevice_PrintLikeTheSocketForm()
    {
        await using IDaemonUnderTest daemon = await OurDaemon.StartAsync();
        await using (XenstoreClient dom0 = await XenstoreClient.ConnectAsync(daemon.SocketPath))
        {
            await dom0.WriteAsync("/dev-test/a", "1");
        }
        using PtyXenbusDevice device = PtyXenbusDevice.Start(daemon.SocketPath);
        string nowhere = Path.Combine(Path.GetTempPath(), "no-such-socket");

        ToolResult read = await tools.RunOursAsync(nowhere, ["xenstore", "read", "--device", device.DevicePath, "/dev-test/a"]);
        Assert.Equal((0, "1\n", ""), (read.ExitCode, Encoding.Latin1.GetString(read.Stdout), Encoding.Latin1.GetString(read.Stderr)));
        ToolResult write = await tools.RunOursAsync(nowhere, ["xenstore-write", "--device=" + device.DevicePath, "/dev-test/b", "2"]);
        Assert.Equal(0, write.ExitCode);

        ToolResult overSocket = await tools.RunOursAsync(daemon.SocketPath, ["xenstore", "ls", "/dev-test"]);
        ToolResult overDevice = await tools.RunOursAsync(nowhere, ["xenstore", "--device", device.DevicePath, "ls", "/dev-test"]);
        Assert.Equal(Encoding.Latin1.GetString(overSocket.Stdout), Encoding.Latin1.GetString(overDevice.Stdout));
        ToolResult missing = await tools.RunOursAsync(daemon.SocketPath, ["xenstore", "read", "/dev-test/zz"]);
        ToolResult missingDevice = await tools.RunOursAsync(nowhere, ["xenstore", "read", "--device", device.DevicePath, "/dev-test/zz"]);
        Assert.Equal((missing.ExitCode, Encoding.Latin1.GetString(missing.Stderr)),
            (missingDevice.ExitCode, Encoding.Latin1.GetString(missingDevice.Stderr)));

        ToolResult both = await tools.RunOursAsync(nowhere, ["xenstore", "read", "--device", device.DevicePath, "--domain", "3", "/x"]);
        Assert.Equal((1, "xenstore: --device cannot be combined with --sim-dir or --domain\n"), (both.ExitCode, Encoding.Latin1.GetString(both.Stderr)));
    }
}
