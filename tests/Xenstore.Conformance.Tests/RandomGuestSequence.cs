using System.Globalization;
using System.Text;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Conformance.Tests;

/// <summary>
/// A seeded random sequence of requests from unprivileged guests (and now and then dom0), with the toolstack's
/// set-up before it. Everything, domain ids included, follows from the seed, so both daemons get the same requests.
/// </summary>
internal sealed record RandomGuestSequence(int Seed, IReadOnlyList<uint> GuestDomids, IReadOnlyList<uint> SpareDomids, IReadOnlyList<GuestStep> Toolstack, IReadOnlyList<GuestStep> Steps)
{
    public static RandomGuestSequence Generate(int seed) => new GuestSequenceGenerator(seed).Generate();

    /// <summary>The same sequence with other random steps (the toolstack's set-up stays): for reducing a divergence.</summary>
    public RandomGuestSequence WithSteps(IEnumerable<GuestStep> steps) => this with { Steps = [.. steps] };

    /// <summary>The domain id of actor <paramref name="actor"/> (0 is dom0).</summary>
    public uint DomidOf(int actor) => actor == 0 ? 0 : GuestDomids[actor - 1];

    public string Describe()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"seed {Seed}: guests {string.Join(", ", GuestDomids.Select((d, i) => $"{GuestStep.ActorName(i + 1)}=dom{d}"))}; spare domains {string.Join(", ", SpareDomids)}\n");
        foreach (GuestStep step in Toolstack)
        {
            sb.Append("  set-up ").Append(step).Append('\n');
        }
        for (int i = 0; i < Steps.Count; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"  {i,3} {Steps[i]}\n");
        }
        return sb.ToString();
    }
}

/// <summary>
/// Draws one <see cref="RandomGuestSequence"/>. Paths come from a small pool of names so that requests keep meeting
/// the same nodes. What docs/COMPATIBILITY.md lists as deliberately different is kept out, each where it would
/// come in: every quota stays well under its default (and under C's node-size, which counts the whole node record),
/// so the quota edges ("a quota's edge", engine rule "node-size") and C's failing of a transaction after an error
/// inside it ("an error inside a transaction") are never reached; GET_FEATURE and GET_QUOTA, whose answers differ
/// on purpose ("server features", "quotas offered"), are not sent.
/// </summary>
internal sealed class GuestSequenceGenerator
{
    private static readonly string[] s_names = ["data", "a", "b", "c", "name", "ro", "rw", "hidden", "x", "missing"];
    private static readonly string[] s_tokens = ["k0", "k1", "k2", "k3", "k4"];
    private const uint NoSuchDomain = 500;
    private const uint DomidAny = 0x7FF5;

    // Under every default: 1000 nodes, 128 watches, 10 transactions per guest.
    private const int MostWatchesPerActor = 24;
    private const int MostOpenTransactionsPerActor = 4;
    private const int MostBulkNodesPerGuest = 240;

    private readonly Random _random;
    private readonly int _seed;
    private readonly uint[] _guests;
    private readonly uint[] _spares;
    private readonly List<GuestStep> _steps = [];
    private readonly Dictionary<int, List<(string Path, string Token)>> _watches = [];
    private readonly Dictionary<int, int> _openTransactions = [];
    private readonly Dictionary<int, int> _bulkNodes = [];
    private readonly HashSet<uint> _introducedSpares = [];
    private int _bulkCounter;

    public GuestSequenceGenerator(int seed)
    {
        _seed = seed;
        _random = new Random(seed);
        // Distinct ids below 100, chosen by the seed: the same on both daemons.
        uint[] ids = [.. Enumerable.Range(1, 99).Select(i => (uint)i).OrderBy(_ => _random.Next()).Take(5)];
        int guestCount = _random.Next(2, 4);
        _guests = ids[..guestCount];
        _spares = ids[guestCount..(guestCount + 2)];
    }

    public RandomGuestSequence Generate()
    {
        List<GuestStep> toolstack = Toolstack();
        RandomSetUp();
        int length = _random.Next(40, 110);
        while (_steps.Count < length)
        {
            int actor = _random.Next(100) < 12 ? 0 : _random.Next(1, _guests.Length + 1);
            if (actor == 0)
            {
                Dom0Step();
            }
            else
            {
                GuestRequest(actor);
            }
        }
        if (_random.Next(2) == 0)
        {
            // A guest's release at the end: its nodes go, and @releaseDomain fires for whoever may hear it.
            _steps.Add(Dom0(GuestStepKind.Release, XsMessageType.Release, Id(_guests[_random.Next(_guests.Length)])));
        }
        return new RandomGuestSequence(_seed, _guests, _spares, toolstack, [.. _steps]);
    }

