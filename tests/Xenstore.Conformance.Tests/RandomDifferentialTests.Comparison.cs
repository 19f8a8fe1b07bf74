using System.Globalization;
using System.Text;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Conformance.Tests;

/// <summary>Running a sequence on both daemons in lockstep and describing where they differ.</summary>
public sealed partial class RandomDifferentialTests
{
    /// <summary>
    /// How a sequence went: how many steps ran, why it ended early (if it did), and every step whose transcript
    /// differed.
    /// </summary>
    private sealed record SequenceOutcome(int StepsRun, string? StoppedBecause, IReadOnlyList<StepDivergence> Divergences);

    /// <summary>A step whose transcripts differ, with the transcript of every step before it.</summary>
    private sealed record StepDivergence(int StepIndex, IReadOnlyList<string> AgreedBefore, IReadOnlyList<string> Ours, IReadOnlyList<string> Reference)
    {
        /// <summary>The request and the first pair of lines that differ: what a reduction of the sequence must keep.</summary>
        public string Signature
        {
            get
            {
                int i = 0;
                while (i < Ours.Count && i < Reference.Count && Ours[i] == Reference[i])
                {
                    i++;
                }
                string oursLine = i < Ours.Count ? Ours[i] : "(nothing)";
                string referenceLine = i < Reference.Count ? Reference[i] : "(nothing)";
                return $"{WithoutConnection(Ours[0])} => ours {WithoutConnection(oursLine)} / c422 {WithoutConnection(referenceLine)}";
            }
        }

        /// <summary>A line without its connection's name, so that a reduction may drop and rename connections.</summary>
        private static string WithoutConnection(string line) => line.Length > 1 && line[1] is '<' or '>' ? line[1..] : line;

        public string Describe(int seed)
        {
            const int context = 40;
            var text = new StringBuilder();
            text.Append(CultureInfo.InvariantCulture, $"seed {seed} diverges from C 4.22 at step {StepIndex}\n");
            text.Append(CultureInfo.InvariantCulture, $"--- agreed before (last {context} lines)\n");
            foreach (string line in AgreedBefore.TakeLast(context))
            {
                text.Append(line).Append('\n');
            }
            text.Append("--- ours\n").Append(string.Join('\n', Ours)).Append('\n');
            text.Append("--- c422\n").Append(string.Join('\n', Reference)).Append('\n');
            return text.ToString();
        }
    }

    /// <summary>Runs sequences in lockstep on two daemons and compares each step's transcript.</summary>
    private static class SequenceComparison
    {
        private static int s_runs;

        /// <summary>A prefix of the placeholder's width that no earlier run used (runs share the daemons).</summary>
        public static string NextPrefix() =>
            "q" + Interlocked.Increment(ref s_runs).ToString("d7", CultureInfo.InvariantCulture);

        /// <summary>
        /// Runs <paramref name="sequence"/> on both daemons step by step. After a divergence that cannot have left the
        /// two stores different (both answered with an error, only events differ, or a query outside transactions) the
        /// sequence goes on, so that one divergence does not hide the next; after any other it stops.
        /// </summary>
        public static async Task<SequenceOutcome> RunAsync(RandomRequestSequence sequence, IDaemonUnderTest ours, IDaemonUnderTest reference)
        {
            string prefix = NextPrefix();
            await using SequenceRun oursRun = await SequenceRun.OpenAsync(ours, sequence.Connections, prefix);
            await using SequenceRun referenceRun = await SequenceRun.OpenAsync(reference, sequence.Connections, prefix);
            var agreed = new List<string>();
            var divergences = new List<StepDivergence>();
            var changedOutside = new Dictionary<int, bool>();
            for (int i = 0; i < sequence.Steps.Count; i++)
            {
                RandomStep step = sequence.Steps[i];
                Task<StepResult> oursStep = oursRun.ExecuteAsync(step);
                Task<StepResult> referenceStep = referenceRun.ExecuteAsync(step);
                StepResult oursResult = await oursStep;
                StepResult referenceResult = await referenceStep;
                if (!oursResult.Lines.SequenceEqual(referenceResult.Lines))
                {
                    if (IsChildListMerge(step, oursResult, referenceResult, changedOutside))
                    {
                        return new SequenceOutcome(i, $"step {i}: a commit C 4.22 refuses because the store changed outside the transaction (child lists merge: docs/COMPATIBILITY.md, Deliberate differences)", divergences);
                    }
                    divergences.Add(new StepDivergence(i, [.. agreed], oursResult.Lines, referenceResult.Lines));
                    if (!LeavesStoresAlike(step, oursResult, referenceResult))
                    {
                        return new SequenceOutcome(i + 1, $"step {i}: the stores may differ from here on", divergences);
                    }
                    agreed.Add($"# step {i} diverged; ours:");
                }
                agreed.AddRange(oursResult.Lines);
                TrackOutsideChanges(step, oursResult.Reply, changedOutside);
            }
            await oursRun.RemoveSubtreesAsync();
            await referenceRun.RemoveSubtreesAsync();
            return new SequenceOutcome(sequence.Steps.Count, null, divergences);
        }

