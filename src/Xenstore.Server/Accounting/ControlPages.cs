using System.Globalization;
using Xenstore.Protocol;

namespace Xenstore.Server.Accounting;

/// <summary>
/// CONTROL replies longer than one message (4096 bytes, its NUL included). With <c>--offset N</c> the reply is
/// "remaining-after-this-page\n" and the page at N of a text rendered at offset 0 and kept for that connection
/// until it asks again from 0 or closes, so every page is of the same moment. Without it, a text that does not fit
/// is cut, with a note saying how to get it whole. Store thread only.
/// </summary>
internal sealed class ControlPages
{
    /// <summary>Page text per reply: the payload, less its NUL and the "remaining" line.</summary>
    public const int PageSize = XsConstants.PayloadMax - 32;

    private readonly Dictionary<int, string> _rendered = [];

    /// <summary>Takes <c>--offset N</c> out of <paramref name="args"/>; -1 when absent, null when malformed.</summary>
    public static int? TakeOffset(List<string> args)
    {
        int at = args.IndexOf("--offset");
        if (at < 0)
        {
            return -1;
        }
        if (at + 1 >= args.Count || !int.TryParse(args[at + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int offset))
        {
            return null;
        }
        args.RemoveRange(at, 2);
        return offset;
    }

    public string Reply(int connectionId, int offset, Func<string> render)
    {
        if (offset < 0)
        {
            _rendered.Remove(connectionId);
            string whole = render();
            if (whole.Length < XsConstants.PayloadMax)
            {
                return whole;
            }
            string note = string.Create(CultureInfo.InvariantCulture,
                $"\n... {{0}} more bytes: xenstore-control (Xenstore.NET) reads them with --offset\n");
            int cut = PageSize - note.Length;
            return whole[..cut] + string.Format(CultureInfo.InvariantCulture, note, whole.Length - cut);
        }
        if (offset == 0 || !_rendered.TryGetValue(connectionId, out string? text))
        {
            text = render();
            _rendered[connectionId] = text;
        }
        int start = Math.Min(offset, text.Length);
        int length = Math.Min(PageSize, text.Length - start);
        int remaining = text.Length - start - length;
        if (remaining == 0)
        {
            _rendered.Remove(connectionId);
        }
        return string.Concat(string.Create(CultureInfo.InvariantCulture, $"{remaining}\n"), text.AsSpan(start, length));
    }

    public void Forget(int connectionId) => _rendered.Remove(connectionId);
}
