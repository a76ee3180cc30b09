#!/bin/sh
# Builds the libFuzzer targets (the CMake targets of tests/fuzz/*_fuzz.cpp, ASan +
# UBSan, against the core libraries they link) with clang in a build folder of
# their own, then runs each for the given seconds on a copy of
# tests/fuzz/corpus/<target>/.
# Usage: tests/fuzz/run.sh [seconds-per-target, default 20]
# Build dir: $FUZZ_BUILD_DIR (default /tmp/presence-fuzz-build); compiler: $FUZZ_CXX
# (default clang++-14). Exits non-zero if the targets fail to build or one finds a
# crash; the crashing input is left in <build>/artifacts/<target>/.
set -eu

seconds=${1:-20}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-/tmp/presence-fuzz-build}
cxx=${FUZZ_CXX:-clang++-14}
cc=${FUZZ_CC:-$(echo "$cxx" | sed 's/clang++/clang/')}

mkdir -p "$build/corpus" "$build/artifacts" "$build/logs"

# -O1 as libFuzzer recommends, with assertions kept.
if ! cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
    -DCMAKE_C_FLAGS_DEBUG="-O1 -g" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_COMPILER="$cc" \
    -DPRESENCE_FUZZ=ON -DPRESENCE_TESTS=OFF -DPRESENCE_BENCH=OFF -DPRESENCE_DASHBOARD=OFF \
    >"$build/logs/configure.log" 2>&1 || [ ! -f "$build/fuzz/targets.txt" ]; then
  echo "fuzz: CONFIGURE FAILED, or PRESENCE_FUZZ is off (see $build/logs/configure.log)"
  exit 1
fi
if ! cmake --build "$build" -j"$(nproc)" --target fuzzers >"$build/logs/build.log" 2>&1; then
  echo "fuzz: BUILD FAILED (see $build/logs/build.log)"
  exit 1
fi

status=0
for target in $(cat "$build/fuzz/targets.txt"); do
  bin="$build/fuzz/$target"
  log="$build/logs/$target.log"
  corpus="$build/corpus/$target"
  rm -rf "$corpus"
  mkdir -p "$corpus" "$build/artifacts/$target"
  if [ -d "$root/tests/fuzz/corpus/$target" ]; then
    cp "$root/tests/fuzz/corpus/$target"/* "$corpus"/ 2>/dev/null || true
  fi
  if "$bin" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$target/" "$corpus" >"$log" 2>&1; then
    runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
    cov=$(grep -E 'DONE|INITED' "$log" | tail -n 1 | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    echo "$target: ok, ${runs:-?} runs in ${seconds}s, coverage ${cov:-?} edges"
  else
    echo "$target: CRASH (see $log and $build/artifacts/$target/)"
    status=1
  fi
done
exit $status
