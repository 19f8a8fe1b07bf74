namespace Xenstore.Server.Persistence;

/// <summary>CRC-32 (IEEE 802.3, reflected), to detect torn or corrupted records.</summary>
internal static class Crc32
{
    private static readonly uint[] s_table = BuildTable();

    public const uint Initial = 0xffffffff;

    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Append(Initial, data));

    /// <summary>Continues a running CRC over more bytes; start with <see cref="Initial"/>, end with <see cref="Finish"/>.</summary>
    public static uint Append(uint state, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            state = s_table[(state ^ b) & 0xff] ^ (state >> 8);
        }
        return state;
    }

    public static uint Finish(uint state) => ~state;

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xedb88320 ^ (c >> 1) : c >> 1;
            }
            table[i] = c;
        }
        return table;
    }
}
