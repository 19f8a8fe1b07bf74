using Xenstore.Client;
using Xenstore.Protocol;

namespace Xenstore.Cli;

/// <summary>
/// xenstore-control: sends <c>command args...</c> as one CONTROL request and prints a non-empty answer. Exit codes
/// as in 4.17: 2 usage, 1 no daemon, 3 command failed (EINVAL lists the valid commands from <c>help</c>).
/// <c>live-update</c> follows the daemon (not stubdom) sequence: binary, optional command line, then start,
/// polling while the daemon answers BUSY.
/// </summary>
internal sealed class ControlTool(CliOutput output, string argv0, EndpointOptions endpoint)
{
    public async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 1)
        {
            output.ErrorLine($"Usage:\n{argv0} <command> [<arg>...]");
            return 2;
        }
        XenstoreClient client;
        try
        {
            client = await XenstoreClient.ConnectAsync(endpoint.Apply(new XenstoreClientOptions { RequestTimeout = Timeout.InfiniteTimeSpan }))
                .ConfigureAwait(false);
        }
        catch (XenstoreConnectionException)
        {
            output.ErrorLine("Failed to contact Xenstored.");
            return 1;
        }
        await using (client.ConfigureAwait(false))
        {
            if (args[0] == "live-update")
            {
                return await LiveUpdateAsync(client, args[1..]).ConfigureAwait(false);
            }
            try
            {
                string answer = await ControlPaging.ReadAsync(client, args[0], args[1..]).ConfigureAwait(false);
                if (answer.Length > 0)
                {
                    output.Print(answer + "\n");
                    output.FlushDirect();
                }
                return 0;
            }
            catch (XenstoreErrorException e) when (e.Error == XsError.EINVAL)
            {
                try
                {
                    string help = await client.ControlAsync("help", []).ConfigureAwait(false);
                    output.ErrorLine("Command not supported. Valid commands are:\n" + help);
                }
                catch (XenstoreException)
                {
                    output.ErrorLine("Error when executing command.");
                }
                return 3;
            }
            catch (XenstoreException e)
            {
                output.ErrorLine($"Error {ClientFailure.Number(e)} when trying to execute command.");
                return 3;
            }
        }
    }

    private async Task<int> LiveUpdateAsync(XenstoreClient client, string[] args)
    {
        string? binary = null;
        string? cmdline = null;
        bool force = false;
        int timeout = 60;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "-c":
                    if (++i == args.Length)
                    {
                        output.ErrorLine("Missing command line value");
                        return 2;
                    }
                    cmdline = args[i];
                    break;
                case "-t":
                    if (++i == args.Length)
                    {
                        output.ErrorLine("Missing timeout value");
                        return 2;
                    }
                    timeout = CNumbers.Atoi(args[i]);
                    break;
                case "-F":
                    force = true;
                    break;
                default:
                    binary = args[i];
                    break;
            }
        }
        if (binary is null)
        {
            output.ErrorLine("Missing binary specification");
            return 2;
        }
        int rc = await StepAsync(client, ["-f", binary], "Setting update binary failed:").ConfigureAwait(false);
        if (rc != 0)
        {
            return rc;
        }
        if (cmdline is not null)
        {
            rc = await StepAsync(client, ["-c", cmdline], "Setting update binary failed:").ConfigureAwait(false);
        }
        if (rc == 0)
        {
            rc = await StartAsync(client, force, timeout).ConfigureAwait(false);
        }
        if (rc != 0)
        {
            await TryControlAsync(client, ["-a"]).ConfigureAwait(false);
        }
        return rc;
    }

    private async Task<int> StartAsync(XenstoreClient client, bool force, int timeout)
    {
        string[] arguments = force
            ? ["-s", "-t", ((uint)timeout).ToString(System.Globalization.CultureInfo.InvariantCulture), "-F"]
            : ["-s", "-t", ((uint)timeout).ToString(System.Globalization.CultureInfo.InvariantCulture)];
        DateTime started = DateTime.UtcNow;
        (string? answer, string? error) = ("BUSY", null);
        while ((DateTime.UtcNow - started).TotalSeconds < (uint)timeout)
        {
            (answer, error) = await TryControlAsync(client, arguments).ConfigureAwait(false);
            if (answer != "BUSY")
            {
                break;
            }
            await Task.Delay(1000).ConfigureAwait(false);
        }
        if (answer == "OK")
        {
            return 0;
        }
        output.ErrorLine($"Starting live update failed:\n{answer ?? error}");
        return 3;
    }

    private async Task<int> StepAsync(XenstoreClient client, string[] arguments, string failure)
    {
        (string? answer, string? error) = await TryControlAsync(client, arguments).ConfigureAwait(false);
        if (answer == "OK")
        {
            return 0;
        }
        output.ErrorLine($"{failure}\n{answer ?? error}");
        return 3;
    }

    private static async Task<(string? Answer, string? Error)> TryControlAsync(XenstoreClient client, string[] arguments)
    {
        try
        {
            return (await client.ControlAsync("live-update", arguments).ConfigureAwait(false), null);
        }
        catch (XenstoreException e)
        {
            return (null, ClientFailure.Text(e));
        }
    }
}
