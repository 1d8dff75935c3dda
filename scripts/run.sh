#!/usr/bin/env bash
# The main job. Until hearth-server exists: installs what is needed, builds, and plays two
# tablets editing the same family offline and merging.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build hearth-demo >/dev/null
mkdir -p var
rm -rf var/demo
exec ./build/examples/hearth-demo var/demo
