#!/usr/bin/env bash
# The flood and abuse scenarios of tests/Xenstore.Robustness.Tests, run for their figures: the daemon's RSS
# (baseline and peak), other clients' round trips (p50, p99, max), the flooding writer's rate, how many watch
# events were delivered or dropped. The tests assert only bounded behaviour (queue limits, counts, backpressure);
# these figures are machine-dependent and recorded in docs/ROBUSTNESS.md.
#
#   bench/robustness.sh                    every scenario
#   bench/robustness.sh WatchFlood         scenarios whose test name contains WatchFlood
#   XS_SILENT_CLIENTS=12 bench/robustness.sh SilentReader
set -euo pipefail
cd "$(dirname "$0")/.."

filter=()
[ $# -gt 0 ] && filter=(--filter "FullyQualifiedName~$1")
echo "building (Release)..." >&2
dotnet build tests/Xenstore.Robustness.Tests -c Release -v q -nologo 2>&1 | tail -1 >&2
# The scenarios' measurements are their test output, which the console logger prints at detailed verbosity.
dotnet test tests/Xenstore.Robustness.Tests -c Release --no-build "${filter[@]}" --logger "console;verbosity=detailed" \
  | awk '/^  (Passed|Failed) /{ print; next } /Standard Output Messages:/{ show=1; next } show && /^ *$/{ show=0 } show{ print }'
