#!/usr/bin/env bash
# Benchmarks our xenstored against Debian's C xenstored 4.17 and oxenstored (../shared/refxs) and the upstream C
# xenstored 4.22 (../shared/refxs-new, kind c422) on the same machine, in the same run: every workload runs against
# a fresh daemon of each kind, the kinds interleaved in every round, and the medians over the rounds are printed as
# one markdown table with ratios against each C daemon.
# The ring-* workloads serve guests over the simulated hypervisor's shared rings (ours --sim-dir, the references
# REFXS_RINGS=1); the generator introduces its guests through dom0's socket and spins on their response indexes.
#
#   bench/run.sh                 full run: 3 rounds, full sizes (about 30-35 minutes on 2 cores)
#   bench/run.sh --quick         smoke check: 1 round, short phases, small sizes (about 5 minutes)
#   Host simulation (xenstore-hostsim, workloads hostsim-*): guests with 2 vifs and 2 vbds booted and destroyed as
#   libxl, the kernels' backends and frontends and the hotplug scripts drive them, at concurrency 1, 8 and 32; the
#   scripts inline (the simulator makes their requests) or as processes (Xen's vif-bridge and block calling Debian's
#   xenstore-* tools, or ours, native). 200 guests inline; as processes every disk's script scans every other disk,
#   one CLI process per key under a global lock (O(N^2) processes), so those runs boot 40 guests (--quick: 50
#   inline, 10 as processes).
#   options: --rounds N  --daemons "ours c c422 ocaml"  --workloads "latency pipeline ..."  --out DIR
#   --daemons "... ours-aot" adds our daemon as shipped (native AOT, published at the start of the run); "ours"
#   is the JIT build (dotnet xenstored.dll).
#   --daemons "... null" adds the load generator's own do-nothing server (latency, pipeline, fan-in and bigdir):
#   the generator's ceiling, to show it is never the bottleneck, and the floor of a round trip on this machine.
#   Disaggregated kinds (latency and storms only), every client a socket client of xenbusd:
#     mux           xenbusd over our daemon's own socket (what the multiplexer adds to a round trip)
#     relay         bench/null-relay (C, built with gcc): bytes copied between each client and the daemon's socket
#                   on one epoll thread, nothing else (the floor of any user-space multiplexer: the hop itself)
#     xsdom         our daemon as the Xenstore domain (--xenstore-domain), xenbusd over dom0's one ring
#     xsdom-serial  the same with xenbusd --serialize (one request on the ring at a time, the old xenbus)
#     xsdom-aot, xsdom-serial-aot   the same two with the daemon and xenbusd as shipped (native, published per run)
#     c422-xsdom    C 4.22 serving domain 1 as its privileged domain (--priv-domid 1), xenbusd over that ring
#
# Every reply is verified by the load generator; a protocol error fails that run and shows as "failed" in the
# table, a daemon that stops answering shows as "stalled" (every run is time-boxed). The raw results, one JSON
# object per run, are kept in DIR/results.jsonl (default bench/results/<timestamp>/).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

quick=0
rounds=3
daemons="ours c c422 ocaml"
workloads=""
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; rounds=1 ;;
    --rounds) rounds=$2; shift ;;
    --daemons) daemons=$2; shift ;;
    --workloads) workloads=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
