#!/usr/bin/env bash
# The main job: installs what is needed, builds, starts hearth-server on 127.0.0.1 with its
# embedded SQLite store and development certificates, and runs the two-tablet demo against
# it. The server keeps running afterwards; the demo's last lines say how to stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ >/dev/null
ninja -C build hearth-server hearth hearth-demo
exec bash scripts/demo-sync.sh
