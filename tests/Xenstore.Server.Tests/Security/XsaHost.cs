using System.Globalization;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Server.Tests.Security;

/// <summary>
/// A daemon with guests on real shared rings (the simulated hypervisor's convention, which the reference daemons
/// share through refxs and refxs-new with <c>REFXS_RINGS=1</c>) and a dom0 toolstack on its socket: the stage every
/// advisory's attack is replayed on. "ours" is our daemon as a process; "c" Debian's C xenstored 4.17; "c422"
/// upstream C xenstored 4.22.0. A reference that is absent skips the test.
/// </summary>
public sealed class XsaHost : IAsyncDisposable
{
    private readonly List<SimulatedGuest> _guests = [];

    private XsaHost(IDaemonUnderTest daemon, string ringDirectory, RawConnection dom0)
    {
        Daemon = daemon;
        RingDirectory = ringDirectory;
        Dom0 = dom0;
    }

    /// <summary>Every kind an advisory's test runs against.</summary>
    public static TheoryData<string> AllKinds => new("ours", "c", "c422");

    public IDaemonUnderTest Daemon { get; }

    public string Kind => Daemon.Kind;

    public bool IsOurs => Daemon.Kind == "ours";

    public string RingDirectory { get; }

    public RawConnection Dom0 { get; }

    /// <summary>Our daemon's process id, for memory ceilings; null for a reference daemon.</summary>
    public int? OurProcessId => Daemon is OurDaemon ours ? ours.ProcessId : null;

    /// <summary>Starts the daemon of <paramref name="kind"/>; <paramref name="ourArguments"/> go to ours only.</summary>
    public static async Task<XsaHost> StartAsync(string kind, params string[] ourArguments)
    {
        IDaemonUnderTest daemon;
        string rings;
        if (kind == "ours")
        {
            rings = Directory.CreateTempSubdirectory("xs-xsa-").FullName;
            daemon = await OurDaemon.StartAsync(["--sim-dir", rings, "--no-persistence", .. ourArguments]);
        }
        else
        {
            var reference = await ReferenceDaemon.StartOrSkipAsync(kind, rings: true);
            daemon = reference;
            rings = Path.Combine(reference.Home, "rings");
        }
        return new XsaHost(daemon, rings, await RawConnection.ConnectAsync(daemon));
    }

    public static string Home(uint domid) => "/local/domain/" + domid.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// What a toolstack does for a new domain: a home readable by the guest with a <c>name</c>, a guest-owned
    /// <c>data</c> directory, then INTRODUCE. The page starts zeroed (a domain id used before gets a fresh page).
    /// </summary>
    public async Task<SimulatedGuest> CreateDomainAsync(uint domid)
    {
        string page = Path.Combine(RingDirectory, "ring." + domid.ToString(CultureInfo.InvariantCulture));
        File.Delete(page);
        File.Delete(Path.Combine(RingDirectory, "dying." + domid.ToString(CultureInfo.InvariantCulture)));
        SimulatedGuest guest = SimulatedGuest.Create(RingDirectory, domid);
        _guests.Add(guest);
        string home = Home(domid);
        await ExpectOkAsync(Dom0.WriteAsync(home + "/name", "guest" + domid.ToString(CultureInfo.InvariantCulture)));
        await ExpectOkAsync(Dom0.SetPermsAsync(home, "n0", "r" + domid.ToString(CultureInfo.InvariantCulture)));
        await ExpectOkAsync(Dom0.SetPermsAsync(home + "/name", "n0", "r" + domid.ToString(CultureInfo.InvariantCulture)));
        await ExpectOkAsync(Dom0.MkdirAsync(home + "/data"));
        await ExpectOkAsync(Dom0.SetPermsAsync(home + "/data", "n" + domid.ToString(CultureInfo.InvariantCulture)));
        await ExpectOkAsync(IntroduceAsync(domid));
        return guest;
    }

