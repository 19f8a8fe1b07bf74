using Xenstore.TestKit;

namespace Xenstore.Conformance.Tests;

/// <summary>Reducing a diverging sequence to the fewest steps that still diverge.</summary>
public sealed partial class RandomDifferentialTests
{
    /// <summary>
    /// Reduces a diverging sequence: removes ever smaller runs of steps as long as the same divergence (the same
    /// request and the same first differing lines) still shows.
    /// </summary>
    private static class SequenceMinimiser
    {
        public static async Task<RandomRequestSequence> MinimiseAsync(RandomRequestSequence sequence, int divergingStep, string signature,
            IDaemonUnderTest ours, IDaemonUnderTest reference)
        {
            List<RandomStep> steps = [.. sequence.Steps.Take(divergingStep + 1)];
            int chunk = Math.Max(1, steps.Count / 2);
            while (true)
            {
                bool removed = false;
                int start = 0;
                while (start < steps.Count)
                {
                    List<RandomStep> candidate = [.. steps.Take(start), .. steps.Skip(start + chunk)];
                    if (candidate.Count > 0 && await StillDivergesAsync(sequence.WithSteps(candidate), signature, ours, reference))
                    {
                        steps = candidate;
                        removed = true;
                    }
                    else
                    {
                        start += chunk;
                    }
                }
                if (!removed)
                {
                    if (chunk == 1)
                    {
                        RandomRequestSequence reduced = sequence.WithSteps(steps);
                        RandomRequestSequence compacted = WithoutUnusedConnections(reduced);
                        return await StillDivergesAsync(compacted, signature, ours, reference) ? compacted : reduced;
                    }
                    chunk /= 2;
                }
            }
        }

        /// <summary>The connections that still send something, renamed A, B, … in the order they first do.</summary>
        private static RandomRequestSequence WithoutUnusedConnections(RandomRequestSequence sequence)
        {
            var renamed = new Dictionary<int, int>();
            foreach (RandomStep step in sequence.Steps)
            {
                renamed.TryAdd(step.Connection, renamed.Count);
            }
            return sequence.WithSteps([.. sequence.Steps.Select(s => s with { Connection = renamed[s.Connection] })], renamed.Count);
        }

        private static async Task<bool> StillDivergesAsync(RandomRequestSequence candidate, string signature, IDaemonUnderTest ours, IDaemonUnderTest reference)
        {
            SequenceOutcome outcome = await SequenceComparison.RunAsync(candidate, ours, reference);
            return outcome.Divergences.Any(d => d.Signature == signature);
        }
    }
}
