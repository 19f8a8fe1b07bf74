namespace Xenstore.Daemon.CommandLine;

/// <summary>Where an option comes from, which decides how it is matched and where --help lists it.</summary>
internal enum OptionOrigin
{
    /// <summary>C xenstored 4.22's options, with their short letters and GNU abbreviations.</summary>
    C,
    /// <summary>Options C xenstored 4.17 had and 4.22 dropped: accepted so older start-up scripts keep working.</summary>
    Legacy,
    /// <summary>This daemon's own: long names only, never matched by an abbreviation.</summary>
    Own,
}

/// <summary>How an option takes its argument.</summary>
internal enum OptionArgument
{
    None,
    Required,
    /// <summary>Attached to the short letter only (<c>-Hx</c>), as getopt's <c>::</c>.</summary>
    Optional,
}

/// <summary>
/// One option of <c>xenstored</c>: the parser, <c>--help</c> and the manual page are all made from the table of
/// these (<see cref="DaemonOptionTable"/>), so they cannot disagree.
/// </summary>
/// <param name="Key">The short letter, or a private character for options with a long name only.</param>
/// <param name="Long">The long name, without the dashes.</param>
/// <param name="Argument">Whether it takes an argument.</param>
/// <param name="ArgumentName">How the help shows the argument (<c>FILE</c>, <c>N</c>); null for none.</param>
/// <param name="Origin">C's, 4.17's or this daemon's own.</param>
/// <param name="Help">One or more lines of help.</param>
internal sealed record DaemonOption(
    char Key,
    string Long,
    OptionArgument Argument,
    string? ArgumentName,
    OptionOrigin Origin,
    string Help)
{
    /// <summary>Whether <see cref="Key"/> is a letter the command line accepts as <c>-X</c>.</summary>
    public bool HasShortForm => char.IsAsciiLetter(Key);
}