    /// <summary>What a toolstack does for each guest (as GuestHost does), then INTRODUCE; this part is never reduced.</summary>
    private List<GuestStep> Toolstack()
    {
        var steps = new List<GuestStep>();
        foreach (uint domid in _guests)
        {
            string home = Home(domid);
            steps.Add(Dom0Write(home + "/name", "guest" + Id(domid)));
            steps.Add(Dom0(XsMessageType.SetPerms, home, "n0", "r" + Id(domid)));
            steps.Add(Dom0(XsMessageType.SetPerms, home + "/name", "n0", "r" + Id(domid)));
            steps.Add(Dom0(XsMessageType.Mkdir, home + "/data"));
            steps.Add(Dom0(XsMessageType.SetPerms, home + "/data", "n" + Id(domid)));
        }
        // docs/COMPATIBILITY.md, "@releaseDomain default permissions": ours keeps n0, C 4.22 starts with n0 r32757.
        // The toolstack sets them explicitly, so both daemons hold the same list; now and then one guest may read it.
        steps.Add(Dom0(XsMessageType.SetPerms, ["@releaseDomain", "n0", .. MaybeReaderOfSpecialNode()]));
        steps.Add(Dom0(XsMessageType.SetPerms, ["@introduceDomain", "n0", .. MaybeReaderOfSpecialNode()]));
        foreach (uint domid in _guests)
        {
            steps.Add(Dom0(GuestStepKind.Introduce, XsMessageType.Introduce, Id(domid), "0", "7"));
        }
        return steps;
    }

    private string[] MaybeReaderOfSpecialNode() =>
        _random.Next(2) == 0 ? [] : ["r" + Id(_guests[_random.Next(_guests.Length)])];

    /// <summary>Nodes with mixed owners and permissions, made by dom0 before the guests start.</summary>
    private void RandomSetUp()
    {
        int count = _random.Next(5, 13);
        for (int i = 0; i < count; i++)
        {
            string path = AbsolutePath(_guests[_random.Next(_guests.Length)], minimumNames: 1);
            _steps.Add(_random.Next(4) == 0 ? Dom0(XsMessageType.Mkdir, path) : Dom0Write(path, Value()));
            _steps.Add(Dom0(XsMessageType.SetPerms, [path, .. Permissions(AnyDomain(mayBeDomidAny: false), entriesMayBeDomidAny: false)]));
        }
        if (_guests.Length > 1 && _random.Next(3) == 0)
        {
            _steps.Add(Dom0(XsMessageType.SetTarget, Id(_guests[0]), Id(_guests[1])));
        }
    }

    private void Dom0Step()
    {
        uint someGuest = _guests[_random.Next(_guests.Length)];
        switch (_random.Next(14))
        {
            case 0 or 1:
                _steps.Add(Dom0Write(AbsolutePath(someGuest, 1), Value()));
                break;
            case 2:
                _steps.Add(Dom0(XsMessageType.Mkdir, AbsolutePath(someGuest, 1)));
                break;
            case 3:
                _steps.Add(Dom0(XsMessageType.Rm, AbsolutePath(someGuest, 1)));
                break;
            case 4 or 5:
                _steps.Add(Dom0(XsMessageType.SetPerms, [AbsolutePath(someGuest, 1), .. Permissions(AnyDomain(mayBeDomidAny: false), entriesMayBeDomidAny: false)]));
                break;
            case 6:
                Watch(0, AbsolutePath(someGuest, 0));
                break;
            case 7:
                uint spare = _spares[_random.Next(_spares.Length)];
                if (_introducedSpares.Add(spare))
                {
                    _steps.Add(Dom0(GuestStepKind.Introduce, XsMessageType.Introduce, Id(spare), "0", "7"));
                }
                else
                {
                    _introducedSpares.Remove(spare);
                    _steps.Add(Dom0(GuestStepKind.Release, XsMessageType.Release, Id(spare)));
                }
                break;
            case 8:
                if (_guests.Length > 1)
                {
                    uint first = _guests[_random.Next(_guests.Length)];
                    uint target = _guests[_random.Next(_guests.Length)];
                    _steps.Add(Dom0(XsMessageType.SetTarget, Id(first), Id(target)));
                }
                break;
            case 9:
                _steps.Add(Dom0(XsMessageType.IsDomainIntroduced, DomidArgument(someGuest)));
                break;
            case 10:
                _steps.Add(Dom0(XsMessageType.GetPerms, AbsolutePath(someGuest, 0)));
                break;
            case 11:
                _steps.Add(Dom0(XsMessageType.Directory, AbsolutePath(someGuest, 0)));
                break;
            case 12:
                if (_random.Next(4) == 0)
                {
                    // INTRODUCE of a guest that is already connected: C resets its connection (watches,
                    // transactions and pending output go) and its ring.
                    _steps.Add(Dom0(GuestStepKind.Introduce, XsMessageType.Introduce, Id(someGuest), "0", "7"));
                }
                break;
            default:
                _steps.Add(Dom0(XsMessageType.Read, AbsolutePath(someGuest, 1)));
                break;
        }
    }

