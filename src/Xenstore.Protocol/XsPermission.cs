using System.Globalization;

namespace Xenstore.Protocol;

/// <summary>
/// One permission entry, <c>&lt;letter&gt;&lt;domid&gt;</c>. In a node's list the first entry names the owner and
/// the access of every domain not listed; the others grant access to specific domains.
/// </summary>
/// <param name="Access">The access granted.</param>
/// <param name="Domid">The domain the entry is about.</param>
public readonly record struct XsPermission(XsAccess Access, uint Domid)
{
    /// <summary>Parses <c>r5</c>, <c>w0</c>, <c>b12</c>, <c>n0</c>: one letter then a decimal domid.</summary>
    public static bool TryParse(ReadOnlySpan<byte> text, out XsPermission permission)
    {
        permission = default;
        if (text.Length < 2)
        {
            return false;
        }
        XsAccess access;
        switch (text[0])
        {
            case (byte)'n': access = XsAccess.None; break;
            case (byte)'r': access = XsAccess.Read; break;
            case (byte)'w': access = XsAccess.Write; break;
            case (byte)'b': access = XsAccess.Both; break;
            default: return false;
        }
        if (!PayloadArgs.TryParseUInt32(text[1..], out uint domid))
        {
            return false;
        }
        permission = new XsPermission(access, domid);
        return true;
    }

    /// <summary>The access letter: <c>n r w b</c>.</summary>
    public char Letter => Access switch
    {
        XsAccess.Read => 'r',
        XsAccess.Write => 'w',
        XsAccess.Both => 'b',
        _ => 'n',
    };

    /// <inheritdoc />
    public override string ToString() => Letter + Domid.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Parses a list of NUL-terminated entries (the SET_PERMS arguments after the path); at least one is required.
    /// Bytes after the last NUL are not an entry and are ignored, as C xenstored counts only terminated strings
    /// (<c>n0\0r1</c> is the list <c>n0</c>).
    /// </summary>
    public static XsPermission[]? TryParseList(ReadOnlySpan<byte> nulTerminatedEntries)
    {
        int lastNul = nulTerminatedEntries.LastIndexOf((byte)0);
        if (lastNul < 0)
        {
            return null;
        }
        ReadOnlySpan<byte> entries = nulTerminatedEntries[..lastNul];
        var list = new XsPermission[PayloadArgs.Count(nulTerminatedEntries)];
        int index = 0;
        foreach (Range range in entries.Split((byte)0))
        {
            if (!TryParse(entries[range], out list[index]))
            {
                return null;
            }
            index++;
        }
        return list;
    }
}
