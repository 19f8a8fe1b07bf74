using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Conformance.Tests;

/// <summary>What a step of a random guest sequence does besides sending one request.</summary>
internal enum GuestStepKind
{
    /// <summary>One request from the actor (dom0 over the socket, or a guest over its ring).</summary>
    Request,

    /// <summary>Dom0 introduces a domain; its page is created (zeroed) first, as the hypervisor would.</summary>
    Introduce,

    /// <summary>Dom0 releases a domain; a guest released this way no longer acts.</summary>
    Release,
}

/// <summary>
/// One step of a random guest sequence. <see cref="Actor"/> 0 is dom0 on the socket, <c>i</c> ≥ 1 the i-th guest
/// of the sequence. <see cref="TransactionSlot"/> is -1 outside transactions, else which of the actor's open
/// transactions (oldest first, modulo how many are open) the request runs in; with none open it runs outside.
/// </summary>
internal sealed record GuestStep(int Actor, GuestStepKind Kind, XsMessageType Type, byte[] Payload, int TransactionSlot = -1)
{
    /// <summary>The domain an <see cref="GuestStepKind.Introduce"/> or <see cref="GuestStepKind.Release"/> names.</summary>
    public uint Domid => uint.Parse(PayloadStrings.Split(Payload)[0], CultureInfo.InvariantCulture);

    /// <summary>A commit (TRANSACTION_END "T").</summary>
    public bool IsCommit => Type == XsMessageType.TransactionEnd && Payload.AsSpan().SequenceEqual("T\0"u8);

    public static string ActorName(int actor) => actor == 0 ? "dom0" : "g" + actor.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The request as a transcript shows it, with the transaction it ran in: the actor's n-th transaction (tx#n),
    /// numbered by the run, since each daemon has its own transaction ids; 0 for none.
    /// </summary>
    public string Describe(int transactionOrdinal) => Describe(transactionOrdinal == 0 ? "" : $"[tx#{transactionOrdinal}]");

    /// <summary>The step as a sequence listing shows it: which of the actor's open transactions it runs in, if any.</summary>
    public override string ToString() => Describe(TransactionSlot < 0 ? "" : $"[open tx {TransactionSlot}]");

    private string Describe(string tx)
    {
        string payload = Type == XsMessageType.Write
            ? GuestText.Strings(Payload.AsSpan(0, Array.IndexOf(Payload, (byte)0) + 1)) + " = " + GuestText.Value(Payload.AsSpan(Array.IndexOf(Payload, (byte)0) + 1))
            : GuestText.Strings(Payload);
        return $"{ActorName(Actor)} {Type}{tx} {payload}";
    }

}

/// <summary>Splits payloads into their NUL-terminated strings (a trailing fragment is kept).</summary>
internal static class PayloadStrings
{
    public static List<string> Split(ReadOnlySpan<byte> payload)
    {
        var result = new List<string>();
        int start = 0;
        for (int i = 0; i < payload.Length; i++)
        {
            if (payload[i] == 0)
            {
                result.Add(Encoding.Latin1.GetString(payload[start..i]));
                start = i + 1;
            }
        }
        if (start < payload.Length)
        {
            result.Add(Encoding.Latin1.GetString(payload[start..]));
        }
        return result;
    }
}

/// <summary>Renders payload bytes for transcripts: short and printable, long values by length and hash.</summary>
internal static class GuestText
{
    private const int LongestShown = 48;

    public static string Strings(ReadOnlySpan<byte> payload)
    {
        var parts = PayloadStrings.Split(payload).Select(Shorten);
        string text = string.Join("|", parts);
        return payload.Length > 0 && payload[^1] != 0 ? text + " (no trailing NUL)" : text;
    }

    public static string Value(ReadOnlySpan<byte> value) => "'" + Shorten(Encoding.Latin1.GetString(value)) + "'";

    private static string Shorten(string text)
    {
        if (text.Length > LongestShown)
        {
            string hash = Convert.ToHexString(SHA256.HashData(Encoding.Latin1.GetBytes(text)))[..8];
            return $"<{text.Length} bytes {Escape(text[..12])}… #{hash}>";
        }
        return Escape(text);
    }

    private static string Escape(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (c is < ' ' or > '~')
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }
}

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
    /// The owner a guest asks for: mostly itself (allowed), sometimes another domain (refused). Never DOMID_ANY: ours
    /// refuses that owner with ENOENT before anything else, C 4.22 goes on to EACCES or EPERM (docs/COMPATIBILITY.md,
    /// deliberate difference "SET_PERMS owner that does not exist").
    /// </summary>
    private uint GuestOwner(uint self) => _random.Next(10) < 7 ? self : AnyDomain(mayBeDomidAny: false);

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

