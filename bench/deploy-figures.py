#!/usr/bin/env python3
"""Start-up and footprint of the deployed programs, side by side with the references, in one run:
  - `xenstore read` wall time: our native CLI, our JIT CLI, Debian's xenstore-read (all against one daemon);
  - daemon start to serving (spawn to the first answered request), idle RSS and threads: our native daemon, our JIT
    daemon, C xenstored 4.17 (../shared/refxs);
  - RSS per node with 100k nodes, 2 s after the last write (the fixed part counts: RSS at 100k / 100k);
  - the longest pause a writing client sees during a live update (ours: native and JIT).
Usage: bench/deploy-figures.py NATIVE_DAEMON NATIVE_CLI   (see docs/PERFORMANCE.md for the publish commands)
Prints a markdown table. Medians over ROUNDS (default 15) runs.
LIVE_UPDATE_ONLY=1 measures the live-update pause alone (NATIVE_CLI is then not used) and prints every round;
JIT_DAEMON_DLL names another JIT build's xenstored.dll (to compare two trees in one run)."""
import os, socket, statistics, struct, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NATIVE_DAEMON, NATIVE_CLI = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None
JIT_DAEMON = ["dotnet", os.environ.get("JIT_DAEMON_DLL", f"{ROOT}/src/Xenstore.Daemon/bin/Release/net10.0/xenstored.dll")]
JIT_CLI = ["dotnet", f"{ROOT}/src/Xenstore.Cli/bin/Release/net10.0/xenstore.dll"]
REFXS = os.environ.get("REFXS_HOME", "/tmp/refxs")
C_DAEMON = f"{REFXS}/root/usr/lib/xen-4.17/bin/xenstored"
ROUNDS = int(os.environ.get("ROUNDS", "15"))
LIVE_UPDATE_ONLY = os.environ.get("LIVE_UPDATE_ONLY") == "1"
READ, WRITE, CONTROL = 2, 11, 0


def request(sock, kind, *args, req=0):
    payload = b"\0".join(a.encode() for a in args) + (b"\0" if kind != WRITE else b"")
    sock.sendall(struct.pack("<IIII", kind, req, 0, len(payload)) + payload)


def reply(sock):
    head = b""
    while len(head) < 16:
        chunk = sock.recv(16 - len(head))
        if not chunk:
            raise IOError("closed")
        head += chunk
    kind, req, tx, length = struct.unpack("<IIII", head)
    body = b""
    while len(body) < length:
        body += sock.recv(length - len(body))
    return kind, body


def connect(path, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.0005)


def start(kind, workdir):
    """Starts a daemon in the foreground; returns (process, socket path, seconds to the first answered request)."""
    sock = os.path.join(workdir, "socket")
    env = dict(os.environ)
    if kind == "c":
        env.update(LD_PRELOAD=f"{REFXS}/fakexen.so", FAKEXEN_PORT_FILE=f"{REFXS}/xsd_port",
                   FAKEXEN_KVA_FILE=f"{REFXS}/xsd_kva", XENSTORED_RUNDIR=workdir)
        argv = [C_DAEMON, "-N"]
    else:
        argv = (JIT_DAEMON if kind == "jit" else [NATIVE_DAEMON]) + ["-N", "--socket", sock]
    began = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sock)
            request(s, READ, "/")
            reply(s)
            s.close()
            break
        except OSError:
            s.close()
            time.sleep(0.0005)
    return proc, sock, time.monotonic() - began


def status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]), int(fields["Threads"])


