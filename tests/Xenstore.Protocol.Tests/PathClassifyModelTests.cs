using CsCheck;

namespace Xenstore.Protocol.Tests;

/// <summary>
/// <see cref="XsPath.Classify"/> (vectorised scans) against the rules read one byte at a time, as
/// docs/misc/xenstore.txt states them, over every byte value and over random paths near the edges of the rules.
/// </summary>
public sealed class PathClassifyModelTests
{
    private static XsPathKind Model(ReadOnlySpan<byte> path)
    {
        if (path.Length == 0)
        {
            return XsPathKind.Invalid;
        }
        for (int i = 0; i < path.Length; i++)
        {
            byte b = path[i];
            bool allowed = b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9')
                or (byte)'-' or (byte)'/' or (byte)'_' or (byte)'@';
            if (!allowed || (b == (byte)'/' && i > 0 && path[i - 1] == (byte)'/'))
            {
                return XsPathKind.Invalid;
            }
        }
        if (path[0] == (byte)'@')
        {
            return XsPathKind.Special;
        }
        if (path.Length > 1 && path[^1] == (byte)'/')
        {
            return XsPathKind.Invalid;
        }
        return path[0] == (byte)'/' ? XsPathKind.Absolute : XsPathKind.Relative;
    }

    [Fact]
    public void EveryByte_AloneAndInsideAPath_IsClassifiedAsTheModelDoes()
    {
        for (int b = 0; b < 256; b++)
        {
            byte[][] paths =
            [
                [(byte)b],
                [(byte)'/', (byte)b],
                [(byte)b, (byte)'/'],
                [.. "/local/domain/0/"u8, (byte)b, .. "x"u8],
                // Long enough for the vector paths of the scans, with the byte at the end.
                [.. "/abcdefghijklmnopqrstuvwxyz/abcdefghijklmnopqrstuvwxyz/"u8, (byte)b],
            ];
            foreach (byte[] path in paths)
            {
                Assert.True(Model(path) == XsPath.Classify(path), $"byte {b} in {Convert.ToHexString(path)}");
            }
        }
        Assert.Equal(XsPathKind.Invalid, XsPath.Classify([.. "/abcdefghijklmnopqrstuvwxyz/abcdefghijklmnopqrstuvwxyz"u8, (byte)'/', (byte)'/', (byte)'a']));
        Assert.Equal(XsPathKind.Absolute, XsPath.Classify("/"u8));
        Assert.Equal(XsPathKind.Special, XsPath.Classify("@/"u8));
        Assert.Equal(XsPathKind.Invalid, XsPath.Classify("@//"u8));
    }

    [Fact]
    public void RandomPaths_AreClassifiedAsTheModelDoes()
    {
        // Mostly the bytes the rules turn on, some others, lengths across the vector widths.
        Gen<byte> oneByte = Gen.Frequency(
            (8, Gen.Int[0, 4].Select(i => "aZ5-_"u8[i])),
            (5, Gen.Const((byte)'/')),
            (1, Gen.Const((byte)'@')),
            (1, Gen.Byte));
        oneByte.Array[0, 140].Sample(path => Model(path) == XsPath.Classify(path), iter: 20_000);
    }
}
