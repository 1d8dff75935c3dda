#!/usr/bin/env bash
# hearth-loadgen runs (docs/loadgen.md); benchmarks, not part of the test command.
#   bash scripts/loadgen.sh soak       200 tablets for 10 minutes against a fresh hearth-server on 127.0.0.1
#   bash scripts/loadgen.sh capacity   validated changes per second at saturation, then a ramp of tablets
#                                      (one per practitioner) to find how many sync with p99 under 1 s
# Each starts its own server on a temporary data directory (hearth-loadgen --start-server) and stops it
# at the end. Settings come from the environment, e.g. DEVICES=500 DURATION=120 bash scripts/loadgen.sh soak.
# The JSON reports are written beside the data: ${TMPDIR:-/tmp}/hearth-loadgen-<run>/report*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
run="${1:-}"
case "$run" in soak | capacity) ;; *) echo "usage: bash scripts/loadgen.sh soak|capacity" >&2; exit 2 ;; esac
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ >/dev/null
fi
ninja -C build -j"${JOBS:-2}" hearth-loadgen hearth-bench-server >/dev/null
loadgen=./build/tests/bench/hearth-loadgen
out="${TMPDIR:-/tmp}/hearth-loadgen-$run"
mkdir -p "$out"

if [ "$run" = soak ]; then
  # Issue 11's soak: 0 errors, 0 lost or duplicated ops, server RSS growth under 5% from minute 3 to the end.
  "$loadgen" --start-server "$out/server" --devices "${DEVICES:-200}" --duration "${DURATION:-600}" \
    --think-ms "${THINK_MS:-5000}" --ops-per-sync "${OPS_PER_SYNC:-3}" --workers "${WORKERS:-16}" \
    --json "$out/report.json"
  exit $?
fi

# Capacity 1: validated changes per second of one server, saturated (no think time, big pushes).
status=0
"$loadgen" --start-server "$out/server-throughput" --devices "${SAT_DEVICES:-40}" --duration "${SAT_SECONDS:-60}" \
  --think-ms 0 --ops-per-sync "${SAT_OPS_PER_SYNC:-25}" --workers "${SAT_WORKERS:-8}" \
  --json "$out/report-throughput.json" || status=$?
# Capacity 2: practitioners served. One tablet per practitioner, each syncing every THINK_MS on average;
# STEP more every STEP_SECONDS up to DEVICES; a step serves its tablets if p99 sync < 1 s with no error.
"$loadgen" --start-server "$out/server-ramp" --devices "${DEVICES:-5000}" --devices-per-practitioner 1 \
  --families "${FAMILIES:-10}" --think-ms "${THINK_MS:-30000}" --ops-per-sync "${OPS_PER_SYNC:-3}" \
  --ramp "${STEP:-500},${STEP_SECONDS:-60}" --workers "${WORKERS:-128}" --json "$out/report-ramp.json" || status=$?
exit $status