def stop(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def stop_successor(sock):
    """The process a live update left serving the socket (started by the daemon this script started)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if sock.encode() in f.read():
                    os.kill(int(pid), 15)
        except OSError:
            pass


def median_ms(values):
    return statistics.median(values) * 1000


def live_update_pause(kind):
    """The longest gap a client writing without pause sees across one live update (seconds)."""
    with tempfile.TemporaryDirectory() as work:
        proc, sock, _ = start(kind, work)
        writer, admin = connect(sock), connect(sock)
        request(admin, CONTROL, "live-update", "-s", "-t", "30")
        worst, count, began = 0.0, 0, time.monotonic()
        done = False
        while not done or time.monotonic() - began < 0.5:
            t = time.monotonic()
            request(writer, WRITE, "/lu/counter", str(count))
            reply(writer)
            worst = max(worst, time.monotonic() - t)
            count += 1
            if not done:
                # The answer comes whole or not at all: poll without blocking, then read it.
                admin.setblocking(False)
                try:
                    pending = admin.recv(1, socket.MSG_PEEK)
                except BlockingIOError:
                    pending = b""
                admin.setblocking(True)
                if pending:
                    kind_, body = reply(admin)
                    assert body == b"OK\0", body
                    done, began = True, time.monotonic()
        writer.close()
        admin.close()
        proc.wait(10)
        stop_successor(sock)
        return worst


def live_update_pauses():
    """ROUNDS pauses of each of our daemons, interleaved."""
    pauses = {"native": [], "jit": []}
    for _ in range(ROUNDS):
        for kind in pauses:
            pauses[kind].append(live_update_pause(kind))
    return pauses


def live_update_only():
    print(f"load average before: {' '.join(open('/proc/loadavg').read().split()[:3])}")
    for kind, values in live_update_pauses().items():
        print(f"{kind}: median {median_ms(values):.0f} ms; rounds: " + " ".join(f"{v * 1000:.0f}" for v in values))
    print(f"load average after: {' '.join(open('/proc/loadavg').read().split()[:3])}")


def main():
    if LIVE_UPDATE_ONLY:
        live_update_only()
        return
    kinds = ["native", "jit"] + (["c"] if os.path.exists(C_DAEMON) else [])
    rows = {}
    # Start to serving and idle footprint: fresh daemons, interleaved.
    starts = {k: [] for k in kinds}
    idle = {}
    for _ in range(ROUNDS):
        for kind in kinds:
            with tempfile.TemporaryDirectory() as work:
                proc, sock, took = start(kind, work)
                starts[kind].append(took)
                s = connect(sock)
                request(s, WRITE, "/local/domain/0/name", "Domain-0")
                reply(s)
                s.close()
                time.sleep(0.5)
                idle[kind] = status(proc.pid)
                stop(proc)
    for kind in kinds:
        rows.setdefault(kind, {})["start"] = f"{median_ms(starts[kind]):.0f} ms"
        rows[kind]["idle"] = f"{idle[kind][0] / 1024:.1f} MiB, {idle[kind][1]} threads"

    # CLI wall time, against one C daemon when there is one (else our native one).
    with tempfile.TemporaryDirectory() as work:
        proc, sock, _ = start("c" if "c" in kinds else "native", work)
        env = dict(os.environ, XENSTORED_PATH=sock)
        subprocess.run(["xenstore-write", "/bench", "value"], env=env, check=True)
        clients = {"native": [NATIVE_CLI, "read"], "jit": JIT_CLI + ["read"], "c": ["xenstore-read"]}
        times = {k: [] for k in clients}
        for _ in range(ROUNDS * 2):
            for name, argv in clients.items():
                began = time.monotonic()
                out = subprocess.run(argv + ["/bench"], env=env, capture_output=True, check=True).stdout
                times[name].append(time.monotonic() - began)
                assert out == b"value\n", out
        stop(proc)
    for name in clients:
        rows.setdefault(name, {})["read"] = f"{median_ms(times[name]):.1f} ms"

    # RSS per node with 100k nodes.
    for kind in kinds:
        with tempfile.TemporaryDirectory() as work:
            proc, sock, _ = start(kind, work)
            s = connect(sock)
            n = 100_000
            for base in range(0, n, 1000):
                for i in range(base, base + 1000):
                    request(s, WRITE, f"/local/domain/{i % 100}/data/node{i}", "x" * 8, req=i)
                for _ in range(1000):
                    reply(s)
            s.close()
            # Read once the daemon has been quiet for 2 s: ours collects its heap after a second of quiet when the
            # store grew by a quarter (HeapTrimmer), as an administrator would find it.
            time.sleep(2)
            rss, _ = status(proc.pid)
            rows[kind]["node"] = f"{rss * 1024 / n:.0f} B"
            stop(proc)

    # Live-update pause seen by a writing client (ours only).
    for kind, values in live_update_pauses().items():
        rows[kind]["pause"] = f"{median_ms(values):.0f} ms"

    names = {"native": "ours, native (AOT)", "jit": "ours, JIT", "c": "C xenstored 4.17 / Debian xenstore-read"}
    print("| program | `xenstore read` wall | start to serving | idle RSS | RSS per node (100k) | live-update pause |")
    print("|---|---|---|---|---|---|")
    for kind in kinds:
        r = rows[kind]
        print(f"| {names[kind]} | {r.get('read', '')} | {r.get('start', '')} | {r.get('idle', '')} | {r.get('node', '')} | {r.get('pause', 'n/a')} |")


main()
