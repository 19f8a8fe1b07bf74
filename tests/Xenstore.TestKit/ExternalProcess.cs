using System.Diagnostics;

namespace Xenstore.TestKit;

/// <summary>Runs real client programs (Debian's xenstore-utils, python, test-xenstore) against a daemon.</summary>
public static class ExternalProcess
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Starts <paramref name="program"/> with <c>XENSTORED_PATH</c> pointing at the daemon's socket.</summary>
    public static Process Start(string program, IEnumerable<string> args, string socketPath, string? stdin = null)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["XENSTORED_PATH"] = socketPath;
        // Make libxenstore's and python's messages independent of the machine's locale.
        info.Environment["LC_ALL"] = "C";
        info.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + program);
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
            process.StandardInput.Close();
        }
        return process;
    }

    /// <summary>Runs a program to completion and captures its output; kills it and fails after the timeout.</summary>
    public static async Task<ProcessResult> RunAsync(string program, IEnumerable<string> args, string socketPath, string? stdin = null, TimeSpan? timeout = null)
    {
        using Process process = Start(program, args, socketPath, stdin);
        return await CollectAsync(process, timeout).ConfigureAwait(false);
    }

    /// <summary>Waits for an already started process and captures its output.</summary>
    public static async Task<ProcessResult> CollectAsync(Process process, TimeSpan? timeout = null)
    {
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{process.StartInfo.FileName} {string.Join(' ', process.StartInfo.ArgumentList)} did not finish within {timeout ?? DefaultTimeout}");
        }
        return new ProcessResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }
}
