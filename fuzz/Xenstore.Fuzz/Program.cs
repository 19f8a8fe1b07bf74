using SharpFuzz;
using Xenstore.Fuzz;
using Xenstore.Fuzz.Targets;

// dotnet run --project fuzz/Xenstore.Fuzz -- <target>                  AFL (persistent, in process) on stdin
// dotnet run --project fuzz/Xenstore.Fuzz -- <target> --out-of-process AFL, each batch in a child process
// dotnet run --project fuzz/Xenstore.Fuzz -- <target> --replay DIR     every file in DIR through the target
// dotnet run --project fuzz/Xenstore.Fuzz -- --replay DIR              DIR/<target>/* for every target
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: Xenstore.Fuzz <target> [--replay DIR | --out-of-process] | --replay DIR");
    Console.Error.WriteLine("targets: " + string.Join(", ", FuzzTargets.All.Keys));
    return 2;
}
if (args[0] == "--replay" && args.Length == 2)
{
    int failures = 0;
    foreach (string target in FuzzTargets.All.Keys)
    {
        failures += Replay.Directory(target, Path.Combine(args[1], target), Console.Out);
    }
    return failures == 0 ? 0 : 1;
}
if (!FuzzTargets.All.TryGetValue(args[0], out FuzzTarget? selected))
{
    Console.Error.WriteLine("unknown target " + args[0] + "; targets: " + string.Join(", ", FuzzTargets.All.Keys));
    return 2;
}
if (args.Length == 3 && args[1] == "--replay")
{
    return Replay.Directory(args[0], args[2], Console.Out) == 0 ? 0 : 1;
}
Action<Stream> run = stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    selected.Run(buffer.ToArray());
};
if (args.Length == 2 && args[1] == "--out-of-process")
{
    Fuzzer.OutOfProcess.Run(run);
}
else
{
    Fuzzer.Run(run);
}
return 0;
