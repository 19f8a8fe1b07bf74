namespace Xenstore.TestKit;

/// <summary>Locates the repository and the sibling <c>shared/</c> folder from a test's working directory.</summary>
public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>The build configuration the tests were built with, so the daemon is taken from the same build.</summary>
    public static string Configuration =>
#if DEBUG
        "Debug";
#else
        "Release";
#endif

    /// <summary><c>../shared/refxs/refxs</c> next to the repository, or null when absent.</summary>
    public static string? RefxsScript
    {
        get
        {
            string path = Path.GetFullPath(Path.Combine(Root, "..", "shared", "refxs", "refxs"));
            return File.Exists(path) ? path : null;
        }
    }

    private static string FindRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Xenstore.slnx")))
        {
            dir = Path.GetDirectoryName(dir);
        }
        return dir ?? throw new InvalidOperationException("Xenstore.slnx not found above " + AppContext.BaseDirectory);
    }
}
