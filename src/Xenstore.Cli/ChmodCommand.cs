using Xenstore.Client;
using Xenstore.Protocol;

namespace Xenstore.Cli;

/// <summary>
/// xenstore-chmod: <c>key perm...</c>, each perm a letter n/r/w/b and a domid read with <c>atoi</c> (so <c>b</c>
/// alone is <c>b0</c>). <c>-u</c> also sets every ancestor, <c>-r</c> every descendant (paths built in a 256-byte
/// buffer, as in C).
/// </summary>
internal sealed class ChmodCommand(XenstoreOperations ops, CliOutput output, ToolOptions options)
{
    private const int MaxPathLength = 256;

    public async Task RunAsync(string[] operands)
    {
        string path = operands[0];
        var permissions = new XsPermission[operands.Length - 1];
        for (int i = 1; i < operands.Length; i++)
        {
            string spec = operands[i];
            char letter = spec.Length > 0 ? spec[0] : '\0';
            XsAccess access = letter switch
            {
                'n' => XsAccess.None,
                'r' => XsAccess.Read,
                'w' => XsAccess.Write,
                'b' => XsAccess.Both,
                _ => throw output.Fail(1, $"Invalid permission specification: '{letter}'"),
            };
            permissions[i - 1] = new XsPermission(access, unchecked((uint)CNumbers.Atoi(spec.Length > 0 ? spec[1..] : "")));
        }
        await SetAsync(path, permissions, options.UpTo, options.Recurse).ConfigureAwait(false);
    }

    private async Task SetAsync(string path, XsPermission[] permissions, bool upTo, bool recurse)
    {
        if (path.Length == 0)
        {
            return;
        }
        try
        {
            await ops.SetPermissionsAsync(path, permissions).ConfigureAwait(false);
        }
        catch (XenstoreException e)
        {
            throw output.Fail(1, $"Error occurred setting permissions on '{path}': {ClientFailure.Text(e)}");
        }
        if (upTo)
        {
            int slash = path.LastIndexOf('/');
            if (slash < 0)
            {
                throw output.Fail(1, $"Unable to locate path separator '/' in '{path}'");
            }
            await SetAsync(path[..slash], permissions, upTo: true, recurse: false).ConfigureAwait(false);
        }
        if (recurse)
        {
            string[]? children = await StoreTool.ValueOrNull(ops.ListAsync(path)).ConfigureAwait(false);
            foreach (string child in children ?? [])
            {
                string childPath = $"{path}/{child}";
                if (childPath.Length > MaxPathLength - 1)
                {
                    childPath = childPath[..(MaxPathLength - 1)];
                }
                await SetAsync(childPath, permissions, upTo: false, recurse: true).ConfigureAwait(false);
            }
        }
    }
}
