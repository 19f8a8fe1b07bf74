using Xenstore.TestKit;

namespace Xenstore.Conformance.Tests;

/// <summary>
/// One row of the differential table: a script of raw requests and the transcript each daemon must produce, each
/// verified by running it. <see cref="Expected"/> is C xenstored 4.17's; <see cref="C422"/> is set only where
/// C 4.22 answers differently (with <see cref="Change422"/> saying what changed); ours follows 4.22, so
/// <see cref="Ours"/> is set only where ours differs from C 4.22 on purpose, with <see cref="Reason"/>.
/// A transcript given as <see cref="ScenarioTable.Golden"/> lives in <c>expected/&lt;slug&gt;.txt</c> (and
/// <c>.c422.txt</c>, <c>.ours.txt</c>), for rows too long to read well inline.
/// </summary>
public sealed record Scenario(string Name, Func<Session, Task> Run, string Expected)
{
    /// <summary>The file-name form of <see cref="Name"/>.</summary>
    public string Slug => string.Concat(Name.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_'));

    /// <summary>C 4.22's transcript, where it differs from C 4.17's.</summary>
    public string? C422 { get; init; }

    /// <summary>What 4.22 changed, where <see cref="C422"/> is set.</summary>
    public string? Change422 { get; init; }

    /// <summary>Ours, where it differs from C 4.22 (or from 4.17 where 4.22 agrees with it) on purpose.</summary>
    public string? Ours { get; init; }

    /// <summary>Why ours differs, where <see cref="Ours"/> is set.</summary>
    public string? Reason { get; init; }

    /// <summary>
    /// The transcript <paramref name="kind"/> must produce: each kind takes the first transcript of its chain that
    /// is set — C 4.17: its own; C 4.22: its own, else 4.17's; ours: its own, else 4.22's, else 4.17's.
    /// </summary>
    public string ExpectedFor(string kind)
    {
        (string? text, string suffix) = Chain(kind).First(t => t.Text is not null);
        if (text != ScenarioTable.Golden)
        {
            return text!;
        }
        string file = Path.Combine(AppContext.BaseDirectory, "expected", Slug + suffix);
        return File.Exists(file) ? File.ReadAllText(file) : $"(no expected transcript: {file})\n";
    }

    /// <summary>Why <paramref name="kind"/>'s transcript differs from C 4.17's, or null where it does not.</summary>
    public string? DifferenceFor(string kind) => kind switch
    {
        _ when DaemonKinds.IsOurs(kind) && Ours is not null => $"ours differs on purpose: {Reason}",
        _ when kind != "c" && C422 is not null => $"4.22 differs from 4.17: {Change422}",
        _ => null,
    };

    private IEnumerable<(string? Text, string Suffix)> Chain(string kind)
    {
        if (DaemonKinds.IsOurs(kind))
        {
            yield return (Ours, ".ours.txt");
        }
        if (kind != "c")
        {
            yield return (C422, ".c422.txt");
        }
        yield return (Expected, ".txt");
    }

    public override string ToString() => Name;
}
