using System.Text;
using Xenstore.Protocol;
using static Xenstore.Protocol.XsMessageType;

namespace Xenstore.Conformance.Tests;

/// <summary>
/// One generated request: the connection that sends it, its type, its payload (Latin-1; every occurrence of
/// <see cref="RandomRequestSequence.PrefixPlaceholder"/> is replaced by the run's own prefix before sending) and
/// the transaction it names, as a handle that each daemon maps to the id it handed out.
/// </summary>
public sealed record RandomStep(int Connection, XsMessageType Type, byte[] Payload, int Transaction)
{
    /// <summary>The request carries transaction id 0.</summary>
    public const int NoTransaction = 0;

    /// <summary>The request carries an id that no daemon handed out.</summary>
    public const int UnknownTransaction = -1;

    /// <summary>For a TRANSACTION_START: the handle that later requests use for the transaction it opens.</summary>
    public int StartsTransaction { get; init; }

    /// <summary>A well-formed TRANSACTION_END ("T" or "F"): the transaction is gone afterwards, whatever the answer.</summary>
    public bool EndsTransaction => Type == TransactionEnd && Transaction > 0 && (PayloadIs("T\0") || PayloadIs("F\0"));

    /// <summary>A well-formed commit.</summary>
    public bool Commits => Type == TransactionEnd && Transaction > 0 && PayloadIs("T\0");

    /// <summary>A request that changes the store when it succeeds outside a transaction.</summary>
    public bool Modifies => Type is Write or Mkdir or Rm or SetPerms;

    private bool PayloadIs(string text) => Payload.AsSpan().SequenceEqual(Encoding.Latin1.GetBytes(text));
}

/// <summary>
/// A seeded random sequence of requests from 1–3 privileged (socket) connections, over a small vocabulary of paths
/// that collide on purpose: absolute and relative forms of the same nodes, malformed paths (trailing slash, double
/// slash, empty path, characters outside the allowed set), names long enough to bring a payload to 4096 bytes, and
/// the special <c>@</c> paths. The same seed always gives the same sequence.
/// </summary>
public sealed class RandomRequestSequence
{
    /// <summary>Stands for the run's own prefix (same width, so payload lengths do not depend on the run).</summary>
    public const string PrefixPlaceholder = "Q#######";

    /// <summary>The sequence's absolute subtree.</summary>
    public const string AbsoluteBase = "/t/" + PrefixPlaceholder;

    /// <summary>The sequence's relative subtree (under <c>/local/domain/0</c> for a dom0 connection).</summary>
    public const string RelativeBase = PrefixPlaceholder;

    /// <summary>The absolute form of <see cref="RelativeBase"/>.</summary>
    public const string RelativeBaseAbsolute = "/local/domain/0/" + PrefixPlaceholder;

    private RandomRequestSequence(int seed, int connections, IReadOnlyList<RandomStep> steps)
    {
        Seed = seed;
        Connections = connections;
        Steps = steps;
    }

    public int Seed { get; }

    public int Connections { get; }

    public IReadOnlyList<RandomStep> Steps { get; }

    /// <summary>Other steps of the same seed (what a reduction keeps of a sequence), on as many connections.</summary>
    public RandomRequestSequence WithSteps(IReadOnlyList<RandomStep> steps, int? connections = null) => new(Seed, connections ?? Connections, steps);

    public static RandomRequestSequence Generate(int seed)
    {
        var builder = new SequenceBuilder(seed);
        return new RandomRequestSequence(seed, builder.Connections, builder.Build());
    }

    /// <summary>Draws the requests; knows which transactions and watches each connection has opened so far.</summary>
    private sealed class SequenceBuilder
    {
        // Few names, so that requests keep meeting the same nodes.
        private static readonly string[] s_commonNames = ["a", "b", "c"];
        private static readonly string[] s_rareNames = ["d", "a-b", "_", "0", "a@b", "Z9", "@"];
        private static readonly string[] s_invalidNames = ["a.b", "a b", "a:b", "\u00e9", "a\u0001", "~", "a*", "a\u00ff"];

