#!/usr/bin/env python3
"""Turns bench/run.sh's results.jsonl into one markdown table: medians over rounds, ratios against C xenstored.

A cell shows the median of the successful rounds; when a round failed or stalled the cell says so ("failed 1/3").
Ratios are ours and oxenstored against each C daemon (4.17 and 4.22) present; the last column says which side of
the better C daemon of the row ours is on.
"""
import json
import statistics
import sys

DAEMONS = [("ours", "ours"), ("ours-aot", "ours (native)"), ("c", "C 4.17"), ("c422", "C 4.22"), ("ocaml", "oxenstored"), ("null", "null server")]
C_DAEMONS = ("c", "c422")
# Every client a socket client of xenbusd (or of the null relay, its floor): over our socket, over dom0's ring to ours as the Xenstore domain
# (multiplexed or --serialize), over C 4.22's privileged ring.
MUX_DAEMONS = [("ours", "ours (socket)"), ("ours-aot", "ours (socket), native"), ("mux", "xenbusd → ours socket"), ("relay", "null relay → ours socket"),
               ("xsdom", "xenbusd → ring → ours"),
               ("xsdom-serial", "--serialize → ring → ours"), ("xsdom-aot", "xenbusd → ring → ours, native"),
               ("xsdom-serial-aot", "--serialize → ring → ours, native"), ("c422-xsdom", "xenbusd → ring → C 4.22")]
MUX_RATIOS = [("mux", "ours", "xenbusd / own socket"), ("relay", "ours", "null relay / own socket"),
              ("mux", "relay", "xenbusd / null relay"), ("xsdom", "xsdom-serial", "multiplexed / serialized"),
              ("xsdom-aot", "xsdom-serial-aot", "native: multiplexed / serialized"), ("ours-aot", "xsdom-serial-aot", "native: own socket / serialized"),
              ("xsdom", "c422-xsdom", "ours / C 4.22 behind xenbusd")]

# workload name, metric key, label, unit, higher is better (None: not a figure of merit)
ROWS = [
    ("latency", "p50_us", "1 READ in flight, same CPU: p50", "µs", False),
    ("latency", "p99_us", "1 READ in flight, same CPU: p99", "µs", False),
    ("latency", "daemon_cpu_us_per_op", "1 in flight: daemon CPU per op", "µs", False),
    ("latency", "daemon_context_switches_per_op", "1 in flight: daemon context switches per op", "", None),
    ("pipeline", "ops_per_second", "64 READs in flight, 1 connection", "ops/s", True),
    ("pipeline", "daemon_cpu_us_per_op", "64 in flight: daemon CPU per op", "µs", False),
    ("pipeline", "loadgen_cpu_us_per_op", "64 in flight: load generator CPU per op", "µs", None),
    ("fanin", "ops_per_second", "64 connections, 1 in flight each (80/15/5)", "ops/s", True),
    ("fanin", "p99_us", "64 connections: p99", "µs", False),
    ("fanin", "daemon_cpu_us_per_op", "64 connections: daemon CPU per op", "µs", False),
    ("fanin", "loadgen_cpu_us_per_op", "64 connections: load generator CPU per op", "µs", None),
    ("fanin", "daemon_context_switches_per_op", "64 connections: daemon context switches per op", "", None),
]
for t in (1, 8, 16, 32, 64):
    ROWS += [
        (f"storm-{t}", "domains_per_second", f"storm T={t}: domains/s", "1/s", True),
        (f"storm-{t}", "eagain_per_domain", f"storm T={t}: EAGAIN retries per domain", "", False),
        (f"storm-{t}", "create_p99_ms", f"storm T={t}: create p99", "ms", False),
        (f"storm-{t}", "create_max_ms", f"storm T={t}: create max", "ms", False),
        (f"storm-{t}", "watch_events_exact", f"storm T={t}: every watch event arrived", "", None),
    ]