out=${out:-$root/bench/results/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
results=$out/results.jsonl
: > "$results"

# name | load generator arguments | pin daemon and generator to CPU 0 | time box (s)
# Bulk loads and walks stop after --phase-limit seconds each; a daemon that slows down as its store grows then
# reports the rate over what it loaded, marked "partial" in the table.
hostsim_catalogue() { # INLINE-DOMAINS PROCESS-DOMAINS TIME-BOX
  local c mode
  for c in 1 8 32; do
    echo "hostsim-inline-c$c|--hotplug inline --concurrency $c --domains $1 --vifs 2 --vbds 2|-|$3"
  done
  for mode in debian ours; do
    for c in 1 8 32; do
      echo "hostsim-$mode-c$c|--hotplug process --tools $mode --concurrency $c --domains $2 --vifs 2 --vbds 2|-|$3"
    done
  done
}
if [ "$quick" = 1 ]; then
  phase="--duration 2 --warmup 0.5"
  catalogue=(
    "latency|--workload latency $phase|pin|60"
    "pipeline|--workload pipeline --window 64 $phase|-|60"
    "fanin|--workload fanin --connections 64 $phase|-|60"
    "storm-1|--workload storm --toolstacks 1 --duration 2|-|90"
    "storm-8|--workload storm --toolstacks 8 --duration 2|-|90"
    "storm-16|--workload storm --toolstacks 16 --duration 2|-|90"
    "storm-32|--workload storm --toolstacks 32 --duration 2|-|90"
    "storm-64|--workload storm --toolstacks 64 --duration 2|-|90"
    "bulk-100k|--workload bulk --nodes 20000 --phase-limit 30|-|120"
    "bulk-1M|--workload bulk --nodes 100000 --phase-limit 30|-|120"
    "bigdir|--workload bigdir --children 10000|-|60"
    "ring-latency|--workload ring-latency $phase|-|60"
    "ring-pipeline|--workload ring-pipeline --window 16 $phase|-|60"
    "ring-fanin|--workload ring-fanin --guests 32 $phase|-|60"
    "ring-flood|--workload ring-flood --duration 5 --warmup 2|-|90"
    "ring-storm|--workload ring-storm --duration 5 --warmup 2|-|90"
  )
  mapfile -t -O "${#catalogue[@]}" catalogue < <(hostsim_catalogue 50 10 300)
else
  phase="--duration 5 --warmup 1"
  catalogue=(
    "latency|--workload latency $phase|pin|60"
    "pipeline|--workload pipeline --window 64 $phase|-|60"
    "fanin|--workload fanin --connections 64 $phase|-|60"
    "storm-1|--workload storm --toolstacks 1 --duration 5|-|60"
    "storm-8|--workload storm --toolstacks 8 --duration 5|-|60"
    "storm-16|--workload storm --toolstacks 16 --duration 5|-|60"
    "storm-32|--workload storm --toolstacks 32 --duration 5|-|60"
    "storm-64|--workload storm --toolstacks 64 --duration 5|-|60"
    "bulk-100k|--workload bulk --nodes 100000 --phase-limit 60|-|180"
    "bulk-1M|--workload bulk --nodes 1000000 --phase-limit 45|-|200"
    "bigdir|--workload bigdir --children 10000|-|120"
    "ring-latency|--workload ring-latency $phase|-|60"
    "ring-pipeline|--workload ring-pipeline --window 16 $phase|-|60"
    "ring-fanin|--workload ring-fanin --guests 32 $phase|-|60"
    "ring-flood|--workload ring-flood --duration 20 --warmup 3|-|120"
    "ring-storm|--workload ring-storm --duration 5 --warmup 3|-|90"
  )
  mapfile -t -O "${#catalogue[@]}" catalogue < <(hostsim_catalogue 200 40 1800)
fi

echo "building (Release)..." >&2
dotnet build src/Xenstore.Daemon -c Release -v q -nologo 2>&1 | tail -1 >&2
dotnet build bench/Xenstore.LoadGen -c Release -v q -nologo 2>&1 | tail -1 >&2
dotnet build src/Xenstore.Xenbus -c Release -v q -nologo 2>&1 | tail -1 >&2
ours_dll=$root/src/Xenstore.Daemon/bin/Release/net10.0/xenstored.dll
xenbusd_dll=$root/src/Xenstore.Xenbus/bin/Release/net10.0/xenbusd.dll
loadgen_dll=$root/bench/Xenstore.LoadGen/bin/Release/net10.0/xs-loadgen.dll
# The host simulator is the load generator of the hostsim-* workloads: native (published once per run), so that
# its own CPU (and its JIT warming up) takes as little of the 2 cores from the daemon as it can.
hostsim_exe=""
# The hotplug scripts' `--tools ours` is the CLI as a user installs it: the native build.
our_tools=""
if [[ " $workloads " == *" hostsim-"* ]] || [ -z "$workloads" ]; then
  hostsim_exe=$(mktemp -d /tmp/xsbench-hostsim.XXXXXX)
  dotnet publish src/Xenstore.HostSim -c Release -r linux-x64 -o "$hostsim_exe" -v q -nologo 2>&1 | tail -1 >&2
  our_tools=$(mktemp -d /tmp/xsbench-cli.XXXXXX)
  dotnet publish src/Xenstore.Cli -c Release -r linux-x64 -o "$our_tools" -v q -nologo 2>&1 | tail -1 >&2
fi

# The reference daemons: set up once in the shared home, then a private home (own sockets) linking to it.
refxs=$root/../shared/refxs/refxs
refxs_new=$root/../shared/refxs-new/refxs-new
refhome=$(mktemp -d /tmp/xsbench-refxs.XXXXXX)
refhome_new=$(mktemp -d /tmp/xsbench-refxs-new.XXXXXX)
workdir=$(mktemp -d /tmp/xsbench.XXXXXX)
statedir_parent=$(mktemp -d /dev/shm/xsbench-state.XXXXXX)
statedir=$statedir_parent/ours
# relay: the null relay, built once per run.
if [[ " $daemons " == *" relay "* ]]; then
  gcc -O2 -Wall -Wextra -Werror -o "$workdir/null-relay" bench/null-relay/null-relay.c
fi
# ours-aot: the daemon as it is shipped (native, published once per run), next to the JIT build of "ours"; the
# native xsdom kinds use it too, with xenbusd as shipped.
if [[ " $daemons " == *"-aot "* ]]; then
  dotnet publish src/Xenstore.Daemon -c Release -r linux-x64 -o "$workdir/aot" -v q -nologo 2>&1 | tail -1 >&2
fi
if [[ " $daemons " == *" xsdom-aot "* || " $daemons " == *" xsdom-serial-aot "* ]]; then
  dotnet publish src/Xenstore.Xenbus -c Release -r linux-x64 -o "$workdir/aot-xenbusd" -v q -nologo 2>&1 | tail -1 >&2
fi
case " $daemons " in
  *" c "*|*" ocaml "*)
    [ -f "$refxs" ] || { echo "$refxs not found: run with --daemons ours" >&2; exit 1; }
    if [ ! -f /tmp/refxs/fakexen.so ] || [ ! -x /tmp/refxs/root/usr/lib/xen-4.17/bin/xenstored ]; then
      REFXS_HOME=/tmp/refxs bash "$refxs" setup >/dev/null
    fi
    for name in root debs fakexen.so; do ln -sfn "/tmp/refxs/$name" "$refhome/$name"; done ;;
