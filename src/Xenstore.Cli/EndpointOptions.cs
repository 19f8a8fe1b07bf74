using System.Globalization;
using Xenstore.Client;

namespace Xenstore.Cli;

/// <summary>
/// Where the tools connect when not to the usual socket: <c>--sim-dir DIR --domain N</c> (act as guest N over its
/// ring in a simulated hypervisor directory) or <c>--device PATH</c> (a xenbus-style character device). Accepted
/// anywhere before a <c>--</c>, by every tool, in exact spelling only; without them nothing changes.
/// </summary>
internal sealed record EndpointOptions(string? SimulatedRingDirectory, uint? Domid, string? Device)
{
    private const string SimDir = "--sim-dir";
    private const string Domain = "--domain";
    private const string DeviceOption = "--device";

    public static EndpointOptions None { get; } = new(null, null, null);

    /// <summary>Takes the endpoint options out of <paramref name="arguments"/>; the rest keeps its order.</summary>
    public static EndpointOptions Extract(ref string[] arguments, CliOutput output)
    {
        string? directory = null;
        string? domain = null;
        string? device = null;
        var rest = new List<string>(arguments.Length);
        for (int i = 0; i < arguments.Length; i++)
        {
            string argument = arguments[i];
            if (argument == "--")
            {
                rest.AddRange(arguments[i..]);
                break;
            }
            string? name = Match(argument, out string? inlineValue);
            if (name is null)
            {
                rest.Add(argument);
                continue;
            }
            string value = inlineValue ?? (++i < arguments.Length
                ? arguments[i]
                : throw output.Fail(1, $"option '{name}' requires an argument"));
            switch (name)
            {
                case SimDir:
                    directory = value;
                    break;
                case Domain:
                    domain = value;
                    break;
                default:
                    device = value;
                    break;
            }
        }
        arguments = [.. rest];
        if (directory is null && domain is null && device is null)
        {
            return None;
        }
        if (device is not null && (directory is not null || domain is not null))
        {
            throw output.Fail(1, "--device cannot be combined with --sim-dir or --domain");
        }
        if (device is not null)
        {
            return new EndpointOptions(null, null, device);
        }
        if (directory is null || domain is null)
        {
            throw output.Fail(1, "--sim-dir and --domain go together");
        }
        if (!uint.TryParse(domain, NumberStyles.None, CultureInfo.InvariantCulture, out uint domid))
        {
            throw output.Fail(1, $"invalid domain id '{domain}'");
        }
        return new EndpointOptions(directory, domid, null);
    }

    private static string? Match(string argument, out string? inlineValue)
    {
        inlineValue = null;
        foreach (string name in (ReadOnlySpan<string>)[SimDir, Domain, DeviceOption])
        {
            if (argument == name)
            {
                return name;
            }
            if (argument.StartsWith(name + "=", StringComparison.Ordinal))
            {
                inlineValue = argument[(name.Length + 1)..];
                return name;
            }
        }
        return null;
    }

    /// <summary><paramref name="options"/> pointed at this endpoint (unchanged when none was given).</summary>
    public XenstoreClientOptions Apply(XenstoreClientOptions options) => this switch
    {
        { SimulatedRingDirectory: { } directory, Domid: { } domid } => options with
        {
            SimulatedRingDirectory = directory,
            Domid = domid,
        },
        { Device: { } device } => options with { Path = device, PathIsDevice = true },
        _ => options,
    };
}