/// <summary>What a transcript line records.</summary>
internal enum GuestLineKind
{
    Request,
    Reply,
    Event,
    Node,
}

/// <summary>
/// One line of a run's transcript. <see cref="StepIndex"/> is -1 for the toolstack's set-up and the number of steps
/// for what is checked after the last one (pending events, the final tree).
/// </summary>
internal sealed record GuestTranscriptLine(int StepIndex, GuestStep? Step, GuestLineKind Kind, string Text)
{
    public override string ToString() => Kind == GuestLineKind.Request ? $"{StepIndex,4} {Text}" : $"       {Text}";
}

/// <summary>
/// A daemon serving guest rings (ours with --sim-dir, or a reference C xenstored with REFXS_RINGS=1) and dom0 on its
/// socket, running one <see cref="RandomGuestSequence"/> into a transcript. What each daemon numbers its own way is
/// normalised here: transaction ids become each actor's ordinals (tx#1, tx#2, …) and DIRECTORY_PART's generation
/// is left out.
/// </summary>
internal sealed class GuestSequenceStage : IAsyncDisposable
{
    private static readonly TimeSpan s_replyTimeout = TimeSpan.FromSeconds(5);

    private readonly IDaemonUnderTest _daemon;
    private readonly string _rings;
    private readonly RawConnection _dom0;
    private readonly Dictionary<uint, SimulatedGuest> _pages = [];
    private readonly HashSet<uint> _notServed = [];
    private readonly Dictionary<int, List<(uint Id, int Ordinal)>> _transactions = [];
    private readonly Dictionary<int, int> _lastOrdinal = [];
    private readonly List<GuestTranscriptLine> _lines = [];
    private bool _dom0Closed;

    private GuestSequenceStage(IDaemonUnderTest daemon, string rings, RawConnection dom0)
    {
        _daemon = daemon;
        _rings = rings;
        _dom0 = dom0;
    }

    public string Kind => _daemon.Kind;

    /// <summary>Starts a fresh daemon of <paramref name="kind"/>; a reference that cannot run here skips the test.</summary>
    public static async Task<GuestSequenceStage> StartAsync(string kind)
    {
        IDaemonUnderTest daemon;
        string rings;
        if (kind == "ours")
        {
            rings = Directory.CreateTempSubdirectory("xs-guestdiff-").FullName;
            // The write rate limit (XSA-206) only delays a guest's writes while a transaction is open, as C's does;
            // it changes no answer, so it is off here to keep the runs short.
            daemon = await OurDaemon.StartAsync("--sim-dir", rings, "--no-persistence", "--guest-write-rate", "0");
        }
        else
        {
            ReferenceDaemon reference = await ReferenceDaemon.StartOrSkipAsync(kind, rings: true);
            daemon = reference;
            rings = Path.Combine(reference.Home, "rings");
        }
        return new GuestSequenceStage(daemon, rings, await RawConnection.ConnectAsync(daemon));
    }

    public async Task<IReadOnlyList<GuestTranscriptLine>> RunAsync(RandomGuestSequence sequence)
    {
        foreach (GuestStep step in sequence.Toolstack)
        {
            await ExecuteAsync(sequence, -1, step);
        }
        for (int i = 0; i < sequence.Steps.Count; i++)
        {
            await ExecuteAsync(sequence, i, sequence.Steps[i]);
        }
        await FinishAsync(sequence, sequence.Steps.Count);
        return _lines;
    }

    private async Task ExecuteAsync(RandomGuestSequence sequence, int index, GuestStep step)
    {
        (uint txId, int ordinal) = Transaction(step);
        _lines.Add(new GuestTranscriptLine(index, step, GuestLineKind.Request, step.Describe(ordinal)));
        if (step.Actor == 0)
        {
            await ExecuteAsDom0Async(sequence, index, step, txId);
            return;
        }
        uint domid = sequence.DomidOf(step.Actor);
        if (_notServed.Contains(domid))
        {
            _lines.Add(new GuestTranscriptLine(index, step, GuestLineKind.Reply, "(not served: not sent)"));
            return;
        }
        RawMessage? reply = GuestRequest(domid, step, txId);
        AddReply(index, step, txId, reply);
        RecordEvents(sequence, index, step.Actor);
    }

