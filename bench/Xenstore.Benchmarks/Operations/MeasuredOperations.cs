namespace Xenstore.Benchmarks.Operations;

/// <summary>
/// Every operation under the allocation gate, by the name used in <c>allocation-budget.json</c> and in the
/// benchmark classes. Each entry builds a fresh fixture and returns the operation to repeat.
/// </summary>
public static class MeasuredOperations
{
    public static IReadOnlyList<(string Name, Func<Action> Create)> All { get; } =
    [
        ("Framing.ParseFrame", () => { var p = new ProtocolOperations(); return () => p.ParseFrame(); }),
        ("Framing.ReadHeader", () => { var p = new ProtocolOperations(); return () => p.ReadHeader(); }),
        ("Framing.WriteFrame", () => { var p = new ProtocolOperations(); return () => p.WriteFrame(); }),
        ("Path.Classify", () => { var p = new ProtocolOperations(); return () => p.ClassifyPath(); }),
        ("Path.CanonicalizeRelative", () => { var p = new ProtocolOperations(); return () => p.CanonicalizeRelative(); }),
        ("Path.CanonicalizeAbsolute", () => { var p = new ProtocolOperations(); return () => p.CanonicalizeAbsolute(); }),
        ("Permission.Parse", () => { var p = new ProtocolOperations(); return () => p.ParsePermission(); }),
        ("Permission.ParseList", () => { var p = new ProtocolOperations(); return () => p.ParsePermissionList(); }),
        ("Engine.Read", () => { var e = new EngineOperations(); return e.Read; }),
        ("Engine.WriteExisting", () => { var e = new EngineOperations(); return e.WriteExisting; }),
        ("Engine.WriteNew", () => { var e = new EngineOperations(); return e.WriteNew; }),
        ("Engine.Directory", () => { var e = new EngineOperations(); return e.Directory; }),
        ("Engine.TransactionWriteCommit", () => { var e = new EngineOperations(); return e.TransactionWriteCommit; }),
    ];

    /// <summary>Iterations run before measuring (JIT tiers, first-time growth of buffers).</summary>
    public const int WarmupIterations = 5_000;

    /// <summary>Iterations measured; fixed, so that operations whose cost grows with the store stay deterministic.</summary>
    public const int MeasuredIterations = 20_000;

    /// <summary>
    /// Bytes allocated on this thread per call, averaged over <see cref="MeasuredIterations"/> calls after
    /// <see cref="WarmupIterations"/> unmeasured ones. No clock is involved.
    /// </summary>
    public static double AllocatedBytesPerOperation(Action operation)
    {
        for (int i = 0; i < WarmupIterations; i++)
        {
            operation();
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < MeasuredIterations; i++)
        {
            operation();
        }
        long after = GC.GetAllocatedBytesForCurrentThread();
        return (after - before) / (double)MeasuredIterations;
    }
}
