using System.Globalization;
using System.Text;

namespace Xenstore.Conformance.Tests;

/// <summary>Where two transcripts of one sequence first differ.</summary>
internal sealed record GuestDivergence(int LineIndex, GuestTranscriptLine? Ours, GuestTranscriptLine? Reference)
{
    /// <summary>
    /// What makes the divergence this one and not another, for reducing a sequence: the kind of line, the request
    /// type and both answers (a request line differs only after an earlier difference).
    /// </summary>
    public string Signature
    {
        get
        {
            GuestTranscriptLine? line = Ours ?? Reference;
            string type = line?.Step?.Type.ToString() ?? "";
            return $"{line?.Kind} {type}: ours {Ours?.Text ?? "(nothing)"} / reference {Reference?.Text ?? "(nothing)"}";
        }
    }
}

/// <summary>The outcome of comparing our transcript of a sequence with a reference daemon's.</summary>
internal sealed record GuestComparison(GuestDivergence? Divergence, string? DeliberateDifference, int AgreedLines)
{
    public bool Agrees => Divergence is null;
}

/// <summary>Compares two transcripts line by line, up to the first difference.</summary>
internal static class GuestTranscriptComparison
{
    /// <summary>
    /// docs/COMPATIBILITY.md, deliberate difference "transactions: a parent's child list": ours merges the child
    /// lists of transactions that create or remove different children of one parent, where C refuses the commit with
    /// EAGAIN. From such a commit on the trees differ, so the comparison ends there.
    /// </summary>
    public const string ChildListMerge = "docs/COMPATIBILITY.md \"transactions: a parent's child list\": ours commits, C answers EAGAIN";

    public static GuestComparison Compare(IReadOnlyList<GuestTranscriptLine> ours, IReadOnlyList<GuestTranscriptLine> reference)
    {
        int count = Math.Max(ours.Count, reference.Count);
        for (int i = 0; i < count; i++)
        {
            GuestTranscriptLine? mine = i < ours.Count ? ours[i] : null;
            GuestTranscriptLine? theirs = i < reference.Count ? reference[i] : null;
            if (mine is not null && theirs is not null && mine.Kind == theirs.Kind && mine.Text == theirs.Text)
            {
                continue;
            }
            if (mine is { Kind: GuestLineKind.Reply, Step.IsCommit: true, Text: "OK" } && theirs is { Kind: GuestLineKind.Reply, Text: "ERROR EAGAIN" })
            {
                return new GuestComparison(null, ChildListMerge, i);
            }
            return new GuestComparison(new GuestDivergence(i, mine, theirs), null, i);
        }
        return new GuestComparison(null, null, count);
    }

    /// <summary>The lines before a divergence and both sides after it, for a failure message.</summary>
    public static string Explain(GuestDivergence divergence, IReadOnlyList<GuestTranscriptLine> ours, IReadOnlyList<GuestTranscriptLine> reference, string referenceKind)
    {
        var sb = new StringBuilder();
        int from = Math.Max(0, divergence.LineIndex - 12);
        for (int i = from; i < divergence.LineIndex; i++)
        {
            sb.Append("   ").Append(ours[i]).Append('\n');
        }
        sb.Append("--- ours\n");
        foreach (GuestTranscriptLine line in ours.Skip(divergence.LineIndex).Take(6))
        {
            sb.Append("   ").Append(line).Append('\n');
        }
        sb.Append(CultureInfo.InvariantCulture, $"--- {referenceKind}\n");
        foreach (GuestTranscriptLine line in reference.Skip(divergence.LineIndex).Take(6))
        {
            sb.Append("   ").Append(line).Append('\n');
        }
        return sb.ToString();
    }
}
