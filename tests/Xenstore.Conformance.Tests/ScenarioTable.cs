namespace Xenstore.Conformance.Tests;

/// <summary>All rows of the differential table, gathered from the topic files.</summary>
public static partial class ScenarioTable
{
    public static IReadOnlyList<Scenario> All { get; } =
    [
        .. Basics(), .. Paths(), .. Permissions(), .. Watches(), .. Transactions(), .. Domains(), .. Framing(),
        .. ControlRows(), .. NewerProtocol(),
    ];

    /// <summary>Marks a transcript kept in a file under <c>expected/</c>.</summary>
    public const string Golden = "\u0001golden";

    public static Scenario Get(string name) => All.Single(s => s.Name == name);
}