for name, size in (("bulk-100k", "100k"), ("bulk-1M", "1M")):
    ROWS += [
        (name, "writes_per_second", f"load {size} nodes, pipelined writes", "writes/s", True),
        (name, "write_daemon_cpu_us_per_op", f"load {size}: daemon CPU per write", "µs", False),
        (name, "daemon_rss_bytes_per_node", f"load {size}: daemon RSS per node", "bytes", False),
        (name, "walk_nodes_per_second", f"walk {size} (DIRECTORY + READ per node)", "nodes/s", True),
    ]
ROWS += [
    ("bigdir", "creates_per_second", "10k children under one node: create rate", "1/s", True),
    ("bigdir", "listing_ms", "10k children: whole listing by DIRECTORY_PART", "ms", False),
    ("bigdir", "listing_daemon_cpu_ms", "10k children: daemon CPU for the whole listing", "ms", False),
    ("bigdir", "e2big_us", "10k children: DIRECTORY (E2BIG) round trip", "µs", False),
    ("bigdir", "e2big_daemon_cpu_us", "10k children: daemon CPU per DIRECTORY (E2BIG)", "µs", False),
    ("ring-latency", "p50_us", "guest ring, 1 READ in flight: p50", "µs", False),
    ("ring-latency", "p99_us", "guest ring, 1 READ in flight: p99", "µs", False),
    ("ring-latency", "daemon_cpu_us_per_op", "guest ring, 1 in flight: daemon CPU per op", "µs", False),
    ("ring-latency", "daemon_context_switches_per_op", "guest ring, 1 in flight: daemon context switches per op", "", None),
    ("ring-pipeline", "ops_per_second", "guest ring, 16 READs in flight", "ops/s", True),
    ("ring-fanin", "ops_per_second", "32 guests on 32 rings, 1 in flight each", "ops/s", True),
    ("ring-fanin", "p99_us", "32 guests: p99", "µs", False),
    ("ring-fanin", "daemon_cpu_us_per_op", "32 guests: daemon CPU per op", "µs", False),
]
for name, attack in (("ring-flood", "a guest floods its ring, never reads"), ("ring-storm", "an ignored guest storms its event channel")):
    ROWS += [
        (name, "rss_growth_mib", f"{attack}: daemon RSS growth", "MiB", False),
        (name, "rss_peak_mib", f"{attack}: daemon RSS peak", "MiB", None),
        (name, "idle_guest_p50_us", f"{attack}: other guest p50 before", "µs", None),
        (name, "guest_p50_us", f"{attack}: other guest p50 during", "µs", False),
        (name, "guest_p99_us", f"{attack}: other guest p99 during", "µs", False),
        (name, "guest_max_us", f"{attack}: other guest max during", "µs", False),
        (name, "dom0_p99_us", f"{attack}: dom0 socket p99 during", "µs", False),
        (name, "attacker_requests", f"{attack}: attacker's requests (or notifications) written", "", None),
    ]
HOSTSIM_MODES = (("inline", "inline hotplug"), ("debian", "hotplug processes, Debian's tools"),
                 ("ours", "hotplug processes, our tools"))
for mode, what in HOSTSIM_MODES:
    for c in (1, 8, 32):
        name = f"hostsim-{mode}-c{c}"
        ROWS += [
            (name, "boots_per_s", f"host, {what}, C={c}: guests booted/s", "1/s", True),
            (name, "boot_p50_ms", f"host, {what}, C={c}: boot p50", "ms", False),
            (name, "boot_p99_ms", f"host, {what}, C={c}: boot p99", "ms", False),
        ]
        if mode != "inline":
            ROWS.append((name, "cli_processes_per_domain", f"host, {what}, C={c}: processes per guest", "", None))
ROWS += [
    ("ring-flood", "attacker_replies_in_order", "flood: replies the attacker read afterwards, in order", "", None),
]