        // "@releaseDomain" is left out of GET_PERMS and SET_PERMS: its default permissions are a deliberate
        // difference (docs/COMPATIBILITY.md, Deliberate differences: "@releaseDomain default permissions").
        private static readonly string[] s_specialPaths = ["@introduceDomain", "@releaseDomain", "@releaseDomain/5", "@other", "@", "@introduceDomain/x"];
        private static readonly string[] s_tokens = ["tk", "tk", "t2", "", "a b", "\u00ff", "$"];
        // Numbers only in the forms every daemon reads alike: ours refuses a number with a sign, spaces, trailing
        // text or out of range, where C reads it with atoi (docs/COMPATIBILITY.md, Deliberate differences: "numeric
        // arguments"); "-1" as a depth is refused by all.
        private static readonly string[] s_depths = ["0", "1", "2", "-1"];
        private static readonly string[] s_offsets = ["0", "0", "0", "1", "2", "3", "4", "99999"];

        // Owners other than dom0 are small domids and ids no domain can have (0x7FF0 and above): which domids exist
        // is where ours differs from C 4.22 on purpose (docs/COMPATIBILITY.md, Deliberate differences: "SET_PERMS
        // owner that does not exist"), and the two agree on exactly these, since C 4.22's simulated hypervisor says
        // every domid below 0x7FF0 exists. DOMID_ANY (32757) never appears: C 4.22 crashes on a SET_PERMS from a
        // socket connection that names it (docs/COMPATIBILITY.md, "Found while comparing").
        private static readonly string[] s_unusualDomids = ["32751", "32752", "65535", "70000"];

        // Entries every daemon refuses (ours also refuses a domid with a sign, spaces or beyond 32 bits, which C reads
        // with strtol: docs/COMPATIBILITY.md, "numeric arguments", so those are not sent).
        private static readonly string[] s_refusedPermissions = ["x5", "r", "rabc", "", "r5x", "R5"];

        private readonly Random _random;
        private readonly List<int>[] _openTransactions;
        private readonly List<(string Path, string Token)>[] _watches;
        private readonly int[] _longNameLengths;
        private readonly string _extraName;
        private readonly bool _isolatedTransactions;
        private int _nextHandle = 1;

        public SequenceBuilder(int seed)
        {
            _random = new Random(seed);
            Connections = _random.Next(1, 4);
            _openTransactions = [.. Enumerable.Range(0, Connections).Select(_ => new List<int>())];
            _watches = [.. Enumerable.Range(0, Connections).Select(_ => new List<(string, string)>())];
            // Two long names per sequence, so that long paths collide too: one about half a payload, one that fills
            // it (each cut to what the payload has room for).
            _longNameLengths = [_random.Next(1000, 2100), XsConstants.PayloadMax - _random.Next(20, 40)];
            _extraName = Pick(s_rareNames);
            // Half the sequences keep their transactions isolated: one open at a time, and every change made while
            // it is open goes into it. The other half interleave transactions with changes outside them, where a
            // commit may meet the deliberate child-list merge (docs/COMPATIBILITY.md, Deliberate differences), which
            // ends the comparison of that sequence; isolated ones always run to their end.
            _isolatedTransactions = _random.Next(2) == 0;
        }

        public int Connections { get; }

        public List<RandomStep> Build()
        {
            int count = _random.Next(60, 151);
            var steps = new List<RandomStep>(count);
            for (int i = 0; i < count; i++)
            {
                steps.Add(NextStep());
            }
            return steps;
        }

        private RandomStep NextStep()
        {
            int connection = _random.Next(Connections);
            int roll = _random.Next(100);
            return roll switch
            {
                < 18 => WriteStep(connection),
                < 28 => OnePathStep(connection, Read, PathUse.Query),
                < 34 => OnePathStep(connection, Mkdir, PathUse.Change),
                < 42 => OnePathStep(connection, Rm, PathUse.Remove),
                < 49 => OnePathStep(connection, XsMessageType.Directory, PathUse.List),
                < 54 => DirectoryPartStep(connection),
                < 61 => OnePathStep(connection, GetPerms, PathUse.Permissions),
                < 69 => SetPermsStep(connection),
                < 77 => WatchStep(connection),
                < 81 => UnwatchStep(connection),
                < 88 => TransactionStartStep(connection),
                _ => TransactionEndStep(connection),
            };
        }

        /// <summary>What a path is drawn for: which of the unusual paths make sense for that request.</summary>
        private enum PathUse
        {
            /// <summary>READ: anything, the root and the special paths included.</summary>
            Query,

