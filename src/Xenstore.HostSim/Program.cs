using Xenstore.HostSim;

switch (HostSimCommandLine.Parse(args, out HostSimOptions options, out string? error))
{
    case CommandLineOutcome.Help:
        Console.Out.WriteLine(HostSimCommandLine.Usage);
        return 0;
    case CommandLineOutcome.Error:
        Console.Error.WriteLine($"xenstore-hostsim: {error}");
        Console.Error.WriteLine("Try 'xenstore-hostsim --help' for more information.");
        return 2;
}
Console.Error.WriteLine($"xenstore-hostsim: {options.Domains} domains: simulation not built yet");
return 1;
