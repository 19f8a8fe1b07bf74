using Xenstore.Client;

namespace Xenstore.Cli;

/// <summary>
/// xenstore-read/-write/-rm/-exists/-list/-ls/-chmod/-watch with the behaviour of Debian's xenstore-utils 4.17:
/// same options, output bytes, messages and exit codes; multi-key operations in one transaction, re-run from
/// scratch (output discarded) when the commit reports EAGAIN.
/// </summary>
internal sealed class StoreTool
{
    private static readonly LongOption[] s_longOptions =
    [
        new("help", false, 'h'),
        new("flat", false, 'f'),
        new("prefix", false, 'p'),
        new("tidy", false, 't'),
        new("upto", false, 'u'),
        new("recurse", false, 'r'),
        new("number", true, 'n'),
        new("raw", false, 'R'),
        // Extras: exact spelling only, so the 4.17 options abbreviate exactly as before.
        new("json", false, 'J', ExactOnly: true),
        new("value", false, 'V', ExactOnly: true),
    ];

    private readonly CliOutput _output;
    private readonly string _argv0;
    private readonly Mode _mode;
    private readonly bool _includeMode;
    private readonly ToolOptions _options = new();
    private readonly EndpointOptions _endpoint;

    public StoreTool(CliOutput output, string argv0, Mode mode, bool includeMode, EndpointOptions endpoint)
    {
        _endpoint = endpoint;
        _output = output;
        _argv0 = argv0;
        _mode = mode;
        _includeMode = includeMode;
    }

    private CliExitException Usage(int code) => _output.Fail(code, Modes.Usage(_mode, _includeMode, _argv0));

    /// <summary>Runs the tool; <paramref name="getoptName"/> is what getopt prefixes its messages with.</summary>
    public async Task<int> RunAsync(string getoptName, string[] args)
    {
        var getopt = new Getopt(getoptName, args, "hfspturn:R", s_longOptions, _output.ErrorLine);
        while (getopt.Next(out char option, out string? argument))
        {
            ApplyOption(option, argument);
        }
        string[] operands = [.. getopt.Operands];
        if (_mode == Mode.Write && operands.Length % 2 == 1)
        {
            throw Usage(1);
        }
        if (_mode != Mode.Ls && operands.Length == 0)
        {
            throw Usage(1);
        }
        bool transaction = _mode switch
        {
            Mode.Read => operands.Length > 1,
            Mode.Write => operands.Length > 2,
            Mode.Ls or Mode.Watch => false,
            _ => true,
        };
        if (_mode == Mode.Ls && !Console.IsOutputRedirected)
        {
            _options.MaxWidth = TerminalColumns() - 2;
        }

        StoreConnection connection;
        try
        {
            connection = await StoreConnection.OpenAsync(_endpoint.Apply(new XenstoreClientOptions
            {
                RequestTimeout = Timeout.InfiniteTimeSpan,
                CoalesceWatchEvents = false,
                WatchQueueCapacity = int.MaxValue,
            }), watches: _mode == Mode.Watch).ConfigureAwait(false);
        }
        catch (XenstoreConnectionException e)
        {
            throw _output.Fail(1, "xs_open: " + ClientFailure.Text(e));
        }
        await using (connection.ConfigureAwait(false))
        {
            while (true)
            {
                XenstoreTransaction? tx = null;
                if (transaction)
                {
                    try
                    {
                        tx = await connection.BeginTransactionAsync().ConfigureAwait(false);
                    }
                    catch (XenstoreException)
                    {
                        throw _output.Fail(1, "couldn't start transaction");
                    }
                }
                int ret = await PerformAsync(connection, (XenstoreOperations?)tx ?? connection.Operations, operands).ConfigureAwait(false);
                if (tx is not null)
                {
                    bool ended;
                    bool conflict = false;
                    try
                    {
                        if (ret == 0)
                        {
                            ended = await tx.CommitAsync().ConfigureAwait(false);
                            conflict = !ended;
                        }
                        else
                        {
                            await tx.AbortAsync().ConfigureAwait(false);
                            ended = true;
                        }
                    }
                    catch (XenstoreException)
                    {
                        ended = false;
                    }
                    if (!ended)
                    {
                        if (conflict)
                        {
                            _output.Buffered.SetLength(0);
                            continue;
                        }
                        throw _output.Fail(1, "couldn't end transaction");
                    }
                }
                _output.FlushBuffered();
                return ret;
            }
        }
    }

