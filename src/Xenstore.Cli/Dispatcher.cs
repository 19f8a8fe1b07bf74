namespace Xenstore.Cli;

/// <summary>Chooses the tool from argv[0] or the first argument.</summary>
internal static class Dispatcher
{
    private const string ToolPrefix = "xenstore-";

    public static async Task<int> RunAsync(CliOutput output, string argv0, string shortName, string[] arguments)
    {
        EndpointOptions endpoint = EndpointOptions.Extract(ref arguments, output);
        string command;
        string getoptName;
        string[] rest;
        bool includeMode;
        if (shortName.StartsWith(ToolPrefix, StringComparison.Ordinal))
        {
            command = shortName[ToolPrefix.Length..];
            getoptName = argv0;
            rest = arguments;
            includeMode = false;
        }
        else if (arguments.Length < 1)
        {
            throw output.Fail(1, Modes.Usage(Mode.Unknown, false, argv0));
        }
        else
        {
            command = arguments[0];
            // getopt sees argv + 1, so its messages start with the mode name ("read: invalid option").
            getoptName = arguments[0];
            rest = arguments[1..];
            includeMode = true;
        }
        if (command == "control")
        {
            int code = await new ControlTool(output, includeMode ? argv0 + " control" : argv0, endpoint).RunAsync(rest).ConfigureAwait(false);
            output.FlushDirect();
            return code;
        }
        if (command == "top")
        {
            int code = await new Top.TopTool(output, endpoint).RunAsync(rest).ConfigureAwait(false);
            output.FlushDirect();
            return code;
        }
        if (command == "replay")
        {
            int code = await new Replay.ReplayTool(output, endpoint).RunAsync(rest).ConfigureAwait(false);
            output.FlushDirect();
            return code;
        }
        Mode mode = Modes.Lookup(command) ?? throw output.Fail(1, $"unknown mode {command}\n");
        int result = await new StoreTool(output, argv0, mode, includeMode, endpoint).RunAsync(getoptName, rest).ConfigureAwait(false);
        output.FlushDirect();
        return result;
    }
}
