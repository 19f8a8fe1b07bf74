using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Xenstore.Protocol;
using Xenstore.TestKit;

namespace Xenstore.Conformance.Tests;

/// <summary>
/// Seeded random request sequences (<see cref="RandomRequestSequence"/>) run step by step against ours and C
/// xenstored 4.22 side by side; after every step both transcripts (the request, the reply's type and payload,
/// every watch event each connection received) must be equal. This finds what the hand-written differential table
/// does not think of. Skipped where C 4.22 (<c>../shared/refxs-new</c>) is absent.
/// <para>
/// To explore, set <c>XS_RANDOM_DIFF_SEEDS</c> (<c>1-500</c>, <c>3,8,20-30</c>) to run other seeds instead of the
/// fixed ones, and <c>XS_RANDOM_DIFF_REPORT</c> to a directory: each diverging seed is then reduced to a minimal
/// request sequence, run against ours, C 4.22 and C 4.17, and written there (<c>seed-N.txt</c>), with one line
/// per seed in <c>summary.txt</c>.
/// </para>
/// </summary>
public sealed class RandomDifferentialTests(RandomDifferentialTests.Daemons daemons) : IClassFixture<RandomDifferentialTests.Daemons>
{
    /// <summary>
    /// The seeds the suite runs (45 sequences on each number of connections, about 13,000 requests): each agrees
    /// with C 4.22 today. Of seeds 1–400, 317 agree; the others meet the deliberate differences of transactions
    /// (a snapshot of the start; a parent's child list merges), an owner check 4.22 makes before the path's, or the
    /// order of a commit's events for nodes created on the way to another and removed in the same transaction.
    /// </summary>
    private static readonly int[] s_fixedSeeds =
    [
        1, 2, 3, 4, 5, 7, 8, 9, 11, 13, 16, 17, 18, 19, 20, 21, 22, 24, 27, 28, 29, 30, 31, 33, 34, 35, 36, 37,
        38, 39, 41, 42, 44, 47, 48, 49, 50, 51, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 65, 66, 67, 69, 71, 72,
        73, 74, 75, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 93, 94, 95, 97, 98, 100, 103,
        104, 105, 106, 108, 109, 110, 111, 113, 115, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 128, 129,
        130, 131, 132, 133, 135, 136, 137, 138, 139, 142, 143, 144, 145, 146, 147, 149, 150, 152, 153, 154, 155,
        157, 158, 159, 162, 163, 166, 168, 169, 173, 176, 177, 179, 183, 192,
    ];

