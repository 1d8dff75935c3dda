#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test twice: an optimised build with g++,
# and a clang build under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
JOBS="${JOBS:-$(nproc)}"

echo "== release build (g++, RelWithDebInfo)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ >/dev/null
ninja -C build -j"$JOBS"
(cd build && ctest --output-on-failure -j"$JOBS" --timeout 900)

echo "== sanitizer build (clang, ASan + UBSan)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang-14 \
  -DCMAKE_CXX_COMPILER=clang++-14 -DHEARTH_SANITIZE=ON -DHEARTH_BUILD_BENCH=OFF >/dev/null
ninja -C build-asan -j"$JOBS"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS="suppressions=$PWD/../scripts/lsan.supp" ctest --output-on-failure -j"$JOBS" --timeout 1800 \
  -E '^(nginx|npm|chromium): |^postgres:')  # the PostgreSQL run of the server tests (tests/CMakeLists.txt),
                        # the nginx deployment tests (tests/e2e/test_nginx.cpp), the npm OpenAPI validator
                        # (tests/openapi/validate.sh) and the report page in headless Chromium
                        # (tests/e2e/test_report_chromium.cpp) run in the release pass above

echo "== fuzz targets (libFuzzer, clang; at most 30 s each)"
FUZZ_SECONDS=30 bash scripts/fuzz.sh
