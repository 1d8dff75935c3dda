#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, ASan + UBSan; tests/fuzz) in build-fuzz and runs each
# for at most FUZZ_SECONDS seconds (default 30) from a seed corpus written by the real encoders.
# A crash fails the script and leaves the input in build-fuzz/crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
JOBS="${JOBS:-$(nproc)}"
SECONDS_EACH="${FUZZ_SECONDS:-30}"

cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-14 \
  -DCMAKE_CXX_COMPILER=clang++-14 -DHEARTH_FUZZ=ON -DHEARTH_BUILD_TESTS=OFF -DHEARTH_BUILD_BENCH=OFF >/dev/null
ninja -C build-fuzz -j"$JOBS" fuzz_op_decoder fuzz_protocol fuzz_seeds

corpus=build-fuzz/corpus
rm -rf build-fuzz/crashes
mkdir -p "$corpus/op_decoder" "$corpus/protocol" build-fuzz/crashes
build-fuzz/tests/fuzz/fuzz_seeds "$corpus"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for target in op_decoder protocol; do
  echo "== fuzz_$target for at most ${SECONDS_EACH}s"
  # -max_len: bodies up to 64 KiB reach the size limits of the tight-limit mode; -rss_limit_mb
  # keeps a runaway allocation a finding rather than an exhausted machine.
  build-fuzz/tests/fuzz/fuzz_$target -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=1024 \
    -artifact_prefix=build-fuzz/crashes/$target- -print_final_stats=1 "$corpus/$target" 2>&1 |
    grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|==|SUMMARY|Done)|ERROR" || true
  # libFuzzer exits non-zero on a crash; the pipe above hides it, so look for artifacts instead
  if compgen -G "build-fuzz/crashes/$target-*" >/dev/null; then
    echo "fuzz_$target found a crash: see build-fuzz/crashes/" >&2
    exit 1
  fi
done