esac
case " $daemons " in
  *" c422 "*|*" c422-xsdom "*)
    [ -f "$refxs_new" ] || { echo "$refxs_new not found: leave c422 out of --daemons" >&2; exit 1; }
    # Its setup is idempotent and builds into its home; the private home is a copy of the built one.
    REFXS_HOME=/tmp/refxs-new bash "$refxs_new" setup >/dev/null
    cp -a /tmp/refxs-new/. "$refhome_new/"
    rm -rf "$refhome_new/c-new" "$refhome_new/rings" ;;
esac

daemon_pid=""
daemon_sock=""
daemon_kind=""
daemon_sim=""
mux_pid=""
cleanup() {
  [ -n "$daemon_pid" ] && stop_daemon
  rm -rf "$workdir" "$refhome" "$refhome_new" "$statedir_parent" ${our_tools:+"$our_tools"} ${hostsim_exe:+"$hostsim_exe"}
}
trap cleanup EXIT

# start_mux ARGS...: xenbusd with these upstream arguments on its own socket; sets mux_pid and daemon_sock.
start_mux() {
  daemon_sock=$workdir/xenbusd.sock
  rm -f "$daemon_sock" "$workdir/xenbusd.out"
  local program=(dotnet "$xenbusd_dll")
  [[ "$daemon_kind" == *-aot ]] && program=("$workdir/aot-xenbusd/xenbusd")
  "${program[@]}" "$@" --socket "$daemon_sock" > "$workdir/xenbusd.out" 2> "$workdir/xenbusd.err" &
  mux_pid=$!
  for _ in $(seq 200); do grep -q "listening on" "$workdir/xenbusd.out" 2>/dev/null && break; sleep 0.05; done
  grep -q "listening on" "$workdir/xenbusd.out" || { echo "xenbusd did not start: $(cat "$workdir/xenbusd.err")" >&2; return 1; }
}

