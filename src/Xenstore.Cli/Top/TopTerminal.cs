using System.Text;
using System.Text.Json;
using Xenstore.Client;

namespace Xenstore.Cli.Top;

/// <summary>
/// The interactive view: the alternate screen redrawn each second and on every key, like xentop. The domain table
/// with a selected row, or one domain's connections and watches.
/// </summary>
internal sealed class TopTerminal(TopTool tool, XenstoreClient client, CliOutput output, TopSort sort, double delay)
{
    private const string EnterScreen = "\x1b[?1049h\x1b[?25l";
    private const string LeaveScreen = "\x1b[?25h\x1b[?1049l";

    private IReadOnlyList<TopDomain> _domains = [];
    private int _selected;
    private uint? _drilled;
    private List<string> _detail = [];

    public async Task<int> RunAsync()
    {
        output.Print(EnterScreen);
        output.FlushDirect();
        ConsoleCancelEventHandler restore = (_, _) =>
        {
            output.Print(LeaveScreen);
            output.FlushDirect();
        };
        Console.CancelKeyPress += restore;
        try
        {
            DateTime next = DateTime.MinValue;
            while (true)
            {
                if (DateTime.UtcNow >= next)
                {
                    await RefreshAsync().ConfigureAwait(false);
                    Draw();
                    next = DateTime.UtcNow + TimeSpan.FromSeconds(delay);
                }
                if (!Console.KeyAvailable)
                {
                    await Task.Delay(50).ConfigureAwait(false);
                    continue;
                }
                ConsoleKeyInfo key = Console.ReadKey(intercept: true);
                if (key.KeyChar is 'q' or 'Q')
                {
                    return 0;
                }
                if (await HandleAsync(key).ConfigureAwait(false))
                {
                    Draw();
                }
            }
        }
        finally
        {
            Console.CancelKeyPress -= restore;
            output.Print(LeaveScreen);
            output.FlushDirect();
        }
    }

    private async Task RefreshAsync()
    {
        _domains = await tool.DomainsAsync(client, sort).ConfigureAwait(false);
        _selected = Math.Clamp(_selected, 0, Math.Max(0, _domains.Count - 1));
        if (_drilled is uint domid)
        {
            using JsonDocument json = JsonDocument.Parse(await TopTool.FetchAsync(client, domid).ConfigureAwait(false));
            _detail = TopScreen.Detail(json.RootElement, domid);
        }
    }

    /// <summary>True when the screen must be drawn again.</summary>
    private async Task<bool> HandleAsync(ConsoleKeyInfo key)
    {
        switch (key.Key)
        {
            case ConsoleKey.UpArrow:
                _selected = Math.Max(0, _selected - 1);
                return true;
            case ConsoleKey.DownArrow:
                _selected = Math.Min(Math.Max(0, _domains.Count - 1), _selected + 1);
                return true;
            case ConsoleKey.Enter when _drilled is null && _domains.Count > 0:
                _drilled = _domains[_selected].Domid;
                await RefreshAsync().ConfigureAwait(false);
                return true;
            case ConsoleKey.Escape or ConsoleKey.Backspace or ConsoleKey.LeftArrow when _drilled is not null:
                _drilled = null;
                return true;
        }
        if (_drilled is null && TopSorts.FromKey(key.KeyChar) is TopSort chosen)
        {
            sort = chosen;
            _domains = TopSorts.Apply(_domains, sort);
            return true;
        }
        return false;
    }

    private void Draw()
    {
        int width = Math.Max(40, SafeSize(() => Console.WindowWidth, 120));
        int height = Math.Max(5, SafeSize(() => Console.WindowHeight, 40));
        var lines = new List<string> { TopScreen.Summary(_domains, DateTime.Now, sort) };
        if (_drilled is null)
        {
            lines.Add("keys: r n b w t f s d sort, up/down select, enter details, q quit");
            lines.Add(TopScreen.ColumnHeader);
            for (int i = 0; i < _domains.Count; i++)
            {
                string row = TopScreen.Row(_domains[i]);
                lines.Add(i == _selected ? "\x1b[7m" + Fit(row, width) + "\x1b[0m" : row);
            }
        }
        else
        {
            lines.Add("esc back, q quit");
            lines.AddRange(_detail);
        }
        var screen = new StringBuilder("\x1b[H");
        foreach (string line in lines.Take(height))
        {
            screen.Append(line.StartsWith('\x1b') ? line : Fit(line, width)).Append("\x1b[K\r\n");
        }
        screen.Append("\x1b[J");
        output.Print(screen.ToString());
        output.FlushDirect();
    }

    private static string Fit(string line, int width) => line.Length <= width ? line : line[..width];

    private static int SafeSize(Func<int> size, int fallback)
    {
        try
        {
            int value = size();
            return value > 0 ? value : fallback;
        }
        catch (IOException)
        {
            return fallback;
        }
    }
}
