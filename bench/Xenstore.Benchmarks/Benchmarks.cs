using BenchmarkDotNet.Attributes;
using Xenstore.Benchmarks.Operations;
using Xenstore.Protocol;

namespace Xenstore.Benchmarks;

[MemoryDiagnoser]
public class FramingBenchmarks
{
    private readonly ProtocolOperations _ops = new();

    [Benchmark]
    public int ParseFrame() => _ops.ParseFrame();

    [Benchmark]
    public uint ReadHeader() => _ops.ReadHeader();

    [Benchmark]
    public int WriteFrame() => _ops.WriteFrame();
}

[MemoryDiagnoser]
public class PathBenchmarks
{
    private readonly ProtocolOperations _ops = new();

    [Benchmark]
    public XsPathKind Classify() => _ops.ClassifyPath();

    [Benchmark]
    public string CanonicalizeRelative() => _ops.CanonicalizeRelative();

    [Benchmark]
    public string CanonicalizeAbsolute() => _ops.CanonicalizeAbsolute();

    [Benchmark]
    public uint PermissionParse() => _ops.ParsePermission();

    [Benchmark]
    public int PermissionParseList() => _ops.ParsePermissionList();
}

[MemoryDiagnoser]
public class EngineBenchmarks
{
    private EngineOperations _ops = new();

    [Benchmark]
    public void Read() => _ops.Read();

    [Benchmark]
    public void WriteExisting() => _ops.WriteExisting();

    [Benchmark]
    public void Directory() => _ops.Directory();

    [Benchmark]
    public void TransactionWriteCommit() => _ops.TransactionWriteCommit();
}

/// <summary>
/// WRITE of a node that did not exist. Each iteration starts from a fresh engine, so the store does not grow
/// without bound over the millions of invocations BenchmarkDotNet makes.
/// </summary>
[MemoryDiagnoser]
public class EngineWriteNewBenchmarks
{
    private EngineOperations _ops = new();

    [IterationSetup]
    public void FreshEngine() => _ops = new EngineOperations();

    [Benchmark]
    [InvocationCount(100_000)]
    public void WriteNew() => _ops.WriteNew();
}
