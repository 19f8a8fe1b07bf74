using System.Globalization;

namespace Xenstore.Conformance.Tests;

/// <summary>The seeds an environment variable asks the random comparisons to run instead of their fixed ones.</summary>
internal static class SeedList
{
    /// <summary>"1-300", "4,9,17" or a mix; null when not given.</summary>
    public static List<int>? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        var seeds = new List<int>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] range = part.Split('-');
            int first = int.Parse(range[0], CultureInfo.InvariantCulture);
            int last = range.Length > 1 ? int.Parse(range[1], CultureInfo.InvariantCulture) : first;
            seeds.AddRange(Enumerable.Range(first, last - first + 1));
        }
        return seeds;
    }
}
