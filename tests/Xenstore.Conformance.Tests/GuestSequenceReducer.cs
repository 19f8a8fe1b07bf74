namespace Xenstore.Conformance.Tests;

/// <summary>
/// Shrinks a diverging sequence to the fewest random steps that still show the same divergence (the toolstack's
/// set-up stays), by removing chunks of steps, then single steps (delta debugging).
/// </summary>
internal static class GuestSequenceReducer
{
    public static async Task<RandomGuestSequence> ReduceAsync(RandomGuestSequence sequence, Func<RandomGuestSequence, Task<bool>> stillDiverges)
    {
        List<GuestStep> steps = [.. sequence.Steps];
        int chunk = Math.Max(1, steps.Count / 2);
        while (true)
        {
            bool removed = false;
            for (int start = 0; start < steps.Count;)
            {
                List<GuestStep> candidate = [.. steps[..start], .. steps[Math.Min(steps.Count, start + chunk)..]];
                if (await stillDiverges(sequence.WithSteps(candidate)))
                {
                    steps = candidate;
                    removed = true;
                }
                else
                {
                    start += chunk;
                }
            }
            if (chunk == 1 && !removed)
            {
                return sequence.WithSteps(steps);
            }
            chunk = removed ? chunk : Math.Max(1, chunk / 2);
        }
    }
}
