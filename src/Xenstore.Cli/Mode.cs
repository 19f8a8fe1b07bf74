namespace Xenstore.Cli;

/// <summary>The subcommands of the multi-call tool.</summary>
internal enum Mode
{
    Unknown,
    Chmod,
    Exists,
    List,
    Ls,
    Read,
    Rm,
    Write,
    Watch,
}

internal static class Modes
{
    public static Mode? Lookup(string name) => name switch
    {
        "read" => Mode.Read,
        "chmod" => Mode.Chmod,
        "exists" => Mode.Exists,
        "list" => Mode.List,
        "ls" => Mode.Ls,
        "rm" => Mode.Rm,
        "write" => Mode.Write,
        "watch" => Mode.Watch,
        _ => null,
    };

    /// <summary>The usage line of xenstore-utils 4.17 (which still lists the no-op <c>-s</c>).</summary>
    public static string Usage(Mode mode, bool includeMode, string argv0)
    {
        string Name(string m) => includeMode ? m + " " : "";
        return mode switch
        {
            Mode.Read => $"Usage: {argv0} {Name("read")}[-h] [-p] [-s] [-R] key [...]",
            Mode.Write => $"Usage: {argv0} {Name("write")}[-h] [-s] [-R] key value [...]",
            Mode.Rm => $"Usage: {argv0} {Name("rm")}[-h] [-s] [-t] key [...]",
            Mode.Exists => $"Usage: {argv0} {Name("exists")}[-h] [-p] [-s] key [...]",
            Mode.List => $"Usage: {argv0} {Name("list")}[-h] [-p] [-s] key [...]",
            Mode.Ls => $"Usage: {argv0} {Name("ls")}[-h] [-f] [-p] [-s] [path]",
            Mode.Chmod => $"Usage: {argv0} {Name("chmod")}[-h] [-u] [-r] [-s] key <mode [modes...]>",
            Mode.Watch => $"Usage: {argv0} {Name("watch")}[-h] [-n NR] key",
            _ => $"Usage: {argv0} <mode> [-h] [...]",
        };
    }
}