    private async Task ExecuteAsDom0Async(RandomGuestSequence sequence, int index, GuestStep step, uint txId)
    {
        if (step.Kind == GuestStepKind.Introduce)
        {
            FreshPageUnlessServed(step.Domid);
        }
        if (_dom0Closed)
        {
            _lines.Add(new GuestTranscriptLine(index, step, GuestLineKind.Reply, "(dom0's connection is closed: not sent)"));
            return;
        }
        RawMessage? reply = await Dom0RequestAsync(step, txId);
        if (reply is { IsOk: true })
        {
            AfterDomainChange(sequence, step);
        }
        AddReply(index, step, txId, reply);
        await RecordDom0EventsAsync(index, reply);
    }

    private void AddReply(int index, GuestStep step, uint txId, RawMessage? reply)
    {
        _lines.Add(new GuestTranscriptLine(index, step, GuestLineKind.Reply, reply is null ? "no reply" : Render(step, reply)));
        if (reply is not null)
        {
            TrackTransaction(step, txId, reply);
        }
    }

    /// <summary>The transaction a step runs in (id and ordinal), or (0, 0) outside one.</summary>
    private (uint Id, int Ordinal) Transaction(GuestStep step)
    {
        if (step.TransactionSlot < 0 || !_transactions.TryGetValue(step.Actor, out var open) || open.Count == 0)
        {
            return (0, 0);
        }
        return open[step.TransactionSlot % open.Count];
    }

    private void TrackTransaction(GuestStep step, uint txId, RawMessage reply)
    {
        List<(uint Id, int Ordinal)> open = _transactions.TryGetValue(step.Actor, out var list) ? list : _transactions[step.Actor] = [];
        if (step.Type == XsMessageType.TransactionStart && reply.Type == XsMessageType.TransactionStart)
        {
            int ordinal = _lastOrdinal.GetValueOrDefault(step.Actor) + 1;
            _lastOrdinal[step.Actor] = ordinal;
            open.Add((reply.TransactionId, ordinal));
        }
        else if (step.Type == XsMessageType.TransactionEnd && txId != 0)
        {
            // Ended whatever the answer: a refused commit ends the transaction too.
            open.RemoveAll(t => t.Id == txId);
        }
    }

    /// <summary>
    /// Before INTRODUCE: a domain that is not served gets a fresh zeroed page, as a new domain would; one that is
    /// served keeps its page (INTRODUCE of a connected domain resets its connection).
    /// </summary>
    private void FreshPageUnlessServed(uint domid)
    {
        if (_pages.TryGetValue(domid, out SimulatedGuest? page))
        {
            if (!_notServed.Contains(domid))
            {
                return;
            }
            page.Dispose();
        }
        File.Delete(Path.Combine(_rings, "ring." + domid.ToString(CultureInfo.InvariantCulture)));
        _pages[domid] = SimulatedGuest.Create(_rings, domid);
        _notServed.Add(domid);
    }

    private void AfterDomainChange(RandomGuestSequence sequence, GuestStep step)
    {
        if (step.Kind == GuestStepKind.Introduce)
        {
            _notServed.Remove(step.Domid);
            // A new or reset connection has no transactions.
            int index = sequence.GuestDomids.ToList().IndexOf(step.Domid);
            if (index >= 0)
            {
                _transactions.Remove(index + 1);
            }
        }
        else if (step.Kind == GuestStepKind.Release)
        {
            _notServed.Add(step.Domid);
        }
    }

    /// <summary>The reply to dom0, or null when the daemon closed the socket (it crashed: the run goes on without dom0).</summary>
    private async Task<RawMessage?> Dom0RequestAsync(GuestStep step, uint txId)
    {
        try
        {
            return await _dom0.RequestAsync(step.Type, step.Payload, txId, timeout: s_replyTimeout);
        }
        catch (Exception e) when (e is IOException or TimeoutException)
        {
            _dom0Closed = true;
            return null;
        }
    }

    private RawMessage? GuestRequest(uint domid, GuestStep step, uint txId)
    {
        try
        {
            return _pages[domid].Request(step.Type, step.Payload, txId, s_replyTimeout);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            // The ring's state is unknown from here on: the guest does not act again.
            _notServed.Add(domid);
            return null;
        }
    }

    /// <summary>
    /// The events a guest received with its reply: those the daemon sent before it. Those sent after it (C sends
    /// WATCH's first event after the acknowledgement) come with the guest's next reply, so both daemons' order is
    /// kept.
    /// </summary>
    private void RecordEvents(RandomGuestSequence sequence, int index, int actor)
    {
        SimulatedGuest page = _pages[sequence.DomidOf(actor)];
        while (page.PendingEvents.Count > 0)
        {
            AddEvent(index, actor, page.NextEvent(TimeSpan.Zero)!, "");
        }
    }

