using System.Text;

namespace Xenstore.Store.Requests;

/// <summary>The NUL-separated string arguments of CONTROL, GET_QUOTA and SET_QUOTA.</summary>
internal static class PayloadStrings
{
    public static string[] Split(ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty)
        {
            return [];
        }
        ReadOnlySpan<byte> terminated = payload[^1] == 0 ? payload[..^1] : payload;
        var result = new List<string>();
        foreach (Range range in terminated.Split((byte)0))
        {
            result.Add(Encoding.Latin1.GetString(terminated[range]));
        }
        return [.. result];
    }
}
