namespace Xenstore.Fuzz.Targets;

/// <summary>A registered fuzz target: its name (on the command line and as its corpus folder) and its class.</summary>
public sealed class FuzzTarget
{
    private readonly Action<ReadOnlySpan<byte>> _fuzz;

    private FuzzTarget(string name, Type type, Action<ReadOnlySpan<byte>> fuzz)
    {
        Name = name;
        Type = type;
        _fuzz = fuzz;
    }

    public string Name { get; }

    /// <summary>The class implementing <see cref="IFuzzTarget"/>.</summary>
    public Type Type { get; }

    /// <summary>Runs one input through the target; throws when the code under test misbehaves.</summary>
    public void Run(ReadOnlySpan<byte> input) => _fuzz(input);

    public static FuzzTarget Of<T>(string name) where T : IFuzzTarget => new(name, typeof(T), input => T.Fuzz(input));

    public override string ToString() => Name;
}
