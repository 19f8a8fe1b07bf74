using Xenstore.Fuzz;
using Xenstore.Fuzz.Targets;
using Xenstore.TestKit;

namespace Xenstore.Fuzz.Tests;

/// <summary>
/// The checked-in corpus (fuzz/corpus/&lt;target&gt;/: hand-made <c>seed-*</c> inputs and the <c>afl-*</c> ones AFL
/// found new coverage with) replayed through every target, so a regression found once by fuzzing stays found
/// without a fuzzer.
/// </summary>
public sealed class CorpusReplayTests
{
    private static readonly string s_corpus = Path.Combine(RepositoryPaths.Root, "fuzz", "corpus");

    /// <summary>fuzz/corpus in the repository.</summary>
    public static string CorpusFolder => s_corpus;

    public static TheoryData<string, string> CorpusFiles()
    {
        var data = new TheoryData<string, string>();
        foreach (string target in FuzzTargets.All.Keys)
        {
            string folder = Path.Combine(s_corpus, target);
            if (!Directory.Exists(folder))
            {
                continue;
            }
            foreach (string file in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
            {
                data.Add(target, Path.GetFileName(file));
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public void CorpusInput_PassesItsTarget(string target, string file)
    {
        FuzzTargets.All[target].Run(File.ReadAllBytes(Path.Combine(s_corpus, target, file)));
    }

    [Fact]
    public void EveryTarget_HasACorpus()
    {
        foreach (string target in FuzzTargets.All.Keys)
        {
            string folder = Path.Combine(s_corpus, target);
            Assert.True(Directory.Exists(folder), $"target {target} has no corpus folder {folder}");
            Assert.True(Directory.EnumerateFiles(folder).Count() >= 5, $"target {target} has fewer than 5 corpus inputs");
        }
    }

    [Fact]
    public void EveryCorpusFolder_NamesATarget()
    {
        foreach (string folder in Directory.EnumerateDirectories(s_corpus))
        {
            Assert.Contains(Path.GetFileName(folder), FuzzTargets.All.Keys);
        }
    }

    [Fact]
    public void CorpusInputs_AreSmall()
    {
        foreach (string file in Directory.EnumerateFiles(s_corpus, "*", SearchOption.AllDirectories))
        {
            Assert.True(new FileInfo(file).Length <= 8192, $"{file} is larger than 8 KiB");
        }
    }

    [Fact]
    public void EveryTargetClass_IsRegistered()
    {
        Type[] classes = typeof(IFuzzTarget).Assembly.GetTypes()
            .Where(t => t.IsClass && t.IsAssignableTo(typeof(IFuzzTarget)))
            .ToArray();
        Assert.NotEmpty(classes);
        Assert.Equal(classes.OrderBy(t => t.Name), FuzzTargets.All.Values.Select(t => t.Type).OrderBy(t => t.Name));
    }

    [Fact]
    public void ReplayMode_ReportsEveryTargetClean()
    {
        using var log = new StringWriter();
        foreach (string target in FuzzTargets.All.Keys)
        {
            Assert.Equal(0, Replay.Directory(target, Path.Combine(s_corpus, target), log));
        }
    }
}
