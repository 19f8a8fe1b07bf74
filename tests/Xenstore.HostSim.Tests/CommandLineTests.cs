namespace Xenstore.HostSim.Tests;

public sealed class CommandLineTests
{
    private static readonly string[] s_options =
    [
        "--socket", "--sim-dir", "--daemon-pid", "--domains", "--concurrency", "--vifs", "--vbds", "--driver-domain",
        "--driver-domain-every", "--first-domid", "--timeout", "--hotplug", "--tools", "--tools-dir", "--scripts-dir",
        "--fault", "--fault-domain", "--daemon-command", "--live-update-binary", "--json", "--quiet", "--help",
    ];

    [Fact]
    public void Help_lists_every_option_and_each_is_accepted()
    {
        Assert.Equal(CommandLineOutcome.Help, HostSimCommandLine.Parse(["--help"], out _, out _));
        foreach (string option in s_options)
        {
            Assert.Contains(option, HostSimCommandLine.Usage, StringComparison.Ordinal);
        }
        CommandLineOutcome outcome = HostSimCommandLine.Parse(
        [
            "--socket", "/s", "--sim-dir", "/d", "--daemon-pid", "7", "--domains", "200", "--concurrency", "32", "--vifs", "2",
            "--vbds", "2", "--driver-domain", "--driver-domain-every", "4", "--first-domid", "10", "--timeout", "20",
            "--hotplug", "process", "--tools", "debian", "--tools-dir", "/t", "--scripts-dir", "/x", "--fault", "guest-death",
            "--fault-domain", "5", "--json", "--quiet",
        ], out HostSimOptions options, out string? error);
        Assert.True(outcome == CommandLineOutcome.Run, error);
        Assert.Equal(new HostSimOptions
        {
            SocketPath = "/s", SimDir = "/d", DaemonPid = 7, Domains = 200, Concurrency = 32, Vifs = 2, Vbds = 2,
            DriverDomain = true, DriverDomainEvery = 4, FirstDomid = 10, WaitTimeout = TimeSpan.FromSeconds(20),
            Hotplug = HotplugMode.Process, Tools = HotplugTools.Debian, ToolsDirectory = "/t", ScriptsDirectory = "/x",
            Fault = FaultKind.GuestDeath, FaultDomain = 5, Json = true, Quiet = true,
        }, options);
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--domains", "0")]
    [InlineData("--domains", "many")]
    [InlineData("--hotplug", "udev")]
    [InlineData("--tools", "busybox")]
    [InlineData("--fault", "meteor")]
    [InlineData("--fault", "daemon-restart")]
    [InlineData("--fault", "live-update")]
    [InlineData("--fault", "power-cut")]
    [InlineData("--fault-domain", "6")]
    [InlineData("--vbds", "17")]
    [InlineData("--socket")]
    public void A_bad_command_line_is_an_error_with_a_message(params string[] args)
    {
        Assert.Equal(CommandLineOutcome.Error, HostSimCommandLine.Parse(["--sim-dir", "/d", "--domains", "6", .. args], out _, out string? error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void The_simulated_hypervisor_directory_is_required()
    {
        Assert.Equal(CommandLineOutcome.Error, HostSimCommandLine.Parse(["--domains", "2"], out _, out string? error));
        Assert.Contains("--sim-dir", error, StringComparison.Ordinal);
    }
}