def fmt(v):
    if isinstance(v, bool):
        return "yes" if v else "**no**"
    if isinstance(v, str):
        return v
    a = abs(v)
    if a >= 100000:
        return f"{v / 1000:.0f}k"
    if a >= 10000:
        return f"{v / 1000:.1f}k"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def cell(runs, key):
    """(text, numeric median or None)"""
    if not runs:
        return "–", None
    good = [r for r in runs if r.get("ok")]
    bad = len(runs) - len(good)
    values = [r[key] for r in good if r.get(key) is not None]
    note = ""
    if bad:
        kind = "stalled" if any("stalled" in str(r.get("error", "")) for r in runs if not r.get("ok")) else "failed"
        note = f"{kind} {bad}/{len(runs)}"
    if key == "watch_events_exact":
        if not good:
            return note or "–", None
        text = fmt(all(values) and len(values) == len(good))
        return (f"{text} ({note})" if note else text), None
    if not values:
        if good and any(r.get("listing") == "ENOSYS" for r in good):
            return "n/a (ENOSYS)", None
        return note or "–", None
    median = statistics.median(values)
    flag = {"writes_per_second": "load_complete", "write_daemon_cpu_us_per_op": "load_complete",
            "daemon_rss_bytes_per_node": "load_complete", "walk_nodes_per_second": "walk_complete"}.get(key)
    partial_runs = [r for r in good if flag and r.get(flag) is False]
    if partial_runs:
        loaded = statistics.median(r.get("nodes_loaded" if flag == "load_complete" else "walk_nodes", 0) for r in partial_runs)
        partial = f"partial in {len(partial_runs)}/{len(runs)}: {fmt(loaded)} nodes in the time limit"
        note = f"{note}; {partial}" if note else partial
    return (f"{fmt(median)} ({note})" if note else fmt(median)), median


