namespace Xenstore.Fuzz.Targets;

/// <summary>Every fuzz target by the name used on the command line and as the corpus folder.</summary>
public static class FuzzTargets
{
    public static IReadOnlyDictionary<string, Action<byte[]>> All { get; } = new Dictionary<string, Action<byte[]>>
    {
        ["frame"] = input => FrameParserTarget.Fuzz(input),
        ["path"] = input => PathTarget.Fuzz(input),
        ["perms"] = input => PermissionTarget.Fuzz(input),
        ["dispatcher"] = input => DispatcherTarget.Fuzz(input),
    };

    /// <summary>The class behind each target name.</summary>
    public static IReadOnlyDictionary<string, Type> Types { get; } = new Dictionary<string, Type>
    {
        ["frame"] = typeof(FrameParserTarget),
        ["path"] = typeof(PathTarget),
        ["perms"] = typeof(PermissionTarget),
        ["dispatcher"] = typeof(DispatcherTarget),
    };

    /// <summary>The span form of a target, for engines that hand out spans.</summary>
    public static void Run(string name, ReadOnlySpan<byte> input)
    {
        switch (name)
        {
            case "frame": FrameParserTarget.Fuzz(input); break;
            case "path": PathTarget.Fuzz(input); break;
            case "perms": PermissionTarget.Fuzz(input); break;
            case "dispatcher": DispatcherTarget.Fuzz(input); break;
            default: throw new ArgumentException("unknown fuzz target " + name, nameof(name));
        }
    }
}
