namespace Xenstore.Fuzz.Targets;

/// <summary>
/// A fuzz target, independent of the fuzzing engine: it takes arbitrary bytes and throws
/// <see cref="FuzzInvariantException"/> (or lets any other exception escape) when the code under test misbehaves.
/// </summary>
public interface IFuzzTarget
{
    /// <summary>Runs one input through the code under test and checks its invariants.</summary>
    static abstract void Fuzz(ReadOnlySpan<byte> input);
}
