using Xenstore.Fuzz.Targets;

namespace Xenstore.Fuzz;

/// <summary>Runs saved inputs (a corpus, or AFL's crashes) through a target and reports the ones that fail.</summary>
public static class Replay
{
    /// <summary>Replays every file of <paramref name="directory"/>; returns the number of failing inputs.</summary>
    public static int Directory(string target, string directory, TextWriter log)
    {
        FuzzTarget fuzz = FuzzTargets.All[target];
        if (!System.IO.Directory.Exists(directory))
        {
            log.WriteLine($"{target}: no directory {directory}");
            return 1;
        }
        int count = 0;
        int failures = 0;
        foreach (string file in System.IO.Directory.EnumerateFiles(directory).Order(StringComparer.Ordinal))
        {
            count++;
            try
            {
                fuzz.Run(File.ReadAllBytes(file));
            }
#pragma warning disable CA1031 // A replay reports every failing input, whatever it throws.
            catch (Exception e)
#pragma warning restore CA1031
            {
                failures++;
                log.WriteLine($"{target}: {Path.GetFileName(file)}: {e.GetType().Name}: {e.Message}");
            }
        }
        log.WriteLine($"{target}: {count} inputs, {failures} failing");
        return failures;
    }
}
