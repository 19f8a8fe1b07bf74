using Xenstore.Cli;

// One executable for every tool: the mode comes from argv[0] ("xenstore-read") or from the first argument
// ("xenstore read"), as in xenstore-utils.
(string argv0, string[] arguments) = ProcessArguments.Get(args);
string shortName = ProcessArguments.ShortName(argv0);
using Stream stdout = new StandardStream(StandardStream.Output);
using Stream stderr = new StandardStream(StandardStream.Error);
var output = new CliOutput(stdout, stderr, shortName);
if (shortName == "xenstore" && arguments is [CliManual.Option])
{
    output.Print(CliManual.Render());
    output.FlushDirect();
    return 0;
}
try
{
    return await Dispatcher.RunAsync(output, argv0, shortName, arguments).ConfigureAwait(false);
}
catch (CliExitException exit)
{
    output.FlushDirect();
    return exit.Code;
}
