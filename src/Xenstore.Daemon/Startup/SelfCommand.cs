using System.Diagnostics;

namespace Xenstore.Daemon.Startup;

/// <summary>How to start this program again: the native executable, or <c>dotnet xenstored.dll</c>.</summary>
internal static class SelfCommand
{
    public static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        string host = Environment.ProcessPath ?? "dotnet";
        string entry = Environment.GetCommandLineArgs()[0];
        var info = new ProcessStartInfo(host) { UseShellExecute = false };
        if (entry.EndsWith(".dll", StringComparison.Ordinal))
        {
            // Run by the dotnet host: the assembly comes first.
            info.ArgumentList.Add(entry);
        }
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        return info;
    }
}
