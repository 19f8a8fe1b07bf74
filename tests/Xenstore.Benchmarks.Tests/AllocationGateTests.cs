using System.Text.Json;
using Xenstore.Benchmarks.Operations;
using Xenstore.Protocol;

namespace Xenstore.Benchmarks.Tests;

/// <summary>
/// The allocation gate: every benchmarked operation may allocate at most the bytes per call recorded in
/// bench/Xenstore.Benchmarks/allocation-budget.json (what it allocated when the budget was set, plus a little
/// slack). Measured with allocation counters over a fixed number of calls; no clock is involved.
/// To see the current figures: dotnet run -c Release --project bench/Xenstore.Benchmarks -- --allocations
/// </summary>
public sealed class AllocationGateTests
{
    private static readonly Dictionary<string, double> s_budget = LoadBudget();

    public static TheoryData<string> Operations()
    {
        var data = new TheoryData<string>();
        foreach ((string name, _) in MeasuredOperations.All)
        {
            data.Add(name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Operations))]
    public void Operation_AllocatesNoMoreThanItsBudget(string name)
    {
        Func<Action> create = MeasuredOperations.All.Single(o => o.Name == name).Create;
        Assert.True(s_budget.TryGetValue(name, out double budget), $"{name} has no entry in allocation-budget.json");

        double measured = MeasuredOperations.AllocatedBytesPerOperation(create());

        TestContext.Current.TestOutputHelper?.WriteLine($"{name}: {measured:0.#} bytes per call (budget {budget})");
        Assert.True(measured <= budget,
            $"{name} allocates {measured:0.#} bytes per call, over its budget of {budget}. If the increase is intended, "
            + "update bench/Xenstore.Benchmarks/allocation-budget.json with the new figure and say why in the commit.");
    }

    [Fact]
    public void BudgetEntries_EachNameAMeasuredOperation()
    {
        var names = MeasuredOperations.All.Select(o => o.Name).ToHashSet();
        Assert.DoesNotContain(s_budget.Keys, k => !names.Contains(k));
    }

    /// <summary>An operation that fails allocates differently from one that works: the gate must measure the real path.</summary>
    [Fact]
    public void EngineOperations_Succeed()
    {
        var ops = new EngineOperations();
        foreach ((string name, Action op, XsMessageType reply) in new (string, Action, XsMessageType)[]
        {
            ("Read", ops.Read, XsMessageType.Read),
            ("WriteExisting", ops.WriteExisting, XsMessageType.Write),
            ("WriteNew", ops.WriteNew, XsMessageType.Write),
            ("Directory", ops.Directory, XsMessageType.Directory),
            ("TransactionWriteCommit", ops.TransactionWriteCommit, XsMessageType.TransactionEnd),
        })
        {
            op();
            Assert.True(ops.LastReplyType == reply, $"{name} got {ops.LastReplyType}");
        }
    }

    private static Dictionary<string, double> LoadBudget()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "allocation-budget.json");
        return JsonSerializer.Deserialize<Dictionary<string, double>>(File.ReadAllText(path))
            ?? throw new InvalidDataException("allocation-budget.json is empty");
    }
}
