namespace Xenstore.Fuzz.Targets;

/// <summary>Every fuzz target, registered once, by the name used on the command line and as the corpus folder.</summary>
public static class FuzzTargets
{
    public static IReadOnlyDictionary<string, FuzzTarget> All { get; } = new[]
    {
        FuzzTarget.Of<FrameParserTarget>("frame"),
        FuzzTarget.Of<PathTarget>("path"),
        FuzzTarget.Of<PermissionTarget>("perms"),
        FuzzTarget.Of<DispatcherTarget>("dispatcher"),
        FuzzTarget.Of<ServerTarget>("server"),
    }.ToDictionary(target => target.Name);
}
