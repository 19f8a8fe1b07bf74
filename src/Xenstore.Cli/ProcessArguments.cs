using System.Text;

namespace Xenstore.Cli;

/// <summary>
/// The process's argv as the C tools see it. The tools dispatch on argv[0] and echo arguments byte for byte, so
/// both come from /proc/self/cmdline rather than from .NET's decoded string array. Arguments are kept as Latin-1
/// strings: one char per byte, so any byte round-trips to the daemon and to stderr unchanged.
/// </summary>
internal static class ProcessArguments
{
    /// <summary>Set to force argv[0] (used when running through <c>dotnet xenstore.dll</c>, which hides it).</summary>
    public const string Argv0Variable = "XENSTORE_ARGV0";

    public static Encoding Bytes { get; } = Encoding.Latin1;

    /// <summary>Returns argv[0] and the arguments after it.</summary>
    public static (string Argv0, string[] Arguments) Get(string[] managedArgs)
    {
        string[]? raw = ReadCmdline();
        string[] arguments = managedArgs.Select(a => Bytes.GetString(Encoding.UTF8.GetBytes(a))).ToArray();
        string argv0 = "xenstore";
        if (raw is not null && raw.Length > managedArgs.Length)
        {
            arguments = raw[^managedArgs.Length..];
            string host = raw[raw.Length - managedArgs.Length - 1];
            // Under "dotnet xenstore.dll" the element before the arguments is the assembly.
            argv0 = host.EndsWith(".dll", StringComparison.Ordinal) ? host[..^4] : host;
        }
        string? forced = Environment.GetEnvironmentVariable(Argv0Variable);
        if (!string.IsNullOrEmpty(forced))
        {
            argv0 = forced;
        }
        return (argv0, arguments);
    }

    public static string ShortName(string argv0)
    {
        int slash = argv0.LastIndexOf('/');
        return slash >= 0 ? argv0[(slash + 1)..] : argv0;
    }

    private static string[]? ReadCmdline()
    {
        try
        {
            byte[] bytes = File.ReadAllBytes("/proc/self/cmdline");
            if (bytes.Length > 0 && bytes[^1] == 0)
            {
                bytes = bytes[..^1];
            }
            return bytes.Length == 0 ? [] : Bytes.GetString(bytes).Split('\0');
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