    private void GuestRequest(int actor)
    {
        uint self = _guests[actor - 1];
        int open = _openTransactions.GetValueOrDefault(actor);
        int slot = open > 0 && _random.Next(2) == 0 ? _random.Next(open) : -1;
        int choice = _random.Next(100);
        switch (choice)
        {
            case < 14:
                Add(actor, XsMessageType.Read, slot, GuestPath(self));
                break;
            case < 28:
                _steps.Add(new GuestStep(actor, GuestStepKind.Request, XsMessageType.Write, RawPayload.Write(GuestPath(self), RawPayload.Bytes(Value())), slot));
                break;
            case < 34:
                Add(actor, XsMessageType.Mkdir, slot, GuestPath(self));
                break;
            case < 40:
                Add(actor, XsMessageType.Rm, slot, GuestPath(self));
                break;
            case < 47:
                Add(actor, XsMessageType.Directory, slot, GuestPath(self));
                break;
            case < 50:
                Add(actor, XsMessageType.DirectoryPart, slot, GuestPath(self), _random.Next(4) == 0 ? "2" : "0");
                break;
            case < 56:
                Add(actor, XsMessageType.GetPerms, slot, _random.Next(10) == 0 ? SpecialPath(self) : GuestPath(self));
                break;
            case < 64:
                Add(actor, XsMessageType.SetPerms, slot, [_random.Next(12) == 0 ? SpecialPath(self) : GuestPath(self), .. Permissions(GuestOwner(self), entriesMayBeDomidAny: true)]);
                break;
            case < 71:
                Watch(actor, _random.Next(5) == 0 ? SpecialPath(self) : GuestPath(self));
                break;
            case < 74:
                Unwatch(actor);
                break;
            case < 78:
                if (open < MostOpenTransactionsPerActor)
                {
                    _openTransactions[actor] = open + 1;
                    Add(actor, XsMessageType.TransactionStart, -1, "");
                }
                break;
            case < 84:
                if (open > 0)
                {
                    _openTransactions[actor] = open - 1;
                    Add(actor, XsMessageType.TransactionEnd, _random.Next(open), _random.Next(4) == 0 ? "F" : "T");
                }
                break;
            case < 87:
                Add(actor, XsMessageType.GetDomainPath, -1, DomidArgument(self));
                break;
            case < 88:
                Add(actor, XsMessageType.IsDomainIntroduced, -1, DomidArgument(self));
                break;
            case < 89:
                // Privileged requests: refused to a guest.
                XsMessageType privileged = _random.Next(3) switch
                {
                    0 => XsMessageType.Introduce,
                    1 => XsMessageType.Release,
                    _ => XsMessageType.SetTarget,
                };
                Add(actor, privileged, -1, privileged == XsMessageType.Introduce ? [Id(self), "0", "7"] : [Id(self), Id(_guests[0])]);
                break;
            case < 90:
                Add(actor, XsMessageType.ResetWatches, -1, "");
                _watches.Remove(actor);
                break;
            case < 93:
                Bulk(actor, slot);
                break;
            case < 95:
                Add(actor, XsMessageType.Rm, slot, "data/bulk" + Id((uint)_random.Next(Math.Max(1, _bulkCounter))));
                break;
            default:
                Add(actor, XsMessageType.Write, slot, OddPath(self));
                break;
        }
    }