# start_daemon KIND PIN RINGS: sets daemon_pid, daemon_sock and (RINGS=rings) daemon_sim, the directory of the
# guests' pages.
start_daemon() {
  local kind=$1 pin=$2 rings=$3 prefix=() sim=()
  [ "$pin" = pin ] && prefix=(taskset -c 0)
  daemon_kind=$kind
  daemon_sim=
  case "$kind" in
    ours|ours-aot)
      local program=(dotnet "$ours_dll")
      [ "$kind" = ours-aot ] && program=("$workdir/aot/xenstored")
      # A fresh daemon has an empty store: its journal and snapshot (persistence is on by default) live on tmpfs,
      # as on a host with the state in /run, and are wiped before every run.
      daemon_sock=$workdir/ours.sock
      rm -rf "$daemon_sock" "$workdir/ours.out" "$statedir" "$workdir/sim"
      mkdir -p "$statedir"
      if [ "$rings" = rings ]; then daemon_sim=$workdir/sim; sim=(--sim-dir "$daemon_sim"); fi
      "${prefix[@]}" "${program[@]}" --no-fork --socket "$daemon_sock" --state-dir "$statedir" "${sim[@]}" > "$workdir/ours.out" 2> "$workdir/ours.err" &
      daemon_pid=$!
      for _ in $(seq 200); do grep -q "listening on" "$workdir/ours.out" 2>/dev/null && break; sleep 0.05; done
      grep -q "listening on" "$workdir/ours.out" || { echo "our daemon did not start: $(cat "$workdir/ours.err")" >&2; return 1; }
      ;;
    mux)
      start_daemon ours "$pin" - || return 1
      daemon_kind=mux
      start_mux --upstream-socket "$daemon_sock" || return 1
      ;;
    relay)
      start_daemon ours "$pin" - || return 1
      daemon_kind=relay
      local upstream=$daemon_sock
      daemon_sock=$workdir/relay.sock
      rm -f "$daemon_sock"
      "$workdir/null-relay" "$daemon_sock" "$upstream" > "$workdir/relay.out" 2>&1 &
      mux_pid=$!
      for _ in $(seq 200); do grep -q "listening on" "$workdir/relay.out" 2>/dev/null && break; sleep 0.05; done
      grep -q "listening on" "$workdir/relay.out" || { echo "null-relay did not start" >&2; return 1; }
      ;;
    xsdom|xsdom-serial|xsdom-aot|xsdom-serial-aot)
      rm -rf "$workdir/xsd" "$statedir" "$workdir/ours.out"; mkdir -p "$workdir/xsd" "$statedir"
      local program=(dotnet "$ours_dll")
      [[ "$kind" == *-aot ]] && program=("$workdir/aot/xenstored")
      "${program[@]}" --no-fork --xenstore-domain --sim-dir "$workdir/xsd" --state-dir "$statedir" > "$workdir/ours.out" 2> "$workdir/ours.err" &
      daemon_pid=$!
      for _ in $(seq 200); do grep -q "serving domain" "$workdir/ours.out" 2>/dev/null && break; sleep 0.05; done
      grep -q "serving domain" "$workdir/ours.out" || { echo "our daemon did not serve dom0's ring: $(cat "$workdir/ours.err")" >&2; return 1; }
      local serial=()
      [[ "$kind" == xsdom-serial* ]] && serial=(--serialize)
      start_mux --sim-dir "$workdir/xsd" --domain 0 "${serial[@]}" || return 1
      ;;
    c422-xsdom)
      local lines
      lines=$(REFXS_RINGS=1 REFXS_HOME=$refhome_new bash "$refxs_new" start c --priv-domid 1) || return 1
      daemon_pid=$(echo "$lines" | tail -1)
      # C 4.22 introduces its privileged domain itself at start, on the page the hypervisor shows for it.
      head -c 4096 /dev/zero > "$refhome_new/rings/ring.1"
      start_mux --sim-dir "$refhome_new/rings" --domain 1 || return 1
      ;;
    null)
      daemon_sock=$workdir/null.sock
      rm -f "$daemon_sock"
      "${prefix[@]}" dotnet "$loadgen_dll" --null-server "$daemon_sock" > "$workdir/null.out" 2>&1 &
      daemon_pid=$!
      for _ in $(seq 200); do [ -S "$daemon_sock" ] && break; sleep 0.05; done
      [ -S "$daemon_sock" ] || { echo "null server did not start" >&2; return 1; }
      ;;
    c|ocaml)
      local extra=() lines
      [ "$kind" = ocaml ] && extra=(--no-access-log)
      local ringsflag=0
      if [ "$rings" = rings ]; then ringsflag=1; daemon_sim=$refhome/rings; rm -rf "$daemon_sim"; fi
      lines=$(REFXS_RINGS=$ringsflag REFXS_HOME=$refhome "${prefix[@]}" bash "$refxs" start "$kind" "${extra[@]}") || return 1
      daemon_sock=$(echo "$lines" | head -1)
      daemon_pid=$(echo "$lines" | tail -1)
      ;;
    c422)
      local lines ringsflag=0
      if [ "$rings" = rings ]; then ringsflag=1; daemon_sim=$refhome_new/rings; rm -rf "$daemon_sim"; fi
      lines=$(REFXS_RINGS=$ringsflag REFXS_HOME=$refhome_new "${prefix[@]}" bash "$refxs_new" start c) || return 1
      daemon_sock=$(echo "$lines" | head -1)
      daemon_pid=$(echo "$lines" | tail -1)
      ;;
  esac
}

