using CsCheck;
using Xenstore.Fuzz.Targets;

namespace Xenstore.Fuzz.Tests;

/// <summary>
/// A few thousand random inputs per target on every test run: no coverage guidance, but it keeps the targets and
/// their invariants honest between AFL runs. Corpus inputs are mutated too, so the random inputs reach past the
/// first syntax checks.
/// </summary>
public sealed class RandomInputTests
{
    public static TheoryData<string> Targets => new(FuzzTargets.All.Keys);

    [Theory]
    [MemberData(nameof(Targets))]
    public void RandomBytes_KeepTheInvariants(string target)
    {
        FuzzTarget fuzz = FuzzTargets.All[target];
        Gen.Byte.Array[0, 600].Sample(input => fuzz.Run(input), iter: 3000);
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void MutatedCorpusInputs_KeepTheInvariants(string target)
    {
        FuzzTarget fuzz = FuzzTargets.All[target];
        byte[][] corpus = Directory.EnumerateFiles(Path.Combine(CorpusReplayTests.CorpusFolder, target))
            .Order(StringComparer.Ordinal)
            .Select(File.ReadAllBytes)
            .ToArray();
        Assert.NotEmpty(corpus);
        Gen<byte[]> mutated =
            from seed in Gen.Int[0, corpus.Length - 1]
            from flips in Gen.Select(Gen.Int[0, 4096], Gen.Byte).Array[1, 8]
            select Mutate(corpus[seed], flips);
        mutated.Sample(input => fuzz.Run(input), iter: 2000);
    }

    private static byte[] Mutate(byte[] input, (int Position, byte Value)[] flips)
    {
        byte[] copy = (byte[])input.Clone();
        if (copy.Length == 0)
        {
            return copy;
        }
        foreach ((int position, byte value) in flips)
        {
            copy[position % copy.Length] = value;
        }
        return copy;
    }
}
