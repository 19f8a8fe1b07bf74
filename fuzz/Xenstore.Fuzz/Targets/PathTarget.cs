using System.Buffers.Binary;
using System.Text;
using Xenstore.Protocol;

namespace Xenstore.Fuzz.Targets;

/// <summary>
/// Path classification, canonicalisation and the relative length. The first two bytes are a domid; the rest is the
/// path. A valid path's canonical form must itself be valid and canonical (absolute or special), stable under a
/// second canonicalisation, never shorter in its relative part than it is, and consistent with the tree helpers.
/// </summary>
public sealed class PathTarget : IFuzzTarget
{
    public static void Fuzz(ReadOnlySpan<byte> input)
    {
        if (input.Length < 2)
        {
            return;
        }
        uint domid = BinaryPrimitives.ReadUInt16LittleEndian(input);
        ReadOnlySpan<byte> path = input[2..];
        XsPathKind kind = XsPath.Classify(path);
        if (kind == XsPathKind.Invalid)
        {
            return;
        }
        foreach (byte b in path)
        {
            FuzzInvariantException.Check(XsPath.IsValidChar(b), "a path with a forbidden byte was accepted");
        }
        string canonical = XsPath.Canonicalize(path, kind, domid);
        byte[] canonicalBytes = Encoding.ASCII.GetBytes(canonical);
        XsPathKind canonicalKind = XsPath.Classify(canonicalBytes);
        switch (kind)
        {
            case XsPathKind.Special:
                FuzzInvariantException.Check(canonical == Encoding.ASCII.GetString(path), "a special path was changed");
                FuzzInvariantException.Check(canonicalKind == XsPathKind.Special, "special path reclassified");
                return;
            case XsPathKind.Relative:
                FuzzInvariantException.Check(canonical.StartsWith(XsPath.DomainPath(domid) + "/", StringComparison.Ordinal), "relative path not placed under the home");
                FuzzInvariantException.Check(XsPath.RelativeLength(canonical) == path.Length, "relative length differs from the relative path's length");
                break;
            default:
                FuzzInvariantException.Check(canonical == Encoding.ASCII.GetString(path), "an absolute path was changed");
                break;
        }
        FuzzInvariantException.Check(canonicalKind == XsPathKind.Absolute, $"canonical form {canonical} is {canonicalKind}");
        FuzzInvariantException.Check(XsPath.Canonicalize(canonicalBytes, canonicalKind, domid + 1) == canonical, "canonicalisation is not idempotent");

        int relative = XsPath.RelativeLength(canonical);
        FuzzInvariantException.Check(relative >= 0 && relative <= canonical.Length, "relative length out of range");

        string parent = XsPath.Parent(canonical);
        FuzzInvariantException.Check(XsPath.Classify(Encoding.ASCII.GetBytes(parent)) == XsPathKind.Absolute, $"parent {parent} is not a valid absolute path");
        FuzzInvariantException.Check(XsPath.IsSelfOrAncestor(parent, canonical), "parent is not an ancestor");
        FuzzInvariantException.Check(XsPath.IsSelfOrAncestor(canonical, canonical), "a path is not its own ancestor");
        FuzzInvariantException.Check(XsPath.IsSelfOrAncestor("/", canonical), "the root is not an ancestor");
        if (canonical != "/")
        {
            FuzzInvariantException.Check(XsPath.Depth(parent) == XsPath.Depth(canonical) - 1, "parent depth is not one less");
            string last = XsPath.LastComponent(canonical);
            FuzzInvariantException.Check(last.Length > 0 && !last.Contains('/', StringComparison.Ordinal), "bad last component");
            FuzzInvariantException.Check((parent == "/" ? "/" + last : parent + "/" + last) == canonical, "parent + last component is not the path");
            FuzzInvariantException.Check(!XsPath.IsSelfOrAncestor(canonical, parent), "a path is an ancestor of its parent");
        }

        string watcherForm = XsPath.ToWatcherForm(canonical, relativeWatch: true, domid);
        if (kind == XsPathKind.Relative)
        {
            FuzzInvariantException.Check(watcherForm == Encoding.ASCII.GetString(path), "watcher form of a relative path is not the path");
        }
        FuzzInvariantException.Check(XsPath.ToWatcherForm(canonical, relativeWatch: false, domid) == canonical, "absolute watch path changed");
    }
}
