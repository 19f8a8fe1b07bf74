using System.Text;
using Xenstore.Client;
using Xenstore.Protocol;

namespace Xenstore.Cli;

/// <summary>
/// xenstore-ls: the children of a path, recursively, one per line with one space of indent per level. Lines are cut
/// to the width (80, or the terminal's minus 2); <c>-f</c> prints full paths without a width; <c>-p</c> pads with
/// " ." to column 60 and adds the permissions. Outside any transaction, as in 4.17.
/// </summary>
internal sealed class LsCommand(XenstoreOperations client, CliOutput output, ToolOptions options)
{
    // " = \"...\"": what a truncated line needs after the name.
    private const int TagLength = 8;
    // STRING_MAX of the C tool: longer paths are not read.
    private const int StringMax = XsConstants.AbsolutePathMax + 1024;

    public async Task RunAsync(string path, JsonResult? json)
    {
        JsonResult.Node? root = json?.Root(path);
        await ListAsync(path, 0, root).ConfigureAwait(false);
    }

    private async Task ListAsync(string path, int depth, JsonResult.Node? node)
    {
        string[] children;
        try
        {
            children = await client.ListAsync(path).ConfigureAwait(false);
        }
        catch (XenstoreException e)
        {
            if (depth > 0 && e is XenstoreNotFoundException)
            {
                // A node that disappears while recursing is skipped silently.
                return;
            }
            throw output.Fail(1, $"xs_directory ({path}): {ClientFailure.Text(e)}");
        }
        foreach (string child in children)
        {
            string childPath = path + (path.EndsWith('/') ? "" : "/") + child;
            byte[]? value = childPath.Length < StringMax ? await TryAsync(client.ReadAsync(childPath)).ConfigureAwait(false) : null;
            XsPermission[]? permissions = null;
            if (options.Prefix)
            {
                permissions = await TryAsync(client.GetPermissionsAsync(childPath)).ConfigureAwait(false);
            }
            if (node is not null)
            {
                JsonResult.Node childNode = node.Child(child, value, options.Prefix ? permissions : null);
                await ListAsync(childPath, depth + 1, childNode).ConfigureAwait(false);
                continue;
            }
            PrintLine(child, childPath, depth, value);
            if (options.Prefix)
            {
                if (permissions is null)
                {
                    output.FlushDirect();
                    output.Warn($"\ncould not access permissions for {child}: {Errno.Text(Errno.EACCES)}");
                }
                else
                {
                    output.Print("  (" + string.Join(',', permissions.Select(FormatPermission)) + ")");
                }
            }
            output.Print("\n");
            await ListAsync(childPath, depth + 1, null).ConfigureAwait(false);
        }
    }

    private void PrintLine(string name, string fullPath, int depth, byte[]? value)
    {
        var line = new StringBuilder();
        int width = 0;
        if (options.ShowWholePath)
        {
            line.Append(fullPath);
        }
        else
        {
            line.Append(' ', depth);
            width = depth;
            string shown = Precision(name, options.MaxWidth - TagLength - width);
            line.Append(shown);
            width += shown.Length;
        }
        if (value is null)
        {
            line.Append(":\n");
        }
        else if (options.MaxWidth < width + value.Length + TagLength)
        {
            line.Append(" = \"").Append(Precision(Escaping.Sanitise(value), options.MaxWidth - TagLength - width)).Append("\\...\"");
        }
        else
        {
            string shown = $" = \"{Escaping.Sanitise(value)}\"";
            line.Append(shown);
            width += shown.Length;
            if (options.Prefix)
            {
                line.Append(' ');
                for (width++; width < Math.Min(options.DesiredWidth, options.MaxWidth); width++)
                {
                    line.Append((width & 1) != 0 ? '.' : ' ');
                }
            }
        }
        output.Print(line.ToString());
    }

    /// <summary><c>printf("%.*s")</c>: a negative precision means the whole string.</summary>
    private static string Precision(string text, int precision) =>
        precision < 0 || precision >= text.Length ? text : text[..precision];

    /// <summary>libxenstore prints the domid with <c>%i</c>.</summary>
    internal static string FormatPermission(XsPermission permission) =>
        permission.Letter + ((int)permission.Domid).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static async Task<T?> TryAsync<T>(Task<T> call) where T : class
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
