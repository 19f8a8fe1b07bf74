#!/usr/bin/env bash
# Xen's own test-xenstore (libxenstore, from the xen-utils package that ../shared/refxs extracts) against the C
# xenstored and ours: each of its tests' average time per operation, the daemons interleaved in every round (the
# machine is noisy), the median over the rounds printed as one table with the ratio ours/C. Correctness of the same
# tests is checked by tests/Xenstore.Interop.Tests (TestXenstoreTests); this only measures.
#
#   bench/test-xenstore-timings.sh [ROUNDS] [ITERATIONS]     defaults: 3 rounds of test-xenstore -i 200
#   The table is also written to bench/results/test-xenstore-timings.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
rounds=${1:-3}
iterations=${2:-200}

refxs=$root/../shared/refxs/refxs
[ -f "$refxs" ] || { echo "$refxs not found: the C reference daemon is needed for this comparison" >&2; exit 1; }
if [ ! -f /tmp/refxs/fakexen.so ] || [ ! -x /tmp/refxs/root/usr/lib/xen-4.17/bin/xenstored ]; then
  REFXS_HOME=/tmp/refxs bash "$refxs" setup >/dev/null
fi
test_xenstore=/tmp/refxs/root/usr/lib/xen-4.17/bin/test-xenstore
[ -x "$test_xenstore" ] || { echo "$test_xenstore not found after refxs setup" >&2; exit 1; }

echo "building (Release)..." >&2
dotnet build src/Xenstore.Daemon -c Release -v q -nologo 2>&1 | tail -1 >&2
ours_dll=$root/src/Xenstore.Daemon/bin/Release/net10.0/xenstored.dll

work=$(mktemp -d /tmp/xs-timings.XXXXXX)
home=$work/refxs
mkdir -p "$home"
for name in root debs fakexen.so; do ln -sfn "/tmp/refxs/$name" "$home/$name"; done
pid=""
stop() {
  [ -n "$pid" ] || return 0
  if [ "$1" = ours ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  else REFXS_HOME=$home bash "$refxs" stop "$pid"; fi
  pid=""
}
kind=""
trap 'stop "$kind"; rm -rf "$work"' EXIT

: > "$work/samples.tsv"
for round in $(seq "$rounds"); do
  for kind in c ours; do
    if [ "$kind" = ours ]; then
      # As a fresh daemon of the test suite: defaults, persistence on, its state next to its socket.
      sock=$work/ours.sock
      rm -rf "$sock" "$sock.state"
      dotnet "$ours_dll" --no-fork --socket "$sock" > "$work/ours.out" 2> "$work/ours.err" &
      pid=$!
      for _ in $(seq 200); do grep -q "listening on" "$work/ours.out" 2>/dev/null && break; sleep 0.05; done
      grep -q "listening on" "$work/ours.out" || { echo "our daemon did not start: $(cat "$work/ours.err")" >&2; exit 1; }
    else
      lines=$(REFXS_HOME=$home bash "$refxs" start c)
      sock=$(echo "$lines" | head -1)
      pid=$(echo "$lines" | tail -1)
      # refxs returns at bind(), possibly before listen().
      for _ in $(seq 100); do python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$sock" 2>/dev/null && break; sleep 0.05; done
    fi
    # Lines such as "read 1    : avg: 10234 ns (9000 ns .. 20000 ns)"; any other line is a failed test.
    XENSTORED_PATH=$sock LC_ALL=C "$test_xenstore" -i "$iterations" > "$work/run.txt"
    python3 - "$work/run.txt" "$kind" >> "$work/samples.tsv" <<'PY'
import re, sys
for line in open(sys.argv[1]):
    m = re.match(r'^(.{10}): avg: (\d+) ns \(\d+ ns \.\. \d+ ns\)$', line.rstrip('\n'))
    if not m:
        sys.exit(f'{sys.argv[2]}: test-xenstore reported: {line.strip()}')
    print(f'{sys.argv[2]}\t{m.group(1).rstrip()}\t{m.group(2)}')
PY
    stop "$kind"
    echo "round $round: $kind done" >&2
  done
done

mkdir -p bench/results
python3 - "$work/samples.tsv" "$rounds" "$iterations" <<'PY' | tee bench/results/test-xenstore-timings.txt
import statistics, sys
samples = {}
order = []
for line in open(sys.argv[1]):
    kind, test, avg = line.rstrip('\n').split('\t')
    samples.setdefault(kind, {}).setdefault(test, []).append(int(avg))
    if test not in order:
        order.append(test)
print(f'test-xenstore -i {sys.argv[3]}, median of {sys.argv[2]} interleaved rounds, average ns per operation')
print(f'{"test":<12}{"c":>12}{"ours":>12}{"ours/c":>12}')
for test in order:
    c = statistics.median_low(samples['c'][test])
    ours = statistics.median_low(samples['ours'][test])
    print(f'{test:<12}{c:>12}{ours:>12}{ours / c:>12.2f}')
PY