            /// <summary>DIRECTORY, DIRECTORY_PART: the root is left out (its listing is each daemon's own set-up).</summary>
            List,

            /// <summary>WRITE, MKDIR: never the root (its value would outlive the sequence).</summary>
            Change,

            /// <summary>RM: <c>RM /</c> is EINVAL everywhere, so the root is drawn too.</summary>
            Remove,

            /// <summary>GET_PERMS: as a query, without <c>@releaseDomain</c>.</summary>
            Permissions,

            /// <summary>WATCH, UNWATCH: anything.</summary>
            Watch,
        }

        private int Transaction(int connection, int percentInside)
        {
            List<int> open = _openTransactions[connection];
            int roll = _random.Next(100);
            if (roll < 2)
            {
                return RandomStep.UnknownTransaction;
            }
            return open.Count > 0 && roll < percentInside ? Pick(open) : RandomStep.NoTransaction;
        }

        /// <summary>
        /// Who makes a change and in which transaction: in a sequence with isolated transactions, the open
        /// transaction (if there is one) on its own connection.
        /// </summary>
        private (int Connection, int Transaction) ChangeMadeBy(int connection)
        {
            if (_isolatedTransactions)
            {
                for (int owner = 0; owner < Connections; owner++)
                {
                    if (_openTransactions[owner].Count > 0)
                    {
                        return (owner, _openTransactions[owner][0]);
                    }
                }
            }
            return (connection, Transaction(connection, 55));
        }

        private RandomStep WriteStep(int connection)
        {
            (connection, int tx) = ChangeMadeBy(connection);
            int roll = _random.Next(100);
            byte[] payload;
            if (roll < 4)
            {
                // No NUL at all: the path has no end.
                payload = Latin1(Path(0, PathUse.Change));
            }
            else if (roll < 10)
            {
                // A value that fills the payload to exactly 4096 bytes.
                string path = Path(64, PathUse.Change);
                int room = XsConstants.PayloadMax - path.Length - 1;
                payload = Concat(Latin1(path + "\0"), Filler(Math.Max(room, 0)));
            }
            else
            {
                byte[] value = Value();
                payload = Concat(Latin1(Path(value.Length + 1, PathUse.Change) + "\0"), value);
            }
            return new RandomStep(connection, Write, payload, tx);
        }

        private RandomStep OnePathStep(int connection, XsMessageType type, PathUse use)
        {
            int tx;
            (connection, tx) = type is Mkdir or Rm ? ChangeMadeBy(connection) : (connection, Transaction(connection, 55));
            string path = Path(1, use);
            int roll = _random.Next(100);
            byte[] payload = roll switch
            {
                < 2 => Latin1(path),
                < 4 => Latin1(path + "\0\0"),
                < 5 => Latin1(path + "\0x\0"),
                < 6 => [],
                _ => Latin1(path + "\0"),
            };
            return new RandomStep(connection, type, payload, tx);
        }

        private RandomStep DirectoryPartStep(int connection)
        {
            int tx = Transaction(connection, 55);
            string offset = Pick(s_offsets);
            string path = Path(offset.Length + 2, PathUse.List);
            int roll = _random.Next(100);
            string payload = roll switch
            {
                < 4 => path + "\0",
                < 7 => path + "\0" + offset + "\0x\0",
                < 9 => path + "\0" + offset,
                _ => path + "\0" + offset + "\0",
            };
            return new RandomStep(connection, DirectoryPart, Latin1(payload), tx);
        }

