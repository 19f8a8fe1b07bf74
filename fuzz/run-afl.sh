#!/usr/bin/env bash
# Fuzzes the targets of fuzz/Xenstore.Fuzz with AFL++ (Debian) and SharpFuzz.
#
#   fuzz/run-afl.sh [SECONDS_PER_TARGET] [TARGET...]     default: 300 s, every target
#
# Installs afl++ with apt when it is missing and the sharpfuzz tool from .config/dotnet-tools.json, publishes the
# fuzz host to fuzz/out/bin, instruments the assemblies under test (Xenstore.Protocol, Xenstore.Store) and runs
# afl-fuzz on each target, starting from fuzz/corpus/<target>. Findings go to fuzz/findings/<target>/default/
# (queue/, crashes/, hangs/). Replay a crash with:
#   dotnet fuzz/out/bin/Xenstore.Fuzz.dll <target> --replay fuzz/findings/<target>/default/crashes
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
seconds="${1:-300}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(frame path perms dispatcher)
fi

if ! command -v afl-fuzz >/dev/null; then
  echo "installing afl++"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++
fi

cd "$root"
dotnet tool restore >/dev/null

out="$here/out/bin"
rm -rf "$out"
dotnet publish fuzz/Xenstore.Fuzz -c Release -o "$out" --nologo -v quiet
for assembly in Xenstore.Protocol.dll Xenstore.Store.dll; do
  dotnet tool run sharpfuzz "$out/$assembly"
done

# dotnet is not an AFL-instrumented binary (the coverage comes from the instrumented assemblies), nothing here
# needs a CPU governor, and the fuzzing runs unattended.
export AFL_SKIP_BIN_CHECK=1
export AFL_SKIP_CPUFREQ=1
export AFL_NO_UI=1
export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_NO_AFFINITY=1
export AFL_AUTORESUME=1
export DOTNET_TieredPGO=0

status=0
for target in "${targets[@]}"; do
  corpus="$here/corpus/$target"
  findings="$here/findings/$target"
  mkdir -p "$findings"
  dict=()
  if [ -f "$here/dict/$target.dict" ]; then
    dict=(-x "$here/dict/$target.dict")
  fi
  echo "== $target: ${seconds}s"
  afl-fuzz -i "$corpus" -o "$findings" -V "$seconds" -t 5000 -m none "${dict[@]}" \
    -- dotnet "$out/Xenstore.Fuzz.dll" "$target" >"$findings/afl.log" 2>&1 || { status=$?; tail -20 "$findings/afl.log"; }
  grep -E '^(run_time|execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs) ' "$findings/default/fuzzer_stats" || true
  crashes=$(find "$findings/default/crashes" -type f -name 'id:*' 2>/dev/null | wc -l)
  hangs=$(find "$findings/default/hangs" -type f -name 'id:*' 2>/dev/null | wc -l)
  echo "== $target: $crashes crashes, $hangs hangs"
  if [ "$crashes" -gt 0 ]; then
    dotnet "$out/Xenstore.Fuzz.dll" "$target" --replay "$findings/default/crashes" || true
  fi
done
exit $status
