namespace Xenstore.CommandLine;

/// <summary>One long option: its name, whether it takes an argument, the short letter it stands for.</summary>
internal readonly record struct LongOption(string Name, bool HasArgument, char Value, bool ExactOnly = false);

/// <summary>
/// GNU <c>getopt_long</c> as the tools use it, messages included: arguments are permuted (options may follow
/// operands), <c>--</c> ends options, short options cluster, long options may be abbreviated when unambiguous.
/// An unknown option prints a message and yields <c>'?'</c>, which the tools then ignore. Options marked
/// <see cref="LongOption.ExactOnly"/> (our extras) never match an abbreviation, so the original options'
/// abbreviations and ambiguity messages stay exactly as they were. A letter followed by <c>::</c> in the optstring
/// takes an optional argument, attached only (<c>-Hfoo</c>), as C xenstored's <c>-H</c> does.
/// </summary>
internal sealed class Getopt
{
    private readonly string _name;
    private readonly string[] _args;
    private readonly string _optstring;
    private readonly LongOption[] _longOptions;
    private readonly Action<string> _error;
    private readonly List<string> _operands = [];
    private int _index;
    private int _clusterPosition;
    private bool _done;

    public Getopt(string name, string[] args, string optstring, LongOption[] longOptions, Action<string> error)
    {
        _name = name;
        _args = args;
        _optstring = optstring;
        _longOptions = longOptions;
        _error = error;
    }

    /// <summary>The non-option arguments, in order; complete once <see cref="Next"/> returned false.</summary>
    public IReadOnlyList<string> Operands => _operands;

    /// <summary>Finds the next option; <paramref name="option"/> is its letter or <c>'?'</c> after an error.</summary>
    public bool Next(out char option, out string? argument)
    {
        option = '\0';
        argument = null;
        while (_clusterPosition == 0)
        {
            if (_done || _index >= _args.Length)
            {
                _done = true;
                return false;
            }
            string arg = _args[_index];
            if (arg == "--")
            {
                _index++;
                _operands.AddRange(_args[_index..]);
                _index = _args.Length;
                _done = true;
                return false;
            }
            if (arg.Length < 2 || arg[0] != '-')
            {
                _operands.Add(arg);
                _index++;
                continue;
            }
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                _index++;
                return LongOptionAt(arg[2..], out option, out argument);
            }
            _clusterPosition = 1;
        }
        string cluster = _args[_index];
        char c = cluster[_clusterPosition++];
        bool endOfCluster = _clusterPosition >= cluster.Length;
        int spec = c == ':' ? -1 : _optstring.IndexOf(c, StringComparison.Ordinal);
        if (spec < 0)
        {
            _error($"{_name}: invalid option -- '{c}'");
            Advance(endOfCluster);
            option = '?';
            return true;
        }
        bool takesArgument = spec + 1 < _optstring.Length && _optstring[spec + 1] == ':';
        bool optionalArgument = takesArgument && spec + 2 < _optstring.Length && _optstring[spec + 2] == ':';
        if (optionalArgument)
        {
            argument = endOfCluster ? null : cluster[_clusterPosition..];
            Advance(true);
            option = c;
            return true;
        }
        if (!takesArgument)
        {
            Advance(endOfCluster);
            option = c;
            return true;
        }
        if (!endOfCluster)
        {
            argument = cluster[_clusterPosition..];
            Advance(true);
            option = c;
            return true;
        }
        Advance(true);
        if (_index < _args.Length)
        {
            argument = _args[_index++];
            option = c;
            return true;
        }
        _error($"{_name}: option requires an argument -- '{c}'");
        option = '?';
        return true;
    }

    private void Advance(bool endOfCluster)
    {
        if (endOfCluster)
        {
            _clusterPosition = 0;
            _index++;
        }
    }

    private bool LongOptionAt(string text, out char option, out string? argument)
    {
        argument = null;
        int equals = text.IndexOf('=', StringComparison.Ordinal);
        string name = equals >= 0 ? text[..equals] : text;
        string? inline = equals >= 0 ? text[(equals + 1)..] : null;
        LongOption? match = null;
        foreach (LongOption candidate in _longOptions)
        {
            if (candidate.Name == name)
            {
                match = candidate;
                break;
            }
        }
        if (match is null)
        {
            var prefixed = _longOptions.Where(o => !o.ExactOnly && o.Name.StartsWith(name, StringComparison.Ordinal)).ToList();
            if (prefixed.Count > 1 && prefixed.Any(o => o.HasArgument != prefixed[0].HasArgument || o.Value != prefixed[0].Value))
            {
                _error($"{_name}: option '--{name}' is ambiguous; possibilities:" +
                    string.Concat(prefixed.Select(o => $" '--{o.Name}'")));
                option = '?';
                return true;
            }
            if (prefixed.Count == 0 || name.Length == 0)
            {
                _error($"{_name}: unrecognized option '--{name}'");
                option = '?';
                return true;
            }
            match = prefixed[0];
        }
        LongOption found = match.Value;
        if (!found.HasArgument && inline is not null)
        {
            _error($"{_name}: option '--{found.Name}' doesn't allow an argument");
            option = '?';
            return true;
        }
        if (found.HasArgument)
        {
            if (inline is not null)
            {
                argument = inline;
            }
            else if (_index < _args.Length)
            {
                argument = _args[_index++];
            }
            else
            {
                _error($"{_name}: option '--{found.Name}' requires an argument");
                option = '?';
                return true;
            }
        }
        option = found.Value;
        return true;
    }
}