    public static TheoryData<int> Seeds()
    {
        var data = new TheoryData<int>();
        foreach (int seed in SeedList.Parse(Environment.GetEnvironmentVariable("XS_RANDOM_DIFF_SEEDS")) ?? [.. s_fixedSeeds])
        {
            data.Add(seed);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task Sequence_AnswersAsC422(int seed)
    {
        IDaemonUnderTest reference = await daemons.GetAsync("c422");
        IDaemonUnderTest ours = await daemons.GetAsync("ours");
        RandomRequestSequence sequence = RandomRequestSequence.Generate(seed);
        SequenceOutcome outcome = await SequenceComparison.RunAsync(sequence, ours, reference);
        string summary = $"seed {seed}: {sequence.Connections} connections, {outcome.StepsRun}/{sequence.Steps.Count} steps run"
            + (outcome.StoppedBecause is null ? "" : $", stopped: {outcome.StoppedBecause}")
            + string.Concat(outcome.Divergences.Select(d => $"\n  DIVERGED at step {d.StepIndex}: {d.Signature}"));
        TestContext.Current.TestOutputHelper?.WriteLine(summary);
        string? reportDirectory = Environment.GetEnvironmentVariable("XS_RANDOM_DIFF_REPORT");
        if (reportDirectory is { Length: > 0 })
        {
            Directory.CreateDirectory(reportDirectory);
            await File.AppendAllTextAsync(Path.Combine(reportDirectory, "summary.txt"), summary + "\n", TestContext.Current.CancellationToken);
            if (outcome.Divergences.Count > 0)
            {
                string report = await ReportAsync(sequence, outcome, ours, reference);
                await File.WriteAllTextAsync(Path.Combine(reportDirectory, $"seed-{seed}.txt"), report, TestContext.Current.CancellationToken);
            }
        }
        Assert.True(outcome.Divergences.Count == 0, string.Join("\n", outcome.Divergences.Select(d => d.Describe(seed))));
    }

    /// <summary>Reduces each divergence to a minimal sequence and shows what each daemon answers to it.</summary>
    private async Task<string> ReportAsync(RandomRequestSequence sequence, SequenceOutcome outcome, IDaemonUnderTest ours, IDaemonUnderTest reference)
    {
        var report = new StringBuilder();
        IDaemonUnderTest? oldReference = ReferenceDaemon.Available ? await daemons.GetAsync("c") : null;
        foreach (StepDivergence divergence in outcome.Divergences.DistinctBy(d => d.Signature))
        {
            RandomRequestSequence minimal = await SequenceMinimiser.MinimiseAsync(sequence, divergence.StepIndex, divergence.Signature, ours, reference);
            report.Append(divergence.Describe(sequence.Seed)).Append('\n');
            report.Append(CultureInfo.InvariantCulture, $"minimal sequence ({minimal.Steps.Count} steps, {minimal.Connections} connections):\n");
            foreach ((string name, IDaemonUnderTest? daemon) in new[] { ("ours", ours), ("c422", reference), ("c (4.17)", oldReference) })
            {
                report.Append(CultureInfo.InvariantCulture, $"--- {name}\n");
                if (daemon is null)
                {
                    report.Append("(absent)\n");
                    continue;
                }
                foreach (string line in await SequenceComparison.RunAloneAsync(minimal, daemon))
                {
                    report.Append(line).Append('\n');
                }
            }
            report.Append("=====\n\n");
        }
        return report.ToString();
    }

    /// <summary>
    /// One daemon per kind for the whole class, started again when it no longer answers (a crashed reference must
    /// not fail every later seed).
    /// </summary>
    public sealed class Daemons : IAsyncDisposable
    {
        private readonly Dictionary<string, IDaemonUnderTest> _running = [];
        private readonly SemaphoreSlim _lock = new(1, 1);

        /// <summary>The daemon of <paramref name="kind"/>; skips the calling test when it cannot run here.</summary>
        public async Task<IDaemonUnderTest> GetAsync(string kind)
        {
            await _lock.WaitAsync();
            try
            {
                if (_running.TryGetValue(kind, out IDaemonUnderTest? daemon))
                {
                    if (await AnswersAsync(daemon))
                    {
                        return daemon;
                    }
                    _running.Remove(kind);
                    await daemon.DisposeAsync();
                }
                daemon = await DaemonKinds.StartAsync(kind);
                _running[kind] = daemon;
                return daemon;
            }
            finally
            {
                _lock.Release();
            }
        }

        private static async Task<bool> AnswersAsync(IDaemonUnderTest daemon)
        {
            try
            {
                await using RawConnection probe = await RawConnection.ConnectAsync(daemon).WaitAsync(TimeSpan.FromSeconds(5));
                RawMessage reply = await probe.RequestAsync(XsMessageType.Read, RawPayload.Strings("/"), timeout: TimeSpan.FromSeconds(5));
                return !reply.IsError;
            }
            catch (Exception e) when (e is IOException or SocketException or TimeoutException)
            {
                return false;
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (IDaemonUnderTest daemon in _running.Values)
            {
                await daemon.DisposeAsync();
            }
            _running.Clear();
            _lock.Dispose();
        }
    }

    /// <summary>
    /// How a sequence went: how many steps ran, why it ended early (if it did), and every step whose transcript
    /// differed.
    /// </summary>
    private sealed record SequenceOutcome(int StepsRun, string? StoppedBecause, IReadOnlyList<StepDivergence> Divergences);

    /// <summary>A step whose transcripts differ, with the transcript of every step before it.</summary>
    private sealed record StepDivergence(int StepIndex, IReadOnlyList<string> AgreedBefore, IReadOnlyList<string> Ours, IReadOnlyList<string> Reference)
    {
        /// <summary>The request and the first pair of lines that differ: what a reduction of the sequence must keep.</summary>
        public string Signature
        {
            get
            {
                int i = 0;
                while (i < Ours.Count && i < Reference.Count && Ours[i] == Reference[i])
                {
                    i++;
                }
                string oursLine = i < Ours.Count ? Ours[i] : "(nothing)";
                string referenceLine = i < Reference.Count ? Reference[i] : "(nothing)";
                return $"{WithoutConnection(Ours[0])} => ours {WithoutConnection(oursLine)} / c422 {WithoutConnection(referenceLine)}";
            }
        }

        /// <summary>A line without its connection's name, so that a reduction may drop and rename connections.</summary>
        private static string WithoutConnection(string line) => line.Length > 1 && line[1] is '<' or '>' ? line[1..] : line;

        public string Describe(int seed)
        {
            const int context = 40;
            var text = new StringBuilder();
            text.Append(CultureInfo.InvariantCulture, $"seed {seed} diverges from C 4.22 at step {StepIndex}\n");
            text.Append(CultureInfo.InvariantCulture, $"--- agreed before (last {context} lines)\n");
            foreach (string line in AgreedBefore.TakeLast(context))
            {
                text.Append(line).Append('\n');
            }
            text.Append("--- ours\n").Append(string.Join('\n', Ours)).Append('\n');
            text.Append("--- c422\n").Append(string.Join('\n', Reference)).Append('\n');
            return text.ToString();
        }
    }

    /// <summary>Runs sequences in lockstep on two daemons and compares each step's transcript.</summary>
    private static class SequenceComparison
    {
        private static int s_runs;

        /// <summary>A prefix of the placeholder's width that no earlier run used (runs share the daemons).</summary>
        public static string NextPrefix() =>
            "q" + Interlocked.Increment(ref s_runs).ToString("d7", CultureInfo.InvariantCulture);

        /// <summary>
        /// Runs <paramref name="sequence"/> on both daemons step by step. After a divergence that cannot have left the
        /// two stores different (both answered with an error, only events differ, or a query outside transactions) the
        /// sequence goes on, so that one divergence does not hide the next; after any other it stops.
        /// </summary>
        public static async Task<SequenceOutcome> RunAsync(RandomRequestSequence sequence, IDaemonUnderTest ours, IDaemonUnderTest reference)
        {
            string prefix = NextPrefix();
            await using SequenceRun oursRun = await SequenceRun.OpenAsync(ours, sequence.Connections, prefix);
            await using SequenceRun referenceRun = await SequenceRun.OpenAsync(reference, sequence.Connections, prefix);
            var agreed = new List<string>();
            var divergences = new List<StepDivergence>();
            var changedOutside = new Dictionary<int, bool>();
            for (int i = 0; i < sequence.Steps.Count; i++)
            {
                RandomStep step = sequence.Steps[i];
                Task<StepResult> oursStep = oursRun.ExecuteAsync(step);
                Task<StepResult> referenceStep = referenceRun.ExecuteAsync(step);
                StepResult oursResult = await oursStep;
                StepResult referenceResult = await referenceStep;
                if (!oursResult.Lines.SequenceEqual(referenceResult.Lines))
                {
                    if (IsChildListMerge(step, oursResult, referenceResult, changedOutside))
                    {
                        return new SequenceOutcome(i, $"step {i}: a commit C 4.22 refuses because the store changed outside the transaction (child lists merge: docs/COMPATIBILITY.md, Deliberate differences)", divergences);
                    }
                    divergences.Add(new StepDivergence(i, [.. agreed], oursResult.Lines, referenceResult.Lines));
                    if (!LeavesStoresAlike(step, oursResult, referenceResult))
                    {
                        return new SequenceOutcome(i + 1, $"step {i}: the stores may differ from here on", divergences);
                    }
                    agreed.Add($"# step {i} diverged; ours:");
                }
                agreed.AddRange(oursResult.Lines);
                TrackOutsideChanges(step, oursResult.Reply, changedOutside);
            }
            await oursRun.RemoveSubtreesAsync();
            await referenceRun.RemoveSubtreesAsync();
            return new SequenceOutcome(sequence.Steps.Count, null, divergences);
        }

        /// <summary>A divergence after which both stores (nodes, watches, transactions) are still the same.</summary>
        private static bool LeavesStoresAlike(RandomStep step, StepResult ours, StepResult reference)
        {
            if (ours.Reply is null || reference.Reply is null)
            {
                return false;
            }
            bool bothFailed = ours.Reply.IsError && reference.Reply.IsError;
            bool sameReply = ours.Reply.Type == reference.Reply.Type && ours.Reply.Payload.AsSpan().SequenceEqual(reference.Reply.Payload)
                && step.StartsTransaction == 0;
            bool query = step.Type is XsMessageType.Read or XsMessageType.Directory or XsMessageType.DirectoryPart or XsMessageType.GetPerms
                && step.Transaction == RandomStep.NoTransaction;
            return bothFailed || sameReply || query;
        }

        /// <summary>The whole transcript of a sequence on one daemon (for a report: every step, whatever it answers).</summary>
        public static async Task<IReadOnlyList<string>> RunAloneAsync(RandomRequestSequence sequence, IDaemonUnderTest daemon)
        {
            await using SequenceRun run = await SequenceRun.OpenAsync(daemon, sequence.Connections, NextPrefix());
            var lines = new List<string>();
            foreach (RandomStep step in sequence.Steps)
            {
                lines.AddRange((await run.ExecuteAsync(step)).Lines);
            }
            await run.RemoveSubtreesAsync();
            return lines;
        }

        /// <summary>
        /// The deliberate difference "transactions: a parent's child list" (docs/COMPATIBILITY.md): where a
        /// transaction and a change made outside it while it was open touch different children of one parent, ours
        /// commits and C 4.22 answers EAGAIN. The two stores differ from then on, so the sequence stops there. Only a
        /// commit of a transaction during which the store did change outside it qualifies.
        /// </summary>
        private static bool IsChildListMerge(RandomStep step, StepResult ours, StepResult reference, Dictionary<int, bool> changedOutside) =>
            step.Commits
            && changedOutside.GetValueOrDefault(step.Transaction)
            && ours.Reply is { IsOk: true }
            && reference.Reply is { ErrorName: "EAGAIN" };

        /// <summary>Marks the open transactions during which the store changed outside them.</summary>
        private static void TrackOutsideChanges(RandomStep step, RawMessage? reply, Dictionary<int, bool> changedOutside)
        {
            bool succeeded = reply is { IsError: false };
            if (step.StartsTransaction > 0 && succeeded)
            {
                changedOutside[step.StartsTransaction] = false;
            }
            bool changedStore = succeeded && ((step.Modifies && step.Transaction == RandomStep.NoTransaction) || step.Commits);
            if (changedStore)
            {
                foreach (int handle in changedOutside.Keys.Where(h => h != step.Transaction).ToList())
                {
                    changedOutside[handle] = true;
                }
            }
            if (step.EndsTransaction)
            {
                changedOutside.Remove(step.Transaction);
            }
        }
    }

    /// <summary>What one step produced on one daemon: its transcript lines and the reply (null when closed).</summary>
    private sealed record StepResult(IReadOnlyList<string> Lines, RawMessage? Reply);

    /// <summary>
    /// One sequence on one daemon: its connections (A, B, C), the ids the daemon gave each transaction handle, and the
    /// rendering of each step as transcript lines in which what legitimately differs between daemons is normalised.
    /// </summary>
    private sealed class SequenceRun : IAsyncDisposable
    {
        /// <summary>An id no daemon hands out this early (both count up from small numbers).</summary>
        private const uint UnknownTransactionId = 0x7fffff00;

        private readonly RawConnection[] _connections;
        private readonly bool[] _closed;
        private readonly bool[] _watching;
        private readonly Dictionary<int, uint> _transactionIds = [];
        private readonly Dictionary<uint, string> _transactionLabels = [];
        private readonly string _prefix;
        private readonly byte[] _placeholder = Encoding.Latin1.GetBytes(RandomRequestSequence.PrefixPlaceholder);
        private readonly byte[] _prefixBytes;

        private SequenceRun(RawConnection[] connections, string prefix)
        {
            _connections = connections;
            _closed = new bool[connections.Length];
            _watching = new bool[connections.Length];
            _prefix = prefix;
            _prefixBytes = Encoding.Latin1.GetBytes(prefix);
        }

        public static async Task<SequenceRun> OpenAsync(IDaemonUnderTest daemon, int connections, string prefix)
        {
            var opened = new RawConnection[connections];
            for (int i = 0; i < connections; i++)
            {
                opened[i] = await RawConnection.ConnectAsync(daemon);
            }
            return new SequenceRun(opened, prefix);
        }

        public async Task<StepResult> ExecuteAsync(RandomStep step)
        {
            var lines = new List<string>();
            int index = step.Connection;
            string name = ConnectionName(index);
            uint txId = TransactionId(step.Transaction);
            lines.Add($"{name}> {step.Type}{RequestLabel(step.Transaction)} {TranscriptText.Quote(step.Payload).Replace(RandomRequestSequence.PrefixPlaceholder, "$P", StringComparison.Ordinal)}");
            RawMessage? reply = null;
            if (!_closed[index])
            {
                RawConnection connection = _connections[index];
                try
                {
                    uint reqId = await connection.SendRequestAsync(step.Type, Expand(step.Payload), txId);
                    reply = await connection.NextReplyAsync();
                    AddEvents(index, reply.Sequence, lines);
                    if (step.StartsTransaction > 0 && reply.Type == XsMessageType.TransactionStart)
                    {
                        RecordTransaction(step.StartsTransaction, reply);
                    }
                    lines.Add($"{name}< {RenderReply(reply, step.Type, reqId, txId)}");
                }
                catch (Exception e) when (e is IOException or SocketException)
                {
                    _closed[index] = true;
                    AddEvents(index, long.MaxValue, lines);
                    lines.Add($"{name}< closed");
                }
            }
            else
            {
                lines.Add($"{name}< closed");
            }
            if (step.Type == XsMessageType.Watch && reply is { IsOk: true })
            {
                _watching[index] = true;
            }
            await CollectEventsAsync(lines);
            return new StepResult(lines, reply);
        }

        /// <summary>Removes what the sequence wrote (not part of any transcript).</summary>
        public async Task RemoveSubtreesAsync()
        {
            int open = Array.IndexOf(_closed, false);
            if (open < 0)
            {
                return;
            }
            foreach (string subtree in new[] { RandomRequestSequence.AbsoluteBase, RandomRequestSequence.RelativeBaseAbsolute })
            {
                await _connections[open].RequestAsync(XsMessageType.Rm, Expand(RawPayload.Strings(subtree)));
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (RawConnection connection in _connections)
            {
                await connection.DisposeAsync();
            }
        }

        /// <summary>
        /// Every event that reached a watching connection because of the step (including the event a WATCH sends after
        /// its reply): a round trip on each makes sure they have all arrived. Without it, C would also drop an event
        /// identical to one still waiting in that connection's queue, which would depend on timing.
        /// </summary>
        private async Task CollectEventsAsync(List<string> lines)
        {
            for (int i = 0; i < _connections.Length; i++)
            {
                if (!_watching[i] || _closed[i])
                {
                    continue;
                }
                try
                {
                    RawMessage sync = await _connections[i].RequestAsync(XsMessageType.Read, RawPayload.Strings("/"));
                    AddEvents(i, sync.Sequence, lines);
                }
                catch (Exception e) when (e is IOException or SocketException)
                {
                    _closed[i] = true;
                    AddEvents(i, long.MaxValue, lines);
                    lines.Add($"{ConnectionName(i)}< closed");
                }
            }
        }

        private void AddEvents(int index, long before, List<string> lines)
        {
            EventQueue.TakeBefore(_connections[index], before, e =>
                lines.Add($"{ConnectionName(index)}< EVENT {Normalise(TranscriptText.Quote(e.Payload))}{HeaderNote(e)}"));
        }

        private static string HeaderNote(RawMessage e) => e.ReqId != 0 || e.TxId != 0 ? $" (req_id {e.ReqId}, tx_id {e.TxId})" : "";

        private void RecordTransaction(int handle, RawMessage reply)
        {
            if (reply.Payload.Length > 1 && reply.Payload[^1] == 0
                && uint.TryParse(reply.Text, NumberStyles.None, CultureInfo.InvariantCulture, out uint id))
            {
                _transactionIds[handle] = id;
                _transactionLabels[id] = "T" + handle.ToString(CultureInfo.InvariantCulture);
            }
        }

        private uint TransactionId(int handle) => handle switch
        {
            RandomStep.NoTransaction => 0,
            RandomStep.UnknownTransaction => UnknownTransactionId,
            _ => _transactionIds.GetValueOrDefault(handle, UnknownTransactionId),
        };

        private static string RequestLabel(int handle) => handle switch
        {
            RandomStep.NoTransaction => "",
            RandomStep.UnknownTransaction => "[T?]",
            _ => $"[T{handle}]",
        };

        private string TransactionLabel(uint id) =>
            id == 0 ? "0" : _transactionLabels.GetValueOrDefault(id, id == UnknownTransactionId ? "T?" : "unknown id");

        /// <summary>
        /// A reply as the transcript shows it. Normalised: a new transaction's id (each daemon numbers its own) is shown
        /// as its handle; DIRECTORY_PART's generation (a counter of its own in each daemon: docs/COMPATIBILITY.md, Engine
        /// rules, "DIRECTORY_PART generation") is shown as <c>&lt;gen&gt;</c> when it is a decimal number.
        /// </summary>
        private string RenderReply(RawMessage reply, XsMessageType requestType, uint reqId, uint txId)
        {
            string text = reply.Type switch
            {
                XsMessageType.Error => "ERROR " + TranscriptText.Quote(reply.Payload),
                _ when reply.Type != requestType => $"{reply.Type} {Normalise(TranscriptText.Quote(reply.Payload))}",
                _ when reply.IsOk => "OK",
                XsMessageType.TransactionStart => _transactionLabels.TryGetValue(ParsedId(reply), out string? label) ? "started " + label : TranscriptText.Quote(reply.Payload),
                XsMessageType.DirectoryPart => RenderDirectoryPart(reply.Payload),
                _ => Normalise(TranscriptText.Quote(reply.Payload)),
            };
            if (reply.ReqId != reqId)
            {
                text += $" (req_id {reply.ReqId} for {reqId})";
            }
            if (reply.TxId != txId)
            {
                text += $" (tx_id {TransactionLabel(reply.TxId)} for {TransactionLabel(txId)})";
            }
            return text;
        }

        private static uint ParsedId(RawMessage reply) =>
            uint.TryParse(reply.Text, NumberStyles.None, CultureInfo.InvariantCulture, out uint id) ? id : 0;

        private string RenderDirectoryPart(byte[] payload)
        {
            int nul = Array.IndexOf(payload, (byte)0);
            if (nul <= 0 || payload.AsSpan(0, nul).ContainsAnyExceptInRange((byte)'0', (byte)'9'))
            {
                return Normalise(TranscriptText.Quote(payload));
            }
            return "<gen>" + Normalise(TranscriptText.Quote(payload.AsSpan(nul)));
        }

        private string Normalise(string rendered) => rendered.Replace(_prefix, "$P", StringComparison.Ordinal);

        private byte[] Expand(byte[] payload)
        {
            byte[] result = (byte[])payload.Clone();
            int start = 0;
            while (true)
            {
                int at = result.AsSpan(start).IndexOf(_placeholder);
                if (at < 0)
                {
                    return result;
                }
                _prefixBytes.CopyTo(result, start + at);
                start += at + _placeholder.Length;
            }
        }

        private static string ConnectionName(int index) => ((char)('A' + index)).ToString();
    }

    /// <summary>Takes a connection's queued watch events that arrived before a given message.</summary>
    private static class EventQueue
    {
        public static void TakeBefore(RawConnection connection, long before, Action<RawMessage> take)
        {
            while (connection.Events.TryPeek(out RawMessage? e) && e.Sequence < before)
            {
                connection.Events.TryRead(out _);
                take(e);
            }
        }
    }

    /// <summary>Quoting for the random transcripts: as <see cref="Transcript.Quote"/>, with long runs of one byte shortened.</summary>
    private static class TranscriptText
    {
        /// <summary>Runs this long or longer are shown as <c>c{n}</c> (long names and fillers would fill a screen).</summary>
        private const int ShortenedRun = 12;

        public static string Quote(ReadOnlySpan<byte> bytes)
        {
            var text = new StringBuilder(bytes.Length + 2);
            text.Append('"');
            int i = 0;
            while (i < bytes.Length)
            {
                byte b = bytes[i];
                int run = 1;
                while (i + run < bytes.Length && bytes[i + run] == b)
                {
                    run++;
                }
                if (run >= ShortenedRun)
                {
                    AppendByte(text, b);
                    text.Append(CultureInfo.InvariantCulture, $"{{{run}}}");
                    i += run;
                    continue;
                }
                AppendByte(text, b);
                i++;
            }
            text.Append('"');
            return text.ToString();
        }

        private static void AppendByte(StringBuilder text, byte b)
        {
            switch (b)
            {
                case 0: text.Append("\\0"); break;
                case (byte)'"': text.Append("\\\""); break;
                case (byte)'\\': text.Append("\\\\"); break;
                case (byte)'{': text.Append("\\x7b"); break;
                case < 0x20 or > 0x7e: text.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}"); break;
                default: text.Append((char)b); break;
            }
        }
    }

    /// <summary>
    /// Reduces a diverging sequence: removes ever smaller runs of steps as long as the same divergence (the same
    /// request and the same first differing lines) still shows.
    /// </summary>
    private static class SequenceMinimiser
    {
        public static async Task<RandomRequestSequence> MinimiseAsync(RandomRequestSequence sequence, int divergingStep, string signature,
            IDaemonUnderTest ours, IDaemonUnderTest reference)
        {
            List<RandomStep> steps = [.. sequence.Steps.Take(divergingStep + 1)];
            int chunk = Math.Max(1, steps.Count / 2);
            while (true)
            {
                bool removed = false;
                int start = 0;
                while (start < steps.Count)
                {
                    List<RandomStep> candidate = [.. steps.Take(start), .. steps.Skip(start + chunk)];
                    if (candidate.Count > 0 && await StillDivergesAsync(sequence.WithSteps(candidate), signature, ours, reference))
                    {
                        steps = candidate;
                        removed = true;
                    }
                    else
                    {
                        start += chunk;
                    }
                }
                if (!removed)
                {
                    if (chunk == 1)
                    {
                        RandomRequestSequence reduced = sequence.WithSteps(steps);
                        RandomRequestSequence compacted = WithoutUnusedConnections(reduced);
                        return await StillDivergesAsync(compacted, signature, ours, reference) ? compacted : reduced;
                    }
                    chunk /= 2;
                }
            }
        }

        /// <summary>The connections that still send something, renamed A, B, … in the order they first do.</summary>
        private static RandomRequestSequence WithoutUnusedConnections(RandomRequestSequence sequence)
        {
            var renamed = new Dictionary<int, int>();
            foreach (RandomStep step in sequence.Steps)
            {
                renamed.TryAdd(step.Connection, renamed.Count);
            }
            return sequence.WithSteps([.. sequence.Steps.Select(s => s with { Connection = renamed[s.Connection] })], renamed.Count);
        }

        private static async Task<bool> StillDivergesAsync(RandomRequestSequence candidate, string signature, IDaemonUnderTest ours, IDaemonUnderTest reference)
        {
            SequenceOutcome outcome = await SequenceComparison.RunAsync(candidate, ours, reference);
            return outcome.Divergences.Any(d => d.Signature == signature);
        }
    }
}
