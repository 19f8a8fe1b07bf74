#!/usr/bin/env python3
"""The cost of one short CLI invocation, as Xen's hotplug scripts pay it (a fresh process per key):
`xenstore read` of our native CLI (and of any other builds named on the command line), Debian's xenstore-read, a
native .NET "hello world" (the runtime's own start: the floor for any .NET program) and /bin/true, all against one
daemon, interleaved round by round. Prints the load average, medians of wall and CPU time, and for one invocation
each its peak RSS (/usr/bin/time) and its threads (strace).

Usage: bench/cli-oneshot.py NATIVE_CLI [NAME=CLI ...]      (ROUNDS=40 by default; see docs/PERFORMANCE.md)
The daemon is C xenstored 4.17 from ../shared/refxs when set up (REFXS_HOME, default /tmp/refxs), else ours
(XENSTORED_UNDER_TEST or the JIT build)."""
import os, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROUNDS = int(os.environ.get("ROUNDS", "40"))
REFXS = os.environ.get("REFXS_HOME", "/tmp/refxs")
C_DAEMON = f"{REFXS}/root/usr/lib/xen-4.17/bin/xenstored"

HELLO_PROJECT = """<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <PublishAot>true</PublishAot>
    <InvariantGlobalization>true</InvariantGlobalization>
    <UseSystemResourceKeys>true</UseSystemResourceKeys>
  </PropertyGroup>
</Project>
"""


def build_hello(work):
    """A native AOT "hello world" with the CLI's globalization settings (Console.Out.Write)."""
    project = os.path.join(work, "hello")
    os.makedirs(project)
    with open(os.path.join(project, "hello.csproj"), "w") as f:
        f.write(HELLO_PROJECT)
    with open(os.path.join(project, "Program.cs"), "w") as f:
        f.write('System.Console.Out.Write("hello\\n");\n')
    shutil.copy(os.path.join(ROOT, "global.json"), project)
    subprocess.run(["dotnet", "publish", project, "-c", "Release", "-r", "linux-x64", "-o", os.path.join(work, "out"),
                    "-v", "q", "-nologo"], check=True, stdout=subprocess.DEVNULL)
    return os.path.join(work, "out", "hello")


def start_daemon(work):
    sock = os.path.join(work, "socket")
    env = dict(os.environ)
    if os.path.exists(C_DAEMON):
        env.update(LD_PRELOAD=f"{REFXS}/fakexen.so", FAKEXEN_PORT_FILE=f"{REFXS}/xsd_port",
                   FAKEXEN_KVA_FILE=f"{REFXS}/xsd_kva", XENSTORED_RUNDIR=work)
        argv, name = [C_DAEMON, "-N"], "C xenstored 4.17"
    else:
        ours = os.environ.get("XENSTORED_UNDER_TEST")
        argv = ([ours] if ours else ["dotnet", f"{ROOT}/src/Xenstore.Daemon/bin/Release/net10.0/xenstored.dll"])
        argv += ["-N", "--socket", sock, "--state-dir", os.path.join(work, "state")]
        name = "ours"
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not os.path.exists(sock):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("the daemon did not start")
        time.sleep(0.01)
    return proc, sock, name


def run(argv, env, stdout):
    """Wall seconds and CPU seconds (user + system) of one run."""
    began = time.monotonic()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=[(os.POSIX_SPAWN_DUP2, stdout, 1)])
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - began
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{argv} failed: {status}")
    return wall, usage.ru_utime + usage.ru_stime


def peak_rss_mib(argv, env):
    """Peak RSS of one run, from /usr/bin/time (posix_spawn's child would report this script's own peak)."""
    if not os.path.exists("/usr/bin/time"):
        return None
    done = subprocess.run(["/usr/bin/time", "-f", "%M"] + argv, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=True)
    return int(done.stderr.strip().splitlines()[-1]) / 1024


def threads(argv, env):
    """Threads of one run, the main one included (clone calls seen by strace), or None without strace."""
    if shutil.which("strace") is None:
        return None
    with tempfile.NamedTemporaryFile("r") as trace:
        subprocess.run(["strace", "-f", "-qq", "-e", "trace=clone,clone3", "-o", trace.name] + argv, env=env,
                       stdout=subprocess.DEVNULL, check=True)
        return 1 + sum(1 for line in trace if "clone" in line and "resumed" not in line)


def main():
    clis = {"ours (native)": sys.argv[1]}
    for extra in sys.argv[2:]:
        name, _, path = extra.partition("=")
        clis[name] = path
    with tempfile.TemporaryDirectory() as work:
        hello = build_hello(os.path.join(work, "hello"))
        proc, sock, daemon = start_daemon(work)
        try:
            env = dict(os.environ, XENSTORED_PATH=sock)
            subprocess.run(["xenstore-write", "/bench", "value"], env=env, check=True)
            commands = {name: [os.path.abspath(path), "read", "/bench"] for name, path in clis.items()}
            commands["Debian xenstore-read"] = [shutil.which("xenstore-read"), "/bench"]
            commands["native hello (floor)"] = [hello]
            commands["/bin/true"] = ["/bin/true"]
            devnull = os.open(os.devnull, os.O_WRONLY)
            load = os.getloadavg()
            samples = {name: [] for name in commands}
            for _ in range(ROUNDS):
                for name, argv in commands.items():
                    samples[name].append(run(argv, env, devnull))
            load_after = os.getloadavg()
            print(f"daemon: {daemon}; {ROUNDS} rounds, interleaved; load average {load[0]:.2f} before, "
                  f"{load_after[0]:.2f} after\n")
            print("| program | wall (median) | CPU (median) | peak RSS | threads |")
            print("|---|---|---|---|---|")
            for name, argv in commands.items():
                wall = statistics.median(s[0] for s in samples[name]) * 1000
                cpu = statistics.median(s[1] for s in samples[name]) * 1000
                rss = peak_rss_mib(argv, env)
                count = threads(argv, env)
                print(f"| {name} | {wall:.1f} ms | {cpu:.1f} ms | {f'{rss:.1f} MiB' if rss else '?'} | "
                      f"{count if count else '?'} |")
        finally:
            proc.terminate()
            proc.wait(10)


main()