    /// <summary>
    /// Dom0's events, read until a round trip after the reply so that none is still on its way; each says whether
    /// it came before or after the reply.
    /// </summary>
    private async Task RecordDom0EventsAsync(int index, RawMessage? reply)
    {
        if (_dom0Closed)
        {
            return;
        }
        await _dom0.SyncAsync();
        foreach (RawMessage e in _dom0.DrainEvents())
        {
            AddEvent(index, 0, e, reply is not null && e.Sequence > reply.Sequence ? " (after the reply)" : "");
        }
    }

    private void AddEvent(int index, int actor, RawMessage e, string when) =>
        _lines.Add(new GuestTranscriptLine(index, null, GuestLineKind.Event, $"{GuestStep.ActorName(actor)} event {GuestText.Strings(e.Payload)}{when}"));

    /// <summary>
    /// After the last step: each guest still served makes one more round trip (which brings every event the daemon
    /// queued for it), dom0 too, then dom0 lists the whole tree with every node's permissions and value.
    /// </summary>
    private async Task FinishAsync(RandomGuestSequence sequence, int index)
    {
        for (int actor = 1; actor <= sequence.GuestDomids.Count; actor++)
        {
            uint domid = sequence.DomidOf(actor);
            if (_notServed.Contains(domid))
            {
                continue;
            }
            var sync = new GuestStep(actor, GuestStepKind.Request, XsMessageType.GetDomainPath, RawPayload.Strings(domid.ToString(CultureInfo.InvariantCulture)));
            _lines.Add(new GuestTranscriptLine(index, sync, GuestLineKind.Request, sync.Describe(0)));
            RawMessage? reply = GuestRequest(domid, sync, 0);
            _lines.Add(new GuestTranscriptLine(index, sync, GuestLineKind.Reply, reply is null ? "no reply" : Render(sync, reply)));
            RecordEvents(sequence, index, actor);
        }
        if (_dom0Closed)
        {
            return;
        }
        await RecordDom0EventsAsync(index, null);
        foreach (string special in new[] { "@introduceDomain", "@releaseDomain" })
        {
            await AddNodeAsync(index, special, withValue: false);
        }
        await WalkAsync(index, "/");
    }

    private async Task WalkAsync(int index, string path)
    {
        await AddNodeAsync(index, path, withValue: true);
        RawMessage children = await _dom0.DirectoryAsync(path);
        if (children.IsError)
        {
            return;
        }
        foreach (string child in children.Strings)
        {
            await WalkAsync(index, path == "/" ? "/" + child : path + "/" + child);
        }
    }

    private async Task AddNodeAsync(int index, string path, bool withValue)
    {
        RawMessage perms = await _dom0.GetPermsAsync(path);
        string value = "";
        if (withValue)
        {
            RawMessage read = await _dom0.ReadAsync(path);
            value = " = " + (read.IsError ? read.Describe() : GuestText.Value(read.Payload));
        }
        _lines.Add(new GuestTranscriptLine(index, null, GuestLineKind.Node, $"node {path} [{GuestText.Strings(perms.Payload)}]{value}"));
    }

    private string Render(GuestStep step, RawMessage reply)
    {
        if (reply.IsError)
        {
            return "ERROR " + reply.ErrorName;
        }
        string type = reply.Type == step.Type ? "" : reply.Type + " ";
        return reply.Type switch
        {
            XsMessageType.Read => type + GuestText.Value(reply.Payload),
            XsMessageType.TransactionStart => $"{type}tx#{_lastOrdinal.GetValueOrDefault(step.Actor) + 1}",
            // The generation is each daemon's own counter (docs/COMPATIBILITY.md, engine rule "DIRECTORY_PART generation").
            XsMessageType.DirectoryPart => type + "<generation>|" + GuestText.Strings(reply.Payload.AsSpan(Array.IndexOf(reply.Payload, (byte)0) + 1)),
            _ => type + GuestText.Strings(reply.Payload),
        };
    }

    /// <summary>
    /// Stops the daemon. A reference daemon takes up to a few seconds to stop, which the caller may let run in the
    /// background.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        foreach (SimulatedGuest page in _pages.Values)
        {
            page.Dispose();
        }
        await _dom0.DisposeAsync();
        await _daemon.DisposeAsync();
        // Ours: the rings' directory made for it. A reference: the home made for this instance (its rings, socket
        // and log, and links to the one build, which stays), so that hundreds of runs leave nothing behind.
        string directory = _daemon is ReferenceDaemon reference ? reference.Home : _rings;
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A leftover temp directory is harmless.
        }
    }
}