        /// <summary>A divergence after which both stores (nodes, watches, transactions) are still the same.</summary>
        private static bool LeavesStoresAlike(RandomStep step, StepResult ours, StepResult reference)
        {
            if (ours.Reply is null || reference.Reply is null)
            {
                return false;
            }
            bool bothFailed = ours.Reply.IsError && reference.Reply.IsError;
            bool sameReply = ours.Reply.Type == reference.Reply.Type && ours.Reply.Payload.AsSpan().SequenceEqual(reference.Reply.Payload)
                && step.StartsTransaction == 0;
            bool query = step.Type is XsMessageType.Read or XsMessageType.Directory or XsMessageType.DirectoryPart or XsMessageType.GetPerms
                && step.Transaction == RandomStep.NoTransaction;
            return bothFailed || sameReply || query;
        }

        /// <summary>The whole transcript of a sequence on one daemon (for a report: every step, whatever it answers).</summary>
        public static async Task<IReadOnlyList<string>> RunAloneAsync(RandomRequestSequence sequence, IDaemonUnderTest daemon)
        {
            await using SequenceRun run = await SequenceRun.OpenAsync(daemon, sequence.Connections, NextPrefix());
            var lines = new List<string>();
            foreach (RandomStep step in sequence.Steps)
            {
                lines.AddRange((await run.ExecuteAsync(step)).Lines);
            }
            await run.RemoveSubtreesAsync();
            return lines;
        }

        /// <summary>
        /// The deliberate difference "transactions: a parent's child list" (docs/COMPATIBILITY.md): where a
        /// transaction and a change made outside it while it was open touch different children of one parent, ours
        /// commits and C 4.22 answers EAGAIN. The two stores differ from then on, so the sequence stops there. Only a
        /// commit of a transaction during which the store did change outside it qualifies.
        /// </summary>
        private static bool IsChildListMerge(RandomStep step, StepResult ours, StepResult reference, Dictionary<int, bool> changedOutside) =>
            step.Commits
            && changedOutside.GetValueOrDefault(step.Transaction)
            && ours.Reply is { IsOk: true }
            && reference.Reply is { ErrorName: "EAGAIN" };

        /// <summary>Marks the open transactions during which the store changed outside them.</summary>
        private static void TrackOutsideChanges(RandomStep step, RawMessage? reply, Dictionary<int, bool> changedOutside)
        {
            bool succeeded = reply is { IsError: false };
            if (step.StartsTransaction > 0 && succeeded)
            {
                changedOutside[step.StartsTransaction] = false;
            }
            bool changedStore = succeeded && ((step.Modifies && step.Transaction == RandomStep.NoTransaction) || step.Commits);
            if (changedStore)
            {
                foreach (int handle in changedOutside.Keys.Where(h => h != step.Transaction).ToList())
                {
                    changedOutside[handle] = true;
                }
            }
            if (step.EndsTransaction)
            {
                changedOutside.Remove(step.Transaction);
            }
        }
    }
}