    private static int TerminalColumns()
    {
        try
        {
            return Console.WindowWidth;
        }
        catch (IOException)
        {
            return 82;
        }
    }

    private void ApplyOption(char option, string? argument)
    {
        switch (option)
        {
            case 'h':
                throw Usage(1);
            case 'f':
                if (_mode != Mode.Ls)
                {
                    throw Usage(1);
                }
                _options.MaxWidth = int.MaxValue / 2;
                _options.DesiredWidth = 0;
                _options.ShowWholePath = true;
                break;
            case 'p':
                if (_mode is not (Mode.Read or Mode.List or Mode.Ls))
                {
                    throw Usage(1);
                }
                _options.Prefix = true;
                break;
            case 't':
                _options.Tidy = _mode == Mode.Rm ? true : throw Usage(1);
                break;
            case 'u':
                _options.UpTo = _mode == Mode.Chmod ? true : throw Usage(1);
                break;
            case 'r':
                _options.Recurse = _mode == Mode.Chmod ? true : throw Usage(1);
                break;
            case 'n':
                _options.WatchCount = _mode == Mode.Watch ? CNumbers.Atoi(argument!) : throw Usage(1);
                break;
            case 'R':
                _options.Raw = _mode is Mode.Read or Mode.Write ? true : throw Usage(1);
                break;
            case 'J':
                _options.Json = _mode is Mode.Read or Mode.List or Mode.Ls or Mode.Watch ? true : throw Usage(1);
                break;
            case 'V':
                _options.WatchValue = _mode == Mode.Watch ? true : throw Usage(1);
                break;
            default:
                // 's' (socket-only, a no-op since 2020) and the '?' of a bad option are ignored, as in 4.17.
                break;
        }
    }

    private async Task<int> PerformAsync(StoreConnection connection, XenstoreOperations ops, string[] operands)
    {
        var json = _options.Json ? new JsonResult() : null;
        int ret = 0;
        switch (_mode)
        {
            case Mode.Read:
                ret = await ReadAsync(ops, operands, json).ConfigureAwait(false);
                break;
            case Mode.Write:
                for (int i = 0; i < operands.Length; i += 2)
                {
                    byte[] value = _options.Raw
                        ? ProcessArguments.Bytes.GetBytes(operands[i + 1])
                        : Escaping.Unsanitise(ProcessArguments.Bytes.GetBytes(operands[i + 1]));
                    if (!await Succeeds(ops.WriteAsync(operands[i], value)).ConfigureAwait(false))
                    {
                        _output.Warn($"could not write path {operands[i]}");
                        return 1;
                    }
                }
                break;
            case Mode.Rm:
                foreach (string path in operands)
                {
                    if (await RemoveAsync(ops, path).ConfigureAwait(false) != 0)
                    {
                        return 1;
                    }
                }
                break;
            case Mode.Exists:
                foreach (string path in operands)
                {
                    if (!await Succeeds(ops.ReadAsync(path)).ConfigureAwait(false))
                    {
                        return 1;
                    }
                }
                break;
            case Mode.List:
                ret = await ListAsync(ops, operands, json).ConfigureAwait(false);
                break;
            case Mode.Ls:
                var ls = new LsCommand(connection.Operations, _output, _options);
                foreach (string path in operands.Length == 0 ? ["/"] : operands)
                {
                    await ls.RunAsync(path, json).ConfigureAwait(false);
                }
                if (json is not null)
                {
                    _output.Print(json.ToText());
                }
                break;
            case Mode.Chmod:
                await new ChmodCommand(ops, _output, _options).RunAsync(operands).ConfigureAwait(false);
                break;
            case Mode.Watch:
                await new WatchCommand(connection.Client, _output, _options).RunAsync(operands).ConfigureAwait(false);
                break;
        }
        if (json is not null && _mode is Mode.Read or Mode.List)
        {
            _output.Out(json.ToText());
        }
        return ret;
    }

