using System.Diagnostics;
using Xenstore.TestKit;

namespace Xenstore.Packaging.Tests;

/// <summary>
/// The client library as a user gets it: <c>dotnet pack</c> makes the Xenstore.Protocol and Xenstore.Client
/// packages into a local feed, <c>samples/Xenstore.Sample</c> restores them from it (into a package folder of its own,
/// so no earlier build's copy is used) and runs against our daemon.
/// </summary>
public sealed class NuGetPackageTests
{
    [Fact]
    public async Task Sample_BuiltFromThePackedLibraries_TalksToTheDaemon()
    {
        string work = Directory.CreateTempSubdirectory("xs-nuget-").FullName;
        try
        {
            string feed = Path.Combine(work, "feed");
            foreach (string library in new[] { "Xenstore.Protocol", "Xenstore.Client" })
            {
                await DotnetAsync("pack", Path.Combine("src", library), "-c", "Release", "-o", feed, "-nologo");
            }
            Assert.Single(Directory.GetFiles(feed, "Xenstore.Client.*.nupkg"));
            string output = Path.Combine(work, "sample");
            await DotnetAsync("build", Path.Combine("samples", "Xenstore.Sample"), "-c", "Release", "-nologo",
                "--source", feed, "--packages", Path.Combine(work, "packages"), "-o", output);

            await using OurDaemon daemon = await OurDaemon.StartAsync();
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            info.ArgumentList.Add(Path.Combine(output, "Xenstore.Sample.dll"));
            info.Environment["XENSTORED_PATH"] = daemon.SocketPath;
            using Process sample = Process.Start(info)!;
            ProcessResult result = await ExternalProcess.CollectAsync(sample, TimeSpan.FromSeconds(60));
            Assert.True(result.ExitCode == 0, $"sample failed ({result.ExitCode}): {result.StdErr}");
            Assert.Equal(
                ["name: sample-guest", "changed: /local/domain/7/memory/target", "memory: target,static-max"],
                result.StdOut.TrimEnd('\n').Split('\n'));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task DotnetAsync(params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryPaths.Root,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        using Process dotnet = Process.Start(info)!;
        ProcessResult result = await ExternalProcess.CollectAsync(dotnet, TimeSpan.FromMinutes(10));
        Assert.True(result.ExitCode == 0, $"dotnet {string.Join(' ', arguments)} failed: {result.StdOut}{result.StdErr}");
    }
}