    /// <summary>Quota-ish pressure: many nodes with mid-sized values in one go, under the guest's node quota.</summary>
    private void Bulk(int actor, int slot)
    {
        int count = _random.Next(10, 50);
        if (_bulkNodes.GetValueOrDefault(actor) + count > MostBulkNodesPerGuest)
        {
            return;
        }
        _bulkNodes[actor] = _bulkNodes.GetValueOrDefault(actor) + count;
        string directory = "data/bulk" + Id((uint)_bulkCounter++);
        // Each node once: C drops an event identical to one still queued for a watcher (one that has not read its
        // ring or socket yet), which depends on timing, so one node written again and again would not compare.
        for (int i = 0; i < count; i++)
        {
            string value = new((char)('a' + i % 26), _random.Next(1, 300));
            string name = directory + "/n" + i.ToString("D2", CultureInfo.InvariantCulture);
            _steps.Add(new GuestStep(actor, GuestStepKind.Request, XsMessageType.Write, RawPayload.Write(name, RawPayload.Bytes(value)), slot));
        }
    }

    private void Watch(int actor, string path)
    {
        List<(string Path, string Token)> watches = _watches.TryGetValue(actor, out var list) ? list : _watches[actor] = [];
        if (watches.Count >= MostWatchesPerActor)
        {
            return;
        }
        string token = s_tokens[_random.Next(s_tokens.Length)];
        watches.Add((path, token));
        // A depth (C 4.22's third argument) now and then.
        string[] arguments = _random.Next(8) == 0 ? [path, token, _random.Next(3).ToString(CultureInfo.InvariantCulture)] : [path, token];
        Add(actor, XsMessageType.Watch, -1, arguments);
    }

    private void Unwatch(int actor)
    {
        if (_watches.TryGetValue(actor, out var list) && list.Count > 0 && _random.Next(5) != 0)
        {
            int index = _random.Next(list.Count);
            (string path, string token) = list[index];
            list.RemoveAt(index);
            Add(actor, XsMessageType.Unwatch, -1, path, token);
        }
        else
        {
            Add(actor, XsMessageType.Unwatch, -1, GuestPath(_guests[actor - 1]), s_tokens[_random.Next(s_tokens.Length)]);
        }
    }

    /// <summary>A path as a guest names it: relative to its home, absolute into its own or another home, elsewhere.</summary>
    private string GuestPath(uint self)
    {
        int choice = _random.Next(100);
        return choice switch
        {
            < 38 => Names(1, firstIsData: _random.Next(2) == 0),
            < 56 => AbsolutePath(self, 0),
            _ => AbsolutePath(_guests[_random.Next(_guests.Length)], _random.Next(2)),
        };
    }

    /// <summary>
    /// An absolute path: under a guest's home (mostly), a spare or non-existent domain's home, the dom0-only
    /// areas, or the top of the tree.
    /// </summary>
    private string AbsolutePath(uint guest, int minimumNames)
    {
        int choice = _random.Next(100);
        string root = choice switch
        {
            < 55 => Home(guest),
            < 62 => Home(_spares[_random.Next(_spares.Length)]),
            < 66 => Home(NoSuchDomain),
            < 78 => "/tool",
            < 88 => "/vm",
            < 94 => "/local/domain",
            _ => "",
        };
        string names = Names(Math.Max(minimumNames, root.Length == 0 ? 1 : 0), firstIsData: root.StartsWith("/local/domain/", StringComparison.Ordinal) && _random.Next(2) == 0);
        return names.Length == 0 ? root : root + "/" + names;
    }

    /// <summary>Up to three names from the pool (at least <paramref name="minimum"/>), joined with '/'.</summary>
    private string Names(int minimum, bool firstIsData)
    {
        int count = _random.Next(minimum, 4);
        var names = new List<string>();
        for (int i = 0; i < count; i++)
        {
            names.Add(i == 0 && firstIsData ? "data" : s_names[_random.Next(s_names.Length)]);
        }
        return string.Join('/', names);
    }

    private string SpecialPath(uint self) => _random.Next(6) switch
    {
        0 or 1 => "@introduceDomain",
        2 or 3 => "@releaseDomain",
        4 => "@releaseDomain/" + Id(_random.Next(2) == 0 ? self : _spares[0]),
        _ => "@other",
    };

    /// <summary>Paths a guest should be refused, each in its own way: empty, malformed, too long.</summary>
    private string OddPath(uint self) => _random.Next(7) switch
    {
        0 => "",
        1 => "data/",
        2 => "data//a",
        3 => "/local/domain/",
        4 => "data/a b",
        5 => "data/" + LongNames(NearPathMax() - "data/".Length),
        _ => Home(_random.Next(2) == 0 ? self : _guests[_random.Next(_guests.Length)]) + "/data/" + LongNames(NearPathMax() - "data/".Length),
    };

