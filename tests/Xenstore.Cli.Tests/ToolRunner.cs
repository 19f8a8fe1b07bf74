using System.Diagnostics;
using Xenstore.TestKit;

namespace Xenstore.Cli.Tests;

/// <summary>What one tool invocation produced.</summary>
public sealed record ToolResult(byte[] Stdout, byte[] Stderr, int ExitCode)
{
    public override string ToString() =>
        $"exit {ExitCode}\nstdout: {Show(Stdout)}\nstderr: {Show(Stderr)}";

    private static string Show(byte[] bytes) => System.Text.Encoding.Latin1.GetString(bytes).Replace("\n", "\\n\n        ", StringComparison.Ordinal);
}

/// <summary>
/// Runs Debian's tools (from /usr/bin) or ours (symlinks named like them, pointing at our apphost) through
/// <c>sh -c 'exec NAME "$@"'</c>, so argv[0] is exactly the bare name in both cases.
/// </summary>
public sealed class ToolRunner : IDisposable
{
    private readonly string _ourBin;

    public ToolRunner()
    {
        _ourBin = Directory.CreateTempSubdirectory("xs-cli-bin-").FullName;
        foreach (string name in new[] { "xenstore", "xenstore-read", "xenstore-write", "xenstore-ls", "xenstore-list",
                     "xenstore-rm", "xenstore-exists", "xenstore-chmod", "xenstore-watch", "xenstore-control" })
        {
            File.CreateSymbolicLink(Path.Combine(_ourBin, name), OurAppHost);
        }
    }

    /// <summary>
    /// Our CLI's apphost, built with this project (it references the CLI). Missing means a broken build: the
    /// calling test fails, it is never skipped.
    /// </summary>
    public static string OurAppHost
    {
        get
        {
            string path = Path.Combine(RepositoryPaths.Root, "src", "Xenstore.Cli", "bin", RepositoryPaths.Configuration, "net10.0", "xenstore");
            return File.Exists(path) ? path : throw new FileNotFoundException($"our CLI is not built ({RepositoryPaths.Configuration})", path);
        }
    }

    public static bool DebianToolsPresent => File.Exists("/usr/bin/xenstore-read") && File.Exists("/usr/bin/xenstore");

    public static Task<ToolResult> RunDebianAsync(string socket, string[] argv) => RunAsync("/usr/bin:/bin", socket, argv);

    public Task<ToolResult> RunOursAsync(string socket, string[] argv) => RunAsync(_ourBin + ":/usr/bin:/bin", socket, argv);

    private static async Task<ToolResult> RunAsync(string path, string socket, string[] argv)
    {
        var info = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("exec \"$0\" \"$@\"");
        foreach (string arg in argv)
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["PATH"] = path;
        info.Environment["XENSTORED_PATH"] = socket;
        info.Environment.Remove("XENSTORED_RUNDIR");
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        Task copyOut = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        Task copyErr = process.StandardError.BaseStream.CopyToAsync(stderr);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException("tool did not finish: " + string.Join(' ', argv));
        }
        await Task.WhenAll(copyOut, copyErr);
        return new ToolResult(stdout.ToArray(), stderr.ToArray(), process.ExitCode);
    }

    public void Dispose() => Directory.Delete(_ourBin, recursive: true);
}
