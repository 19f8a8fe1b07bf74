using System.Text;
using Xenstore.Protocol;

namespace Xenstore.Fuzz.Targets;

/// <summary>
/// Permission lists as SET_PERMS carries them (<c>b0\0r5\0</c>): a parsed list formats back to text that parses to
/// the same list, and the list parser agrees with the single-entry parser on every entry.
/// </summary>
public sealed class PermissionTarget : IFuzzTarget
{
    public static void Fuzz(ReadOnlySpan<byte> input)
    {
        if (XsPermission.TryParse(input, out XsPermission single))
        {
            FuzzInvariantException.Check(single.Letter is 'n' or 'r' or 'w' or 'b', "unknown access letter");
            byte[] formatted = Encoding.ASCII.GetBytes(single.ToString());
            FuzzInvariantException.Check(XsPermission.TryParse(formatted, out XsPermission again) && again == single, $"{single} does not round-trip");
        }

        XsPermission[]? list = XsPermission.TryParseList(input);
        if (list is null)
        {
            return;
        }
        FuzzInvariantException.Check(list.Length >= 1, "an empty permission list was accepted");
        FuzzInvariantException.Check(list.Length == PayloadArgs.Count(input), "list length differs from the number of entries");
        int start = 0;
        foreach (XsPermission entry in list)
        {
            int nul = input[start..].IndexOf((byte)0) + start;
            FuzzInvariantException.Check(XsPermission.TryParse(input[start..nul], out XsPermission alone) && alone == entry, "list and single-entry parsers disagree");
            start = nul + 1;
        }
        var text = new StringBuilder();
        foreach (XsPermission entry in list)
        {
            text.Append(entry.ToString()).Append('\0');
        }
        byte[] bytes = Encoding.ASCII.GetBytes(text.ToString());
        XsPermission[]? reparsed = XsPermission.TryParseList(bytes);
        FuzzInvariantException.Check(reparsed is not null && reparsed.AsSpan().SequenceEqual(list), "formatted list does not parse back to itself");
    }
}
