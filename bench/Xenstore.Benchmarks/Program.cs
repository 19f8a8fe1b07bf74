using System.Globalization;
using System.Text;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using Xenstore.Benchmarks.Operations;

// "--allocations": print the bytes each gated operation allocates now (no BenchmarkDotNet, no clock), in the
// format of allocation-budget.json. Anything else goes to BenchmarkDotNet, e.g. --filter '*Engine*' --job short.
if (args.Length > 0 && args[0] == "--allocations")
{
    var json = new StringBuilder("{\n");
    IReadOnlyList<(string Name, Func<Action> Create)> all = MeasuredOperations.All;
    for (int i = 0; i < all.Count; i++)
    {
        double bytes = MeasuredOperations.AllocatedBytesPerOperation(all[i].Create());
        json.Append(CultureInfo.InvariantCulture, $"  \"{all[i].Name}\": {bytes:0.#}{(i + 1 < all.Count ? "," : "")}\n");
    }
    Console.Write(json.Append("}\n"));
    return 0;
}
// Building the generated benchmark project can take minutes on a busy two-core machine.
BenchmarkSwitcher.FromAssembly(typeof(MeasuredOperations).Assembly)
    .Run(args, ManualConfig.Create(DefaultConfig.Instance).WithBuildTimeout(TimeSpan.FromMinutes(10)));
return 0;
