using System.Globalization;
using System.Text;
using Xenstore.Client;

namespace Xenstore.Cli;

/// <summary>
/// Reads a CONTROL reply that may be longer than one message. The request goes as given first (any daemon
/// understands it); only when our daemon says the text was cut does it ask again page by page with
/// <c>--offset N</c>, each answer being "bytes-remaining\n" and the page.
/// </summary>
internal static class ControlPaging
{
    private const string CutMarker = " more bytes: xenstore-control (Xenstore.NET) reads them with --offset\n";

    public static async Task<string> ReadAsync(XenstoreClient client, string command, IReadOnlyList<string> args)
    {
        string answer = await client.ControlAsync(command, args).ConfigureAwait(false);
        if (!answer.EndsWith(CutMarker, StringComparison.Ordinal) || args.Contains("--offset"))
        {
            return answer;
        }
        var whole = new StringBuilder();
        int offset = 0;
        while (true)
        {
            string page = await client.ControlAsync(command, [.. args, "--offset", offset.ToString(CultureInfo.InvariantCulture)])
                .ConfigureAwait(false);
            int newline = page.IndexOf('\n', StringComparison.Ordinal);
            if (newline < 0 || !int.TryParse(page.AsSpan(0, newline), NumberStyles.None, CultureInfo.InvariantCulture, out int remaining))
            {
                return page;
            }
            whole.Append(page, newline + 1, page.Length - newline - 1);
            offset += page.Length - newline - 1;
            if (remaining == 0)
            {
                return whole.ToString();
            }
        }
    }
}
