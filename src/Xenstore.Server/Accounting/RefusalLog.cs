using Microsoft.Extensions.Logging;
using Xenstore.Store;

namespace Xenstore.Server.Accounting;

/// <summary>
/// Logs every refusal of an unprivileged domain's request, at most <see cref="Burst"/> lines per domain per
/// <see cref="Window"/>; the first line after a quiet spell says how many were left out. Store thread only.
/// </summary>
internal sealed class RefusalLog(TimeProvider time, ILogger logger)
{
    public const int Burst = 10;

    public static readonly TimeSpan Window = TimeSpan.FromSeconds(60);

    private readonly Dictionary<uint, State> _domains = [];

    public void Refused(XenstoreEngine engine, in Refusal refusal)
    {
        long now = time.GetTimestamp();
        if (!_domains.TryGetValue(refusal.Domid, out State? state))
        {
            state = new State { WindowStart = now };
            _domains.Add(refusal.Domid, state);
        }
        if (time.GetElapsedTime(state.WindowStart, now) >= Window)
        {
            state.WindowStart = now;
            state.Logged = 0;
        }
        if (state.Logged >= Burst)
        {
            state.Suppressed++;
            return;
        }
        state.Logged++;
        long suppressed = state.Suppressed;
        state.Suppressed = 0;
        string name = engine.Accounting.NameOf(refusal.Domid) ?? "-";
        string operation = OperationNames.Of(refusal.Operation);
        string path = refusal.Path.Length == 0 ? "-" : refusal.Path;
        if (refusal.Kind == RefusalKind.Quota)
        {
            Log.QuotaRefused(logger, refusal.Domid, name, operation, path, QuotaNames.Name(refusal.Quota), refusal.Limit, suppressed);
        }
        else
        {
            Log.PermissionRefused(logger, refusal.Domid, name, operation, path, suppressed);
        }
    }

    /// <summary>A released domain starts afresh if its id comes back.</summary>
    public void DomainReleased(uint domid) => _domains.Remove(domid);

    private sealed class State
    {
        public long WindowStart { get; set; }

        public int Logged { get; set; }

        public long Suppressed { get; set; }
    }
}
