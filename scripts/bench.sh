#!/usr/bin/env bash
# Builds and runs the benchmarks on the peers' workload: bash scripts/bench.sh [small|medium] [runs]
#   bash scripts/bench.sh growth    the sync server as families grow, 100 -> 2,000 -> 20,000
#                                   (small, medium, large without the U updates): initial,
#                                   1% incremental and empty sync, server RSS; one JSON line each
# hearth-bench: local apply and merge (plain and encrypted); hearth-bench-sync: over TLS on loopback,
# with the server encrypted at rest and then with it off (the encryption's cost, same run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ >/dev/null
ninja -C build hearth-bench hearth-bench-sync hearth-server >/dev/null
size="${1:-small}"
runs="${2:-1}"
if [[ "$size" == growth ]]; then
  for s in small medium large; do
    ./build/tests/bench/hearth-bench-sync "$s" "${TMPDIR:-/tmp}/hearth-bench-growth-$s" no-updates
  done
  exit 0
fi
for ((i = 1; i <= runs; i++)); do
  ./build/tests/bench/hearth-bench "$size" "${TMPDIR:-/tmp}/hearth-bench-$size"
  ./build/tests/bench/hearth-bench-sync "$size" "${TMPDIR:-/tmp}/hearth-bench-sync-$size"
  ./build/tests/bench/hearth-bench-sync "$size" "${TMPDIR:-/tmp}/hearth-bench-sync-$size" plain
done