/// <summary>Where two transcripts of one sequence first differ.</summary>
internal sealed record GuestDivergence(int LineIndex, GuestTranscriptLine? Ours, GuestTranscriptLine? Reference)
{
    /// <summary>
    /// What makes the divergence this one and not another, for reducing a sequence: the kind of line, the request
    /// type and both answers (a request line differs only after an earlier difference).
    /// </summary>
    public string Signature
    {
        get
        {
            GuestTranscriptLine? line = Ours ?? Reference;
            string type = line?.Step?.Type.ToString() ?? "";
            return $"{line?.Kind} {type}: ours {Ours?.Text ?? "(nothing)"} / reference {Reference?.Text ?? "(nothing)"}";
        }
    }
}

/// <summary>The outcome of comparing our transcript of a sequence with a reference daemon's.</summary>
internal sealed record GuestComparison(GuestDivergence? Divergence, string? DeliberateDifference, int AgreedLines)
{
    public bool Agrees => Divergence is null;
}

/// <summary>Compares two transcripts line by line, up to the first difference.</summary>
internal static class GuestTranscriptComparison
{
    /// <summary>
    /// docs/COMPATIBILITY.md, deliberate difference "transactions: a parent's child list": ours merges the child
    /// lists of transactions that create or remove different children of one parent, where C refuses the commit with
    /// EAGAIN. From such a commit on the trees differ, so the comparison ends there.
    /// </summary>
    public const string ChildListMerge = "docs/COMPATIBILITY.md \"transactions: a parent's child list\": ours commits, C answers EAGAIN";

    public static GuestComparison Compare(IReadOnlyList<GuestTranscriptLine> ours, IReadOnlyList<GuestTranscriptLine> reference)
    {
        int count = Math.Max(ours.Count, reference.Count);
        for (int i = 0; i < count; i++)
        {
            GuestTranscriptLine? mine = i < ours.Count ? ours[i] : null;
            GuestTranscriptLine? theirs = i < reference.Count ? reference[i] : null;
            if (mine is not null && theirs is not null && mine.Kind == theirs.Kind && mine.Text == theirs.Text)
            {
                continue;
            }
            if (mine is { Kind: GuestLineKind.Reply, Step.IsCommit: true, Text: "OK" } && theirs is { Kind: GuestLineKind.Reply, Text: "ERROR EAGAIN" })
            {
                return new GuestComparison(null, ChildListMerge, i);
            }
            return new GuestComparison(new GuestDivergence(i, mine, theirs), null, i);
        }
        return new GuestComparison(null, null, count);
    }

    /// <summary>The lines before a divergence and both sides after it, for a failure message.</summary>
    public static string Explain(GuestDivergence divergence, IReadOnlyList<GuestTranscriptLine> ours, IReadOnlyList<GuestTranscriptLine> reference, string referenceKind)
    {
        var sb = new StringBuilder();
        int from = Math.Max(0, divergence.LineIndex - 12);
        for (int i = from; i < divergence.LineIndex; i++)
        {
            sb.Append("   ").Append(ours[i]).Append('\n');
        }
        sb.Append("--- ours\n");
        foreach (GuestTranscriptLine line in ours.Skip(divergence.LineIndex).Take(6))
        {
            sb.Append("   ").Append(line).Append('\n');
        }
        sb.Append(CultureInfo.InvariantCulture, $"--- {referenceKind}\n");
        foreach (GuestTranscriptLine line in reference.Skip(divergence.LineIndex).Take(6))
        {
            sb.Append("   ").Append(line).Append('\n');
        }
        return sb.ToString();
    }
}

/// <summary>
/// Shrinks a diverging sequence to the fewest random steps that still show the same divergence (the toolstack's
/// set-up stays), by removing chunks of steps, then single steps (delta debugging).
/// </summary>
internal static class GuestSequenceReducer
{
    public static async Task<RandomGuestSequence> ReduceAsync(RandomGuestSequence sequence, Func<RandomGuestSequence, Task<bool>> stillDiverges)
    {
        List<GuestStep> steps = [.. sequence.Steps];
        int chunk = Math.Max(1, steps.Count / 2);
        while (true)
        {
            bool removed = false;
            for (int start = 0; start < steps.Count;)
            {
                List<GuestStep> candidate = [.. steps[..start], .. steps[Math.Min(steps.Count, start + chunk)..]];
                if (await stillDiverges(sequence.WithSteps(candidate)))
                {
                    steps = candidate;
                    removed = true;
                }
                else
                {
                    start += chunk;
                }
            }
            if (chunk == 1 && !removed)
            {
                return sequence.WithSteps(steps);
            }
            chunk = removed ? chunk : Math.Max(1, chunk / 2);
        }
    }
}
