namespace Xenstore.Server.Transports.Rings;

/// <summary>
/// XSA-206: a guest that writes fast enough can make every transaction that read what it writes fail at commit,
/// again and again, and so starve the toolstack. Like C xenstored, an unprivileged guest pays one credit for each
/// write made while somebody's transaction is open (a write outside a transaction; a commit while another
/// transaction is open), credits refill at a steady rate up to a small burst, and a guest whose credit is spent is
/// not read until it has earned it back: its requests wait in its ring, none is refused. Unlike C, the rate is per
/// domain rather than shared by every domain, so a host with many guests does not slow each one down.
/// </summary>
/// <param name="writesPerSecond">Refill rate; 0 turns the limit off.</param>
/// <param name="burst">The most credits a guest saves up (writes it can make at once).</param>
/// <param name="time">The clock (tests give one they move by hand).</param>
internal sealed class WriteRateLimit(int writesPerSecond, int burst, TimeProvider time)
{
    /// <summary>Credits are counted in thousandths of a write, so a refill over a fraction of a second is exact.</summary>
    private const long Scale = 1000;

    public bool Enabled => writesPerSecond > 0;

    public int WritesPerSecond => writesPerSecond;

    public int Burst => burst;

    /// <summary>A guest's account, full at first: a new guest may write its burst at once.</summary>
    public WriteCredit NewAccount() => new() { Balance = burst * Scale, Stamp = time.GetTimestamp() };

    /// <summary>Whether the guest must wait before its next request is read (its balance is below zero).</summary>
    public bool MustWait(WriteCredit account)
    {
        Refill(account);
        return account.Balance < 0;
    }

    /// <summary>Charges one write; the balance may go below zero by this one, as in C.</summary>
    public void Charge(WriteCredit account)
    {
        Refill(account);
        account.Balance -= Scale;
        account.Charged++;
    }

    /// <summary>How long until a waiting guest's balance is back to zero.</summary>
    public TimeSpan UntilReadable(WriteCredit account)
    {
        Refill(account);
        return account.Balance >= 0 || writesPerSecond == 0
            ? TimeSpan.Zero
            : TimeSpan.FromMilliseconds(Math.Ceiling(-account.Balance / (double)writesPerSecond));
    }

    private void Refill(WriteCredit account)
    {
        long now = time.GetTimestamp();
        TimeSpan elapsed = time.GetElapsedTime(account.Stamp, now);
        // writesPerSecond writes a second is writesPerSecond thousandths of a write a millisecond.
        long earned = (long)(elapsed.TotalMilliseconds * writesPerSecond);
        if (earned <= 0)
        {
            return;
        }
        account.Balance = Math.Min(account.Balance + earned, burst * Scale);
        account.Stamp = now;
    }
}

/// <summary>One guest's write credit (store thread only).</summary>
internal sealed class WriteCredit
{
    /// <summary>In thousandths of a write.</summary>
    public long Balance { get; set; }

    /// <summary>When the balance was last brought up to date.</summary>
    public long Stamp { get; set; }

    /// <summary>Writes charged, for the operator's view.</summary>
    public long Charged { get; set; }

    /// <summary>Times the guest had to wait, for the operator's view and the log.</summary>
    public long Waits { get; set; }
}
