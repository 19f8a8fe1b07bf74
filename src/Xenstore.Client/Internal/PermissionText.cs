using System.Globalization;
using Xenstore.Protocol;

namespace Xenstore.Client.Internal;

/// <summary>
/// Permission entries as libxenstore reads and writes them: the domid is parsed like <c>strtol(p, 0)</c> (C
/// xenstored answers <c>r-1</c> for domid 0xffffffff, and accepts hex) and printed as a signed int (<c>%i</c>).
/// </summary>
internal static class PermissionText
{
    public static string Format(XsPermission permission) =>
        permission.Letter + ((int)permission.Domid).ToString(CultureInfo.InvariantCulture);

    public static bool TryParse(string text, out XsPermission permission)
    {
        permission = default;
        if (text.Length < 2)
        {
            return false;
        }
        XsAccess access;
        switch (text[0])
        {
            case 'n': access = XsAccess.None; break;
            case 'r': access = XsAccess.Read; break;
            case 'w': access = XsAccess.Write; break;
            case 'b': access = XsAccess.Both; break;
            default: return false;
        }
        ReadOnlySpan<char> number = text.AsSpan(1);
        bool negative = false;
        if (number[0] is '-' or '+')
        {
            negative = number[0] == '-';
            number = number[1..];
        }
        long value;
        bool ok = number.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? long.TryParse(number[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
            : long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        if (!ok)
        {
            return false;
        }
        permission = new XsPermission(access, unchecked((uint)(negative ? -value : value)));
        return true;
    }
}