    private async Task<int> ReadAsync(XenstoreOperations ops, string[] operands, JsonResult? json)
    {
        foreach (string path in operands)
        {
            byte[]? value = await ValueOrNull(ops.ReadAsync(path)).ConfigureAwait(false);
            if (value is null)
            {
                _output.Warn($"couldn't read path {path}");
                return 1;
            }
            if (json is not null)
            {
                json.Add(path, value);
                continue;
            }
            if (_options.Prefix)
            {
                _output.Out($"{path}: ");
            }
            if (_options.Raw)
            {
                _output.OutRaw(value);
            }
            else
            {
                _output.Out(Escaping.Sanitise(value) + "\n");
            }
        }
        return 0;
    }

    private async Task<int> ListAsync(XenstoreOperations ops, string[] operands, JsonResult? json)
    {
        foreach (string path in operands)
        {
            string[]? children = await ValueOrNull(ops.ListAsync(path)).ConfigureAwait(false);
            if (children is null)
            {
                _output.Warn($"could not list path {path}");
                return 1;
            }
            if (json is not null)
            {
                json.Add(path, children);
                continue;
            }
            foreach (string child in children)
            {
                // 4.17 prints "//tool" for "/": kept, the point is to be a drop-in for that version.
                _output.Out(_options.Prefix ? $"{path}/{child}\n" : $"{child}\n");
            }
        }
        return 0;
    }

    /// <summary>rm, and with -t the walk up removing parents left with an empty value and no children.</summary>
    private async Task<int> RemoveAsync(XenstoreOperations ops, string path)
    {
        while (true)
        {
            if (!await Succeeds(ops.RemoveAsync(path)).ConfigureAwait(false))
            {
                _output.Warn($"could not remove path {path}");
                return 1;
            }
            if (!_options.Tidy)
            {
                return 0;
            }
            int slash = path.LastIndexOf('/');
            if (slash < 0)
            {
                return 0;
            }
            path = path[..slash];
            byte[]? value = await ValueOrNull(ops.ReadAsync(path)).ConfigureAwait(false);
            if (value is not { Length: 0 })
            {
                return 0;
            }
            string[]? children = await ValueOrNull(ops.ListAsync(path)).ConfigureAwait(false);
            if (children is not { Length: 0 })
            {
                return 0;
            }
        }
    }

    internal static async Task<bool> Succeeds(Task call)
    {
        try
        {
            await call.ConfigureAwait(false);
            return true;
        }
        catch (XenstoreErrorException)
        {
            return false;
        }
    }

    internal static async Task<T?> ValueOrNull<T>(Task<T> call) where T : class
    {
        try
        {
            return await call.ConfigureAwait(false);
        }
        catch (XenstoreErrorException)
        {
            return null;
        }
    }
}

/// <summary>The option values of one run.</summary>
internal sealed class ToolOptions
{
    public bool Prefix { get; set; }
    public bool Tidy { get; set; }
    public bool UpTo { get; set; }
    public bool Recurse { get; set; }
    public bool Raw { get; set; }
    public bool Json { get; set; }
    public bool WatchValue { get; set; }
    public int WatchCount { get; set; } = -1;
    public int MaxWidth { get; set; } = 80;
    public int DesiredWidth { get; set; } = 60;
    public bool ShowWholePath { get; set; }
}

/// <summary>C's number parsing where the tools use it.</summary>
internal static class CNumbers
{
    /// <summary><c>atoi</c> as glibc does it: <c>(int)strtol(s, NULL, 10)</c>, clamped then truncated.</summary>
    public static int Atoi(string text)
    {
        int i = 0;
        while (i < text.Length && text[i] is ' ' or '\t' or '\n' or '\v' or '\f' or '\r')
        {
            i++;
        }
        bool negative = false;
        if (i < text.Length && text[i] is '+' or '-')
        {
            negative = text[i] == '-';
            i++;
        }
        long value = 0;
        bool overflow = false;
        for (; i < text.Length && char.IsAsciiDigit(text[i]); i++)
        {
            int digit = text[i] - '0';
            if (overflow || value > (long.MaxValue - digit) / 10)
            {
                overflow = true;
                continue;
            }
            value = (value * 10) + digit;
        }
        long result = overflow ? (negative ? long.MinValue : long.MaxValue) : (negative ? -value : value);
        return unchecked((int)result);
    }
}
