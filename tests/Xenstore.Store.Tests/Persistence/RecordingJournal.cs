using System.Globalization;
using Xenstore.Protocol;
using Xenstore.Store;

namespace Xenstore.Store.Tests.Persistence;

/// <summary>A journal that records what it is given as one line per record.</summary>
internal sealed class RecordingJournal : IStateJournal
{
    public List<string> Records { get; } = [];

    public void NodeWritten(string path, ReadOnlySpan<byte> value, ReadOnlySpan<XsPermission> perms) =>
        Records.Add(("write " + path + " " + System.Text.Encoding.ASCII.GetString(value)).TrimEnd());

    public void NodeRemoved(string path) => Records.Add("remove " + path);

    public void DomainWritten(DomainRecord domain) => Records.Add("domain " + domain.Domid);

    public void DomainRemoved(uint domid) => Records.Add("domain removed " + domid);

    public void GlobalQuotaWritten(Quota quota, long value) => Records.Add("quota " + quota);

    public void RingWatchAdded(uint domid, WatchRecord watch) =>
        Records.Add(string.Create(CultureInfo.InvariantCulture, $"ring {domid} watch {watch.Path} {watch.Token} {(watch.Relative ? "relative" : "absolute")} {watch.Depth}"));

    public void RingWatchRemoved(uint domid, string path, string token) =>
        Records.Add(string.Create(CultureInfo.InvariantCulture, $"ring {domid} unwatch {path} {token}"));

    public void RingTransactionOpened(uint domid, uint transactionId) =>
        Records.Add(string.Create(CultureInfo.InvariantCulture, $"ring {domid} transaction {transactionId}"));

    public void RingTransactionEnded(uint domid, uint transactionId) =>
        Records.Add(string.Create(CultureInfo.InvariantCulture, $"ring {domid} transaction ended {transactionId}"));

    public void RingConnectionCleared(uint domid) => Records.Add(string.Create(CultureInfo.InvariantCulture, $"ring {domid} cleared"));

    /// <summary>The ring records only.</summary>
    public List<string> RingRecords => Records.Where(r => r.StartsWith("ring ", StringComparison.Ordinal)).ToList();
}
