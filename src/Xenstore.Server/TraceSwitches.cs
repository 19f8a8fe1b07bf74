using System.Text;

namespace Xenstore.Server;

/// <summary>
/// What the access trace logs, switched at run time as in C xenstored 4.22: <c>log on</c> / <c>log off</c> for C's
/// switches, <c>log +io</c> / <c>log -io</c> for one switch, <c>log</c> alone lists them. <c>replay</c> is ours and
/// only switched by name: <c>on</c> means what it means in C, so a trace file (<c>-T</c>) stays byte for byte C's
/// unless <c>+replay</c> is asked for, and a recording for replay goes on whatever the traced clients switch.
/// </summary>
internal sealed class TraceSwitches
{
    private static readonly string[] s_names = ["io", "conn", "replay"];
    private const int CSwitches = 3;
    private volatile int _enabled;

    /// <summary>Every request and its reply.</summary>
    public bool Io => (_enabled & 1) != 0;

    /// <summary>Connections opening and closing.</summary>
    public bool Connections => (_enabled & 2) != 0;

    /// <summary>The lossless records <c>xenstore replay</c> reads (trace file only).</summary>
    public bool Replay => (_enabled & 4) != 0;

    public bool Apply(string argument)
    {
        switch (argument)
        {
            case "on":
                _enabled |= CSwitches;
                return true;
            case "off":
                _enabled &= ~CSwitches;
                return true;
        }
        if (argument.Length < 2 || argument[0] is not ('+' or '-'))
        {
            return false;
        }
        // C's name for connections coming and going is obj; its wrl, acc and tdb have nothing to trace here.
        string name = argument[1..] switch
        {
            "obj" => "conn",
            var other => other,
        };
        if (name is "wrl" or "acc" or "tdb")
        {
            return true;
        }
        int index = Array.IndexOf(s_names, name);
        if (index < 0)
        {
            return false;
        }
        _enabled = argument[0] == '+' ? _enabled | (1 << index) : _enabled & ~(1 << index);
        return true;
    }

    public string Describe()
    {
        var text = new StringBuilder("Log switch settings:\n");
        for (int i = 0; i < s_names.Length; i++)
        {
            text.Append(s_names[i].PadRight(8)).Append(": ").Append((_enabled & (1 << i)) != 0 ? "on" : "off").Append('\n');
        }
        return text.ToString();
    }
}
