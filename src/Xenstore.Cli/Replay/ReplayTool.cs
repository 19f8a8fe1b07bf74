using System.Globalization;
using Xenstore.Client;

namespace Xenstore.Cli.Replay;

/// <summary>
/// <c>xenstore replay FILE [--speed N|max] [--socket PATH] [--timeout SECONDS]</c>: re-issues a trace recorded with
/// <c>xenstored -T FILE --trace-control=+replay</c> against a daemon (ours or another) and prints each answer that
/// differs from the recorded one. Exit codes: 0 no difference, 1 differences, 2 a trace that cannot be read or
/// used (or bad arguments, or no daemon to replay against).
/// </summary>
internal sealed class ReplayTool(CliOutput output, EndpointOptions endpoint)
{
    private const string Usage =
        "Usage: xenstore replay FILE [--speed N|max] [--socket PATH] [--timeout SECONDS]\n" +
        "  --speed N      replay N times as fast as recorded (default 1); 0 or max: as fast as the daemon answers\n" +
        "  --socket PATH  the daemon's socket (default: $XENSTORED_PATH, else $XENSTORED_RUNDIR/socket)\n" +
        "  --timeout S    how long to wait for an answer before reporting it missing (default 5)";

    public async Task<int> RunAsync(string[] args)
    {
        string? file = null;
        string? socket = null;
        double speed = 1;
        double timeout = 5;
        for (int i = 0; i < args.Length; i++)
        {
            string argument = args[i];
            string? value = i + 1 < args.Length ? args[i + 1] : null;
            switch (argument)
            {
                case "-h" or "--help":
                    output.Print(Usage + "\n");
                    return 0;
                case "--speed" when value is "max":
                    speed = 0;
                    i++;
                    break;
                case "--speed" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out speed) && speed >= 0 && double.IsFinite(speed):
                    i++;
                    break;
                case "--timeout" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out timeout) && timeout > 0 && timeout < 86400:
                    i++;
                    break;
                case "--socket" when value is not null:
                    socket = value;
                    i++;
                    break;
                case not null when file is null && !argument.StartsWith('-'):
                    file = argument;
                    break;
                default:
                    output.ErrorLine(Usage);
                    return 2;
            }
        }
        if (file is null)
        {
            output.ErrorLine(Usage);
            return 2;
        }
        if (endpoint != EndpointOptions.None)
        {
            output.ErrorLine("xenstore replay: replays over a daemon's socket only (--socket PATH)");
            return 2;
        }
        RecordedTrace trace;
        try
        {
            trace = RecordedTrace.Read(file);
        }
        catch (InvalidDataException e)
        {
            output.ErrorLine("xenstore replay: " + e.Message);
            return 2;
        }
        socket ??= XenstoreEndpoint.Candidates()[0];
        var replayer = new Replayer(socket, speed, TimeSpan.FromSeconds(timeout), text =>
        {
            output.Print(text);
            output.FlushDirect();
        });
        try
        {
            await replayer.RunAsync(trace).ConfigureAwait(false);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            output.ErrorLine($"xenstore replay: cannot connect to {socket}: {e.Message}");
            return 2;
        }
        output.ErrorLine(string.Create(CultureInfo.InvariantCulture,
            $"xenstore replay: {replayer.Requests} requests on {replayer.Connections} connections, {replayer.Differences} differences"));
        return replayer.Differences == 0 ? 0 : 1;
    }
}