        private RandomStep SetPermsStep(int connection)
        {
            (connection, int tx) = ChangeMadeBy(connection);
            var entries = new List<string>();
            bool special = _random.Next(100) < 6;
            int roll = _random.Next(100);
            if (special)
            {
                // The special nodes are global: they are only given their default permissions, or entries that are
                // refused, so that no later sequence (nor a reduction's rerun) starts from a changed state.
                entries.Add(roll < 12 ? Pick(s_refusedPermissions) : "n0");
            }
            else if (roll < 12)
            {
                entries.Add(Pick(s_refusedPermissions));
            }
            else
            {
                entries.Add(roll < 45 ? "n0" : Permission(owner: true));
            }
            if (!special)
            {
                int extra = _random.Next(4);
                for (int i = 0; i < extra; i++)
                {
                    entries.Add(_random.Next(100) < 8 ? Pick(s_refusedPermissions) : Permission(owner: false));
                }
            }
            string perms = string.Concat(entries.Select(e => e + "\0"));
            if (_random.Next(100) < 4)
            {
                // The last entry without its NUL: C counts only terminated strings.
                perms = perms[..^1];
            }
            string path = special
                ? Pick(s_specialPaths.Where(p => p != "@releaseDomain").ToArray())
                : Path(perms.Length + 1, PathUse.Change);
            if (_random.Next(100) < 3)
            {
                // No permissions at all.
                perms = "";
            }
            return new RandomStep(connection, SetPerms, Latin1(path + "\0" + perms), tx);
        }

