using System.Text;
using Xenstore.Protocol;

namespace Xenstore.Server.Accounting;

/// <summary>Message types as xs_wire.h names them without the XS_ prefix: READ, TRANSACTION_START.</summary>
internal static class OperationNames
{
    private static readonly string[] s_names = Enumerable.Range(0, ConnectionCounters.TypeSlots)
        .Select(i => i == ConnectionCounters.TypeSlots - 1 ? "OTHER" : Upper(((XsMessageType)i).ToString()))
        .ToArray();

    public static string Of(XsMessageType type) => s_names[ConnectionCounters.Slot(type)];

    public static string OfSlot(int slot) => s_names[slot];

    private static string Upper(string name)
    {
        var text = new StringBuilder();
        foreach (char c in name)
        {
            if (char.IsUpper(c) && text.Length > 0)
            {
                text.Append('_');
            }
            text.Append(char.ToUpperInvariant(c));
        }
        return text.ToString();
    }
}
