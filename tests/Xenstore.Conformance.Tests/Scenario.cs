using Xenstore.TestKit;

namespace Xenstore.Conformance.Tests;

/// <summary>
/// One row of the differential table: a script of raw requests and the transcript C xenstored 4.17 produces
/// (verified by running it). <see cref="Ours"/> is set only where our daemon differs on purpose (protocol level
/// 4.22, or a documented improvement), with the reason; it then holds the transcript ours must produce.
/// A transcript given as <see cref="ScenarioTable.Golden"/> lives in <c>expected/&lt;slug&gt;.txt</c> (and
/// <c>.ours.txt</c>), for rows too long to read well inline.
/// </summary>
public sealed record Scenario(string Name, Func<Session, Task> Run, string Expected)
{
    /// <summary>The file-name form of <see cref="Name"/>.</summary>
    public string Slug => string.Concat(Name.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_'));

    public string? Ours { get; init; }

    public string? Reason { get; init; }

    /// <summary>Skip this row for "ours" (behaviour we neither copy from C 4.17 nor can verify for 4.22).</summary>
    public bool OursUnchecked { get; init; }

    public string ExpectedFor(string kind)
    {
        bool ours = DaemonKinds.IsOurs(kind) && Ours is not null;
        string text = ours ? Ours! : Expected;
        if (text != ScenarioTable.Golden)
        {
            return text;
        }
        string file = Path.Combine(AppContext.BaseDirectory, "expected", Slug + (ours ? ".ours.txt" : ".txt"));
        return File.Exists(file) ? File.ReadAllText(file) : $"(no expected transcript: {file})\n";
    }

    public override string ToString() => Name;
}