        private string Permission(bool owner)
        {
            char kind = "rwbn"[_random.Next(4)];
            string domid = _random.Next(100) switch
            {
                < 10 => Pick(s_unusualDomids),
                < 30 => "0",
                _ => _random.Next(1, 10).ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            return owner && _random.Next(100) < 50 ? "n" + domid : kind + domid;
        }

        private RandomStep WatchStep(int connection)
        {
            int tx = _random.Next(100) < 5 ? Transaction(connection, 100) : RandomStep.NoTransaction;
            string token = Pick(s_tokens);
            string depth = _random.Next(100) < 15 ? Pick(s_depths) + "\0" : "";
            if (depth.Length > 0 && _random.Next(100) < 15)
            {
                depth += "extra\0";
            }
            string path = Path(token.Length + depth.Length + 2, PathUse.Watch);
            string payload = _random.Next(100) < 3 ? path + "\0" : path + "\0" + token + "\0" + depth;
            _watches[connection].Add((path, token));
            return new RandomStep(connection, Watch, Latin1(payload), tx);
        }

        private RandomStep UnwatchStep(int connection)
        {
            int tx = _random.Next(100) < 5 ? Transaction(connection, 100) : RandomStep.NoTransaction;
            List<(string Path, string Token)> watches = _watches[connection];
            string payload;
            if (watches.Count > 0 && _random.Next(100) < 75)
            {
                (string path, string token) = Pick(watches);
                payload = _random.Next(100) < 5 ? path + "\0" + token + "\0extra\0" : path + "\0" + token + "\0";
            }
            else
            {
                string token = Pick(s_tokens);
                payload = Path(token.Length + 2, PathUse.Watch) + "\0" + token + "\0";
            }
            return new RandomStep(connection, Unwatch, Latin1(payload), tx);
        }

        private RandomStep TransactionStartStep(int connection)
        {
            if (_isolatedTransactions)
            {
                int owner = Array.FindIndex(_openTransactions, list => list.Count > 0);
                if (owner >= 0)
                {
                    return TransactionEndStep(owner);
                }
            }
            List<int> open = _openTransactions[connection];
            if (open.Count >= 3)
            {
                return TransactionEndStep(connection);
            }
            int roll = _random.Next(100);
            // Mostly outside any transaction; sometimes inside one (C answers EBUSY) or with an odd payload.
            int tx = roll < 6 && open.Count > 0 ? Pick(open) : RandomStep.NoTransaction;
            string payload = roll switch
            {
                < 92 => "\0",
                < 96 => "",
                _ => "x\0",
            };
            int handle = _nextHandle++;
            open.Add(handle);
            return new RandomStep(connection, TransactionStart, Latin1(payload), tx) { StartsTransaction = handle };
        }

        private RandomStep TransactionEndStep(int connection)
        {
            List<int> open = _openTransactions[connection];
            int roll = _random.Next(100);
            if (open.Count == 0 || roll < 3)
            {
                // Nothing to end (ENOENT), or an id that was never handed out.
                int tx = roll % 2 == 0 ? RandomStep.NoTransaction : RandomStep.UnknownTransaction;
                return new RandomStep(connection, TransactionEnd, Latin1("T\0"), tx);
            }
            int handle = Pick(open);
            string payload = _random.Next(100) switch
            {
                < 60 => "T\0",
                < 90 => "F\0",
                < 93 => "X\0",
                < 96 => "T",
                < 98 => "",
                _ => "T\0T\0",
            };
            var step = new RandomStep(connection, TransactionEnd, Latin1(payload), handle);
            if (step.EndsTransaction)
            {
                open.Remove(handle);
            }
            return step;
        }

        /// <summary>
        /// A path for <paramref name="use"/>, short enough that <paramref name="reserve"/> more bytes still fit in
        /// one payload.
        /// </summary>
        private string Path(int reserve, PathUse use)
        {
            int roll = _random.Next(100);
            bool root = use is PathUse.Query or PathUse.Remove or PathUse.Permissions or PathUse.Watch;
            bool special = use is PathUse.Query or PathUse.Permissions or PathUse.Watch or PathUse.List or PathUse.Remove;
            switch (roll)
            {
                case < 48:
                    return Join(AbsoluteBase, Components());
                case < 62:
                    return Join(RelativeBase, Components());
                case < 68:
                    return Join(RelativeBaseAbsolute, Components());
                case < 72:
                    // Trailing slash.
                    return Join(_random.Next(2) == 0 ? AbsoluteBase : RelativeBase, Components()) + "/";
                case < 76:
                    {
                        // An empty component: a double slash somewhere after the prefix.
                        List<string> components = Components();
                        components.Insert(_random.Next(components.Count + 1), "");
                        return Join(_random.Next(3) == 0 ? RelativeBase : AbsoluteBase, components);
                    }
                case < 80:
                    {
                        List<string> components = Components();
                        components.Insert(_random.Next(components.Count + 1), Pick(s_invalidNames));
                        return Join(_random.Next(3) == 0 ? RelativeBase : AbsoluteBase, components);
                    }
                case < 87:
                    return LongPath(reserve);
                case < 91 when special:
                    {
                        string path = Pick(s_specialPaths);
                        return use == PathUse.Permissions && path == "@releaseDomain" ? "@introduceDomain" : path;
                    }
                case < 93 when root:
                    return "/";
                case < 95:
                    return "";
                default:
                    {
                        List<string> components = Components();
                        components.Add(_extraName);
                        return Join(AbsoluteBase, components);
                    }
            }
        }

        /// <summary>0–2 short names, then one of the sequence's long names cut to what the payload has room for.</summary>
        private string LongPath(int reserve)
        {
            List<string> components = Components(maxDepth: 2);
            string head = Join(_random.Next(4) == 0 ? RelativeBase : AbsoluteBase, components) + "/";
            int room = XsConstants.PayloadMax - reserve - head.Length;
            int length = _longNameLengths[_random.Next(_longNameLengths.Length)];
            if (_random.Next(4) == 0)
            {
                // Exactly at the edge of the payload.
                length = room;
            }
            length = Math.Min(length, room);
            return length < 1 ? head[..^1] : head + new string('L', length);
        }

        private List<string> Components(int maxDepth = 3)
        {
            int depth = Math.Min(maxDepth, _random.Next(100) switch
            {
                < 10 => 0,
                < 55 => 1,
                < 85 => 2,
                _ => 3,
            });
            var result = new List<string>(depth);
            for (int i = 0; i < depth; i++)
            {
                result.Add(_random.Next(100) < 90 ? Pick(s_commonNames) : _extraName);
            }
            return result;
        }

        private static string Join(string head, List<string> components) =>
            components.Count == 0 ? head : head + "/" + string.Join('/', components);

        private byte[] Value() => _random.Next(14) switch
        {
            0 or 1 => [],
            2 or 3 or 4 => Latin1("v" + _random.Next(10).ToString(System.Globalization.CultureInfo.InvariantCulture)),
            5 => Latin1("x\0y\0"),
            6 => [0x80, 0xff, 0x01, 0x7f, 0x00],
            7 => Filler(_random.Next(200, 400)),
            8 => Filler(_random.Next(1000, 2100)),
            9 => Latin1("with spaces/and.dots"),
            10 => Latin1("\0"),
            _ => Latin1("value"),
        };

        private static byte[] Filler(int length) => Enumerable.Repeat((byte)'f', length).ToArray();

        private T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];
    }

    private static byte[] Latin1(string text) => Encoding.Latin1.GetBytes(text);

    private static byte[] Concat(byte[] head, byte[] tail) => [.. head, .. tail];
}