    public Task<RawMessage> IntroduceAsync(uint domid) =>
        Dom0.RequestAsync(XsMessageType.Introduce, RawPayload.Strings(domid.ToString(CultureInfo.InvariantCulture), "0", "7"));

    /// <summary>
    /// The hypervisor reports the domain dead (<c>dying.N</c> and VIRQ_DOM_EXC), the toolstack releases it, and this
    /// returns once the daemon no longer knows it.
    /// </summary>
    public async Task DestroyDomainAsync(uint domid)
    {
        string id = domid.ToString(CultureInfo.InvariantCulture);
        await File.WriteAllTextAsync(Path.Combine(RingDirectory, "dying." + id), "");
        RaiseDomainException();
        // The toolstack's RELEASE; the daemon may have dropped the domain already (then it says so with an error).
        await Dom0.RequestAsync(XsMessageType.Release, RawPayload.Strings(id));
        var deadline = DateTime.UtcNow + RawConnection.DefaultTimeout;
        while ((await Dom0.RequestAsync(XsMessageType.IsDomainIntroduced, RawPayload.Strings(id))).Text != "F")
        {
            Assert.True(DateTime.UtcNow < deadline, $"domain {id} is still introduced after its death");
            RaiseDomainException();
            await Task.Delay(5);
        }
        File.Delete(Path.Combine(RingDirectory, "dying." + id));
    }

    /// <summary>Port 1 (VIRQ_DOM_EXC) into the event FIFO: "some domain changed state".</summary>
    public void RaiseDomainException()
    {
        using var fifo = new FileStream(Path.Combine(RingDirectory, "evt"), FileMode.Open, FileAccess.Write);
        fifo.Write(BitConverter.GetBytes(1u));
    }

    /// <summary>
    /// Sets a global quota for unprivileged domains (CONTROL quota set, as both C daemons and ours accept it);
    /// returns false where the daemon does not offer it.
    /// </summary>
    public async Task<bool> TrySetQuotaAsync(string name, int value) =>
        (await Dom0.RequestAsync(XsMessageType.Control, RawPayload.Strings("quota", "set", name, value.ToString(CultureInfo.InvariantCulture)))).IsOk;

    /// <summary>
    /// The daemon is alive and consistent: it answers dom0, its own consistency check passes, and every guest given
    /// (still introduced) is answered.
    /// </summary>
    public async Task AssertHealthyAsync(params SimulatedGuest[] guests)
    {
        Assert.False((await Dom0.DirectoryAsync("/")).IsError);
        RawMessage check = await Dom0.RequestAsync(XsMessageType.Control, RawPayload.Strings("check"));
        Assert.True(check.IsOk, "CONTROL check: " + check.Describe());
        foreach (SimulatedGuest guest in guests)
        {
            Assert.Equal("guest" + guest.Domid.ToString(CultureInfo.InvariantCulture), guest.Request(XsMessageType.Read, "name").Text);
        }
    }

    /// <summary>Nodes below <paramref name="path"/> (itself included) as dom0 sees them, walked breadth first.</summary>
    public async Task<List<string>> ListSubtreeAsync(string path)
    {
        var found = new List<string>();
        var pending = new Queue<string>();
        pending.Enqueue(path);
        while (pending.Count > 0)
        {
            string node = pending.Dequeue();
            RawMessage children = await Dom0.DirectoryAsync(node);
            if (children.IsError)
            {
                continue;
            }
            found.Add(node);
            foreach (string child in children.Strings)
            {
                pending.Enqueue(node == "/" ? "/" + child : node + "/" + child);
            }
        }
        return found;
    }

    public static async Task ExpectOkAsync(Task<RawMessage> request)
    {
        RawMessage reply = await request;
        Assert.False(reply.IsError, reply.Describe());
    }

    public async ValueTask DisposeAsync()
    {
        foreach (SimulatedGuest guest in _guests)
        {
            guest.Dispose();
        }
        await Dom0.DisposeAsync();
        await Daemon.DisposeAsync();
        if (IsOurs)
        {
            Directory.Delete(RingDirectory, recursive: true);
        }
    }
}
