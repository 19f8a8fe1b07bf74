#!/usr/bin/env bash
# One Xenstore.Client connection shared by N callers: 64 in flight versus one at a time, against our daemon and
# the C xenstored of ../shared/refxs (when present), in interleaved rounds.
#   bench/client-bench.sh [ROUNDS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
seconds=${2:-5}
dotnet build bench/Xenstore.ClientBench -c Release >/dev/null
dotnet build src/Xenstore.Daemon -c Release >/dev/null
work=$(mktemp -d)
refxs=../shared/refxs/refxs
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
for round in $(seq "$rounds"); do
  for daemon in ours c; do
    if [ "$daemon" = ours ]; then
      dotnet src/Xenstore.Daemon/bin/Release/net10.0/xenstored.dll --no-fork --socket "$work/ours.sock" --no-persistence >/dev/null 2>&1 &
      pid=$!; sock=$work/ours.sock
      for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
    else
      [ -f "$refxs" ] || continue
      home=$work/refxs; mkdir -p "$home"
      for f in root debs fakexen.so; do [ -e "$home/$f" ] || ln -s "/tmp/refxs/$f" "$home/$f"; done
      out=$(REFXS_HOME=$home bash "$refxs" start c); sock=$(echo "$out" | head -1); pid=$(echo "$out" | tail -1)
    fi
    echo "round $round, $daemon:"
    dotnet bench/Xenstore.ClientBench/bin/Release/net10.0/xs-clientbench.dll --socket "$sock" --seconds "$seconds"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done