    /// <summary>
    /// A length of the part of a path below a domain's home near path-max (2048), but never 2048 itself: C 4.22
    /// refuses a path of exactly the limit, ours allows it (docs/COMPATIBILITY.md, deliberate difference "a quota's
    /// edge").
    /// </summary>
    private int NearPathMax()
    {
        int length = 2040 + _random.Next(12);
        return length >= 2048 ? length + 1 : length;
    }

    /// <summary>
    /// <paramref name="length"/> bytes of names of about 200 bytes each: one long name would put C over its
    /// node-size quota, which counts the parent's list of child names (docs/COMPATIBILITY.md, engine rule
    /// "node-size"), and one-byte names would be a thousand nodes, past the node quota.
    /// </summary>
    private static string LongNames(int length)
    {
        var sb = new StringBuilder(length);
        while (sb.Length < length)
        {
            if (sb.Length > 0)
            {
                sb.Append('/');
            }
            sb.Append('p', Math.Min(200, Math.Max(1, length - sb.Length)));
        }
        return sb.ToString();
    }

    /// <summary>A SET_PERMS list: the owner with everyone's access, then up to three ACL entries; rarely malformed.</summary>
    private List<string> Permissions(uint owner, bool entriesMayBeDomidAny)
    {
        if (_random.Next(30) == 0)
        {
            return [_random.Next(3) switch { 0 => "x" + Id(owner), 1 => "r", _ => "rabc" }];
        }
        var list = new List<string> { Access() + Id(owner) };
        int entries = _random.Next(4);
        for (int i = 0; i < entries; i++)
        {
            list.Add(Access() + Id(AnyDomain(entriesMayBeDomidAny)));
        }
        return list;
    }

    private string Access() => "nrwb"[_random.Next(4)].ToString();

    /// <summary>
    /// The owner a guest asks for: mostly itself (allowed), sometimes another domain or DOMID_ANY (refused: EPERM, or
    /// EACCES or ENOENT when the guest may not see the node).
    /// </summary>
    private uint GuestOwner(uint self) => _random.Next(10) < 7 ? self : AnyDomain(mayBeDomidAny: true);

    /// <summary>
    /// Dom0, a guest, a spare, a domain nobody introduced or, when <paramref name="mayBeDomidAny"/>, DOMID_ANY (every
    /// domain). Never DOMID_ANY in dom0's requests: C 4.22 crashes on a SET_PERMS from a socket connection that names
    /// it (docs/COMPATIBILITY.md, "Found while comparing").
    /// </summary>
    private uint AnyDomain(bool mayBeDomidAny) => _random.Next(10) switch
    {
        < 2 => 0,
        < 7 => _guests[_random.Next(_guests.Length)],
        < 9 => _spares[_random.Next(_spares.Length)],
        _ => !mayBeDomidAny || _random.Next(2) == 0 ? NoSuchDomain : DomidAny,
    };

    private string DomidArgument(uint self) => _random.Next(8) switch
    {
        < 3 => Id(self),
        3 => Id(_guests[_random.Next(_guests.Length)]),
        4 => Id(_spares[_random.Next(_spares.Length)]),
        5 => "0",
        6 => Id(NoSuchDomain),
        _ => "abc",
    };

    /// <summary>Values of every size that keeps C's whole node record under its node-size quota.</summary>
    private string Value()
    {
        int choice = _random.Next(100);
        int length = choice switch
        {
            < 6 => 0,
            < 62 => _random.Next(1, 9),
            < 90 => _random.Next(20, 200),
            _ => _random.Next(600, 1400),
        };
        var sb = new StringBuilder(length);
        for (int i = 0; i < length; i++)
        {
            sb.Append((char)('a' + _random.Next(26)));
        }
        return sb.ToString();
    }

    private void Add(int actor, XsMessageType type, int slot, params string[] arguments) =>
        _steps.Add(new GuestStep(actor, GuestStepKind.Request, type, RawPayload.Strings(arguments), slot));

    private static GuestStep Dom0(XsMessageType type, params string[] arguments) => Dom0(GuestStepKind.Request, type, arguments);

    private static GuestStep Dom0(GuestStepKind kind, XsMessageType type, params string[] arguments) =>
        new(0, kind, type, RawPayload.Strings(arguments));

    private static GuestStep Dom0Write(string path, string value) =>
        new(0, GuestStepKind.Request, XsMessageType.Write, RawPayload.Write(path, RawPayload.Bytes(value)));

    private static string Home(uint domid) => "/local/domain/" + Id(domid);

    private static string Id(uint domid) => domid.ToString(CultureInfo.InvariantCulture);
}
