using System.Diagnostics;

namespace Xenstore.TestKit;

/// <summary>
/// Where a reference daemon kind comes from: the script that runs it, the kind argument it takes, the home it is
/// set up in once, and the set-up products each instance's home links to instead of building them again.
/// "c" and "ocaml" are Debian's 4.17 daemons (<c>../shared/refxs</c>); "c422" is upstream C xenstored 4.22.0
/// (<c>../shared/refxs-new</c>).
/// </summary>
internal sealed record ReferenceSetup(string Folder, string Script, string ScriptKind, string SharedHome, string[] SetUpFiles, string[] Links)
{
    public static ReferenceSetup? For(string kind) => kind switch
    {
        "c" or "ocaml" => s_refxs with { ScriptKind = kind },
        "c422" => s_refxsNew,
        _ => null,
    };

    private static readonly ReferenceSetup s_refxs = new(
        "refxs", "refxs", "c", "/tmp/refxs",
        SetUpFiles: ["fakexen.so", "root/usr/lib/xen-4.17/bin/xenstored"],
        Links: ["root", "debs", "fakexen.so"]);

    // Each instance gets a "new" folder of its own (refxs-new writes the dom0 port and page files there at every
    // start) that links to the one build.
    private static readonly ReferenceSetup s_refxsNew = new(
        "refxs-new", "refxs-new", "c", "/tmp/refxs-new",
        SetUpFiles: ["new/fakexen.so", "new/bin/xenstored"],
        Links: ["new/bin", "new/lib", "new/fakexen.so"]);

    /// <summary>The script next to the repository, or null when that reference is not present here.</summary>
    public string? ScriptPath
    {
        get
        {
            string path = Path.GetFullPath(Path.Combine(RepositoryPaths.Root, "..", "shared", Folder, Script));
            return File.Exists(path) ? path : null;
        }
    }

    private static readonly SemaphoreSlim s_setupLock = new(1, 1);

    /// <summary>
    /// Sets the reference up in its shared home (only when a product is missing), then gives
    /// the calling instance a home of its own (own socket and rings) that links to the shared products.
    /// </summary>
    public async Task<string> PrepareHomeAsync(string script)
    {
        await s_setupLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!SetUpFiles.All(f => File.Exists(Path.Combine(SharedHome, f))))
            {
                var info = new ProcessStartInfo("bash") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
                info.ArgumentList.Add(script);
                info.ArgumentList.Add("setup");
                info.Environment["REFXS_HOME"] = SharedHome;
                using var setup = Process.Start(info)!;
                await setup.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
                await setup.StandardError.ReadToEndAsync().ConfigureAwait(false);
                await setup.WaitForExitAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            s_setupLock.Release();
        }
        string home = Directory.CreateTempSubdirectory(Folder + "-").FullName;
        foreach (string name in Links)
        {
            string target = Path.Combine(SharedHome, name);
            if (Path.Exists(target))
            {
                string link = Path.Combine(home, name);
                Directory.CreateDirectory(Path.GetDirectoryName(link)!);
                File.CreateSymbolicLink(link, target);
            }
        }
        return home;
    }
}