def main(path):
    runs = [json.loads(line) for line in open(path) if line.strip()]
    by = {}
    for r in runs:
        by.setdefault((r["name"], r["daemon"]), []).append(r)
    mux_kinds = {d for d, _ in MUX_DAEMONS if d not in ("ours", "ours-aot")}
    present = [d for d in DAEMONS if d[0] not in mux_kinds and any(k[1] == d[0] for k in by)]
    refs = [(d, label) for d, label in present if d in C_DAEMONS]
    others = [(d, label) for d, label in present if d not in C_DAEMONS and d != "null"]
    head = ["workload", "unit"] + [label for _, label in present]
    head += [f"{label} / {ref}" for d, label in others for _, ref in refs]
    if refs:
        head += ["ours vs best C"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name, key, label, unit, higher in ROWS:
        if not any((name, d) in by for d, _ in present):
            continue
        cells, medians = [], {}
        for d, _ in present:
            text, m = cell(by.get((name, d), []), key)
            cells.append(text)
            medians[d] = m
        for d, _ in others:
            for r, _ in refs:
                m, c = medians.get(d), medians.get(r)
                cells.append(f"{m / c:.2f}×" if m is not None and c not in (None, 0) else "–")
        if refs:
            o = medians.get("ours")
            cs = [medians.get(r) for r, _ in refs if medians.get(r) is not None]
            if higher is None or o is None or not cs:
                verdict = ""
            else:
                best = max(cs) if higher else min(cs)
                verdict = "same" if o == best else ("better" if (o > best) == higher else "**worse**")
            cells.append(verdict)
        print(f"| {label} | {unit} | " + " | ".join(cells) + " |")
    mux_table(by)
    hostsim_targets(by)
    loads = [r.get("loadavg", 0) for r in runs]
    if loads:
        print()
        print(f"Load average when runs started: median {statistics.median(loads):.2f}, max {max(loads):.2f} "
              f"({len(runs)} runs).")


def median_of(by, name, daemon, key):
    values = [r[key] for r in by.get((name, daemon), []) if r.get("ok") and r.get(key) is not None]
    return statistics.median(values) if values else None


def hostsim_targets(by):
    """The host simulation's targets, each with the figure it is judged on."""
    names = sorted({n for n, _ in by if n.startswith("hostsim-")})
    if not names:
        return
    print()
    print("Host simulation targets:")
    print()

    def ratio(x, y):
        return f"{x / y:.2f}×" if x is not None and y not in (None, 0) else "–"

    # Each target for the JIT build and the native one, whichever the run has.
    for ours, label in (("ours", "ours"), ("ours-aot", "ours (native)")):
        if not any(d == ours for n, d in by if n.startswith("hostsim-")):
            continue
        ours32, c422_32 = (median_of(by, "hostsim-inline-c32", d, "boots_per_s") for d in (ours, "c422"))
        print(f"- inline, C=32, {label} / C 4.22 guests booted/s: {ratio(ours32, c422_32)} (target ≥ 10×)")
        p99_8, p50_1 = median_of(by, "hostsim-inline-c8", ours, "boot_p99_ms"), median_of(by, "hostsim-inline-c1", ours, "boot_p50_ms")
        print(f"- inline, {label}, boot p99 at C=8 / uncontended boot (p50 at C=1): {ratio(p99_8, p50_1)} (target ≤ 1.5×)")
        for c in (1, 8, 32):
            o, r = median_of(by, f"hostsim-ours-c{c}", ours, "boots_per_s"), median_of(by, f"hostsim-debian-c{c}", "c422", "boots_per_s")
            print(f"- processes, C={c}, {label} with our tools / C 4.22 with Debian's, guests booted/s: {ratio(o, r)} (target ≥ 2×)")
    for d, label in DAEMONS:
        for mode in ("debian", "ours"):
            proc, inline = median_of(by, f"hostsim-{mode}-c1", d, "boot_p50_ms"), median_of(by, "hostsim-inline-c1", d, "boot_p50_ms")
            if proc and inline is not None:
                print(f"- {label}, {mode} tools, C=1: share of boot time spent in hotplug processes "
                      f"(1 − inline p50 / process p50): {100 * (proc - inline) / proc:.0f}%")
    runs = [r for n in names for (n2, _), rs in by.items() if n2 == n for r in rs]
    bad = [r for r in runs if not r.get("ok")]
    print(f"- runs with a failure, a guest not booted or a node left over: {len(bad)} of {len(runs)} (target 0)"
          + "".join(f"; {r['name']} {r['daemon']}: {r.get('error')}" for r in bad[:5]))
    memory = (("rss", "daemon RSS after destroying every guest / before", " (target ≤ 1.10×)"),
              ("anon", "its anonymous part (heap, stacks; not the executable's pages)", ""))
    for field, what, target in memory:
        growth = [(r[f"daemon_{field}_kib_after"] / r[f"daemon_{field}_kib_before"], r["name"], r["daemon"]) for r in runs
                  if r.get(f"daemon_{field}_kib_before") and r.get(f"daemon_{field}_kib_after")]
        for d, label in DAEMONS:
            mine = [g for g in growth if g[2] == d]
            if mine:
                worst = max(mine)
                print(f"- {label}: {what}, worst run: {worst[0]:.2f}× ({worst[1]}){target}")


def mux_table(by):
    """The disaggregated host: the same workloads through xenbusd, every upstream side by side."""
    present = [(d, label) for d, label in MUX_DAEMONS if any(k[1] == d for k in by)]
    if not any(d not in ("ours", "ours-aot") for d, _ in present):
        return
    kinds = {d for d, _ in present}
    ratios = [(a, b, label) for a, b, label in MUX_RATIOS if a in kinds and b in kinds]
    print()
    print("Through xenbusd (one upstream connection, each load-generator connection a xenbusd client):")
    print()
    head = ["workload", "unit"] + [label for _, label in present] + [label for _, _, label in ratios]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name, key, label, unit, _ in ROWS:
        if not (name == "latency" or name in ("storm-1", "storm-8", "storm-32")) or not any((name, d) in by and d not in ("ours", "ours-aot") for d, _ in present):
            continue
        cells, medians = [], {}
        for d, _ in present:
            text, m = cell(by.get((name, d), []), key)
            cells.append(text)
            medians[d] = m
        for a, b, _ in ratios:
            x, y = medians.get(a), medians.get(b)
            cells.append(f"{x / y:.2f}×" if x is not None and y not in (None, 0) else "–")
        print(f"| {label} | {unit} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
