namespace Xenstore.HostSim.Hotplug;

/// <summary>Whose <c>xenstore-*</c> command-line tools the hotplug scripts call.</summary>
internal enum ProcessToolKind
{
    /// <summary>Debian's xenstore-utils: one C executable, <c>/usr/bin/xenstore</c>, named by argv[0].</summary>
    Debian,

    /// <summary>Our CLI (src/Xenstore.Cli), one executable dispatching on argv[0] the same way.</summary>
    Ours,
}

/// <summary>
/// The executable behind every <c>xenstore-read</c>, <c>-write</c>, <c>-list</c>, <c>-exists</c>, <c>-rm</c> and
/// <c>-chmod</c> the scripts call. Both tool sets are a single program that picks the tool from the name it was
/// started under, so the scripts' PATH holds links with those names to it.
/// </summary>
/// <param name="Kind">Whose tools.</param>
/// <param name="Executable">The program the links point at.</param>
internal sealed record ProcessToolset(ProcessToolKind Kind, string Executable)
{
    /// <summary>The names the scripts call the tools by.</summary>
    public static IReadOnlyList<string> ToolNames { get; } =
        ["xenstore-read", "xenstore-write", "xenstore-list", "xenstore-exists", "xenstore-rm", "xenstore-chmod"];

    /// <summary>Where Debian's xenstore-utils installs its one executable.</summary>
    public const string DebianExecutable = "/usr/bin/xenstore";

    /// <summary>The environment variable naming our CLI's executable when no path is given.</summary>
    public const string OurCliVariable = "XENSTORE_CLI";

    /// <summary>Debian's tools; fails when xenstore-utils is not installed.</summary>
    public static ProcessToolset Debian() => File.Exists(DebianExecutable)
        ? new ProcessToolset(ProcessToolKind.Debian, DebianExecutable)
        : throw new FileNotFoundException("Debian's xenstore-utils is not installed (apt-get install xenstore-utils)",
            DebianExecutable);

    /// <summary>
    /// Our CLI: <paramref name="executable"/>, else <c>$XENSTORE_CLI</c>. What a user installs is the native build
    /// (<c>dotnet publish src/Xenstore.Cli -c Release -r linux-x64</c>, as scripts/test-native does); the apphost
    /// of a plain build works too but starts the .NET runtime for every call.
    /// </summary>
    public static ProcessToolset Ours(string? executable = null)
    {
        string? path = executable is { Length: > 0 } ? executable
            : Environment.GetEnvironmentVariable(OurCliVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment
            : null;
        if (path is null)
        {
            throw new InvalidOperationException(
                $"our xenstore CLI is not known: set {OurCliVariable} to its executable (the native build of src/Xenstore.Cli)");
        }

        return File.Exists(path)
            ? new ProcessToolset(ProcessToolKind.Ours, Path.GetFullPath(path))
            : throw new FileNotFoundException("our xenstore CLI is not there", path);
    }
}
