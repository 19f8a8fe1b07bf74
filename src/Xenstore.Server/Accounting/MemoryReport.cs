using System.Globalization;
using System.Text;
using Xenstore.Store;

namespace Xenstore.Server.Accounting;

/// <summary>
/// CONTROL memreport: the engine's structures by domain (estimated bytes: node objects, values stored apart, child
/// lists, watches) and the output buffers its connections hold, each column summed in the total row; then the
/// process as the runtime sees it.
/// </summary>
internal static class MemoryReport
{
    public static string Render(AccountingSnapshot snapshot, long journalBytes)
    {
        var text = new StringBuilder("Memory by domain (estimated bytes):\n");
        text.Append("domid name              nodes       node-bytes     values child-lists    watches     output      total\n");
        StoreMemory sum = default;
        long nodes = 0;
        long output = 0;
        foreach (DomainRow row in snapshot.Domains)
        {
            StoreMemory memory = row.Usage.Memory;
            // The root node counts in domain 0's memory, not in its node quota.
            long count = row.Usage.Nodes + (row.Domid == 0 ? 1 : 0);
            Row(text, row.Domid.ToString(CultureInfo.InvariantCulture), AccountingText.Printable(row.Usage.Name, 16), count, memory, row.OutputBuffers);
            sum += memory;
            nodes += count;
            output += row.OutputBuffers;
        }
        Row(text, "total", "", nodes, sum, output);
        GCMemoryInfo info = GC.GetGCMemoryInfo();
        text.Append(CultureInfo.InvariantCulture, $"journal-bytes-written: {journalBytes}\n");
        text.Append(CultureInfo.InvariantCulture, $"heap-size: {info.HeapSizeBytes}\n");
        text.Append(CultureInfo.InvariantCulture, $"managed-allocated: {GC.GetTotalMemory(false)}\n");
        text.Append(CultureInfo.InvariantCulture, $"working-set: {Environment.WorkingSet}\n");
        text.Append(CultureInfo.InvariantCulture, $"gc-count: {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}\n");
        return text.ToString();
    }

    private static void Row(StringBuilder text, string domid, string name, long nodes, StoreMemory memory, long output) =>
        text.Append(CultureInfo.InvariantCulture,
            $"{domid,5} {name,-16} {nodes,6} {memory.Nodes,16} {memory.Values,10} {memory.ChildLists,11} {memory.Watches,10} {output,10} {memory.Total + output,10}\n");
}