stop_daemon() {
  if [ -n "$mux_pid" ]; then
    kill -TERM "$mux_pid" 2>/dev/null || true
    wait "$mux_pid" 2>/dev/null || true
    mux_pid=""
  fi
  case "$daemon_kind" in
    ours|ours-aot|null|mux|relay|xsdom|xsdom-serial|xsdom-aot|xsdom-serial-aot)
      kill -TERM "$daemon_pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$daemon_pid" 2>/dev/null || true
      wait "$daemon_pid" 2>/dev/null || true ;;
    c422|c422-xsdom) REFXS_HOME=$refhome_new bash "$refxs_new" stop "$daemon_pid" ;;
    *) REFXS_HOME=$refhome bash "$refxs" stop "$daemon_pid" ;;
  esac
  daemon_pid=""
}

selected() { [ -z "$workloads" ] || [[ " $workloads " == *" $1 "* ]]; }

started=$(date +%s)
read -r -a kinds <<< "$daemons"
for round in $(seq 1 "$rounds"); do
  # Rotate the order every round so that no daemon always runs first (or last) after another's load.
  order=()
  for i in "${!kinds[@]}"; do order+=("${kinds[$(( (i + round - 1) % ${#kinds[@]} ))]}"); done
  for entry in "${catalogue[@]}"; do
    IFS='|' read -r name args pin box <<< "$entry"
    selected "$name" || continue
    for kind in "${order[@]}"; do
      [ "$kind" = null ] && [[ " latency pipeline fanin bigdir " != *" $name "* ]] && continue
      case "$kind" in
        relay) [ "$name" = latency ] || continue ;;
        mux|xsdom|xsdom-serial|xsdom-aot|xsdom-serial-aot|c422-xsdom) [[ " latency storm-1 storm-8 storm-32 " == *" $name "* ]] || continue ;;
      esac
      rings=-
      [[ "$name" == ring-* || "$name" == hostsim-* ]] && rings=rings
      # oxenstored serves guests through its own event loop, which the simulated rings do not drive.
      [ "$kind" = ocaml ] && [ "$rings" = rings ] && continue
      load=$(cut -d' ' -f1 /proc/loadavg)
      if ! start_daemon "$kind" "$pin" "$rings"; then
        echo "{\"workload\":\"$name\",\"ok\":false,\"error\":\"daemon did not start\"}" > "$workdir/run.json"
      else
        gen=(dotnet "$loadgen_dll" --socket "$daemon_sock" --daemon-pid "$daemon_pid" --timeout "$box")
        if [[ "$name" == hostsim-* ]]; then
          gen=("$hostsim_exe/xenstore-hostsim" --socket "$daemon_sock" --daemon-pid "$daemon_pid" --json --quiet)
          [[ "$name" == hostsim-ours-* ]] && gen+=(--tools-dir "$our_tools")
        fi
        [ "$pin" = pin ] && gen=(taskset -c 0 "${gen[@]}")
        [ "$kind" = null ] && gen+=(--no-payload-checks)
        [ -n "$daemon_sim" ] && gen+=(--sim-dir "$daemon_sim")
        # shellcheck disable=SC2086
        timeout -k 5 $((box + 30)) "${gen[@]}" $args > "$workdir/run.json" 2> "$workdir/run.err" || true
        [ -s "$workdir/run.json" ] || echo "{\"ok\":false,\"error\":\"stalled: load generator killed after $((box + 30)) s\"}" > "$workdir/run.json"
        stop_daemon
      fi
      line=$(tail -1 "$workdir/run.json")
      # The simulator's report is one indented object with no "ok": a run is good when every guest booted and went
      # with nothing left over.
      [[ "$name" == hostsim-* ]] && line=$(python3 -c 'import json,sys
try:
    d = json.load(open(sys.argv[1]))
except ValueError:
    err = open(sys.argv[2]).read().strip().splitlines()
    d = {"ok": False, "error": "no report: " + (err[-1] if err else "nothing on stderr")}
if "ok" not in d:
    d["ok"] = d.get("booted") == d.get("domains") and d.get("failures") == 0 and d.get("leftover_nodes") == 0
    if not d["ok"]:
        d["error"] = "%s of %s booted, %s failures, %s leftover nodes" % (d.get("booted"), d.get("domains"), d.get("failures"), d.get("leftover_nodes"))
d.pop("leftovers", None)
print(json.dumps(d))' "$workdir/run.json" "$workdir/run.err")
      python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d.update(name=sys.argv[2], daemon=sys.argv[3], round=int(sys.argv[4]), loadavg=float(sys.argv[5])); print(json.dumps(d))' \
        "$line" "$name" "$kind" "$round" "$load" >> "$results"
      status=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("ok" if d.get("ok") else "FAILED: " + str(d.get("error")))' "$line")
      printf '[%4ds] round %d %-10s %-6s %s\n' $(( $(date +%s) - started )) "$round" "$name" "$kind" "$status" >&2
    done
  done
done

{
  echo "Run: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $rounds round(s)$([ "$quick" = 1 ] && echo ', --quick'), $(( $(date +%s) - started )) s"
  echo
  python3 "$root/bench/report.py" "$results"
} | tee "$out/table.md"
