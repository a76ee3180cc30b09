#!/bin/sh
# Builds every tests/fuzz/*_fuzz.cpp as a libFuzzer target (ASan + UBSan) against all of
# core/src, then runs each for the given seconds on a copy of tests/fuzz/corpus/<target>/.
# Usage: tests/fuzz/run.sh [seconds-per-target, default 20]
# Build dir: $FUZZ_BUILD_DIR (default /tmp/presence-fuzz-build). Exits non-zero if any target
# fails to build or finds a crash; the crashing input is left in <build>/artifacts/<target>/.
set -eu

seconds=${1:-20}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-/tmp/presence-fuzz-build}
cxx=clang++-14
sanitize="address,undefined"
common="-std=c++20 -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=all -I$root/core/include"

mkdir -p "$build/obj" "$build/bin" "$build/corpus" "$build/artifacts" "$build/logs"

# A core object is rebuilt when its source or any core header is newer than it.
newest_header=$(ls -t "$root"/core/include/presence/*.hpp "$root"/core/src/*.hpp 2>/dev/null | head -n 1)
objects=""
for src in "$root"/core/src/*.cpp; do
  obj="$build/obj/$(basename "$src" .cpp).o"
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || { [ -n "$newest_header" ] && [ "$newest_header" -nt "$obj" ]; }; then
    if ! $cxx $common -fsanitize=fuzzer-no-link,$sanitize -c "$src" -o "$obj"; then
      echo "core: BUILD FAILED ($src)"
      exit 1
    fi
  fi
  objects="$objects $obj"
done

status=0
for target_src in "$root"/tests/fuzz/*_fuzz.cpp; do
  target=$(basename "$target_src" .cpp)
  bin="$build/bin/$target"
  log="$build/logs/$target.log"
  # shellcheck disable=SC2086 # $objects is a list of paths without spaces
  if ! $cxx $common -fsanitize=fuzzer,$sanitize "$target_src" $objects -lsodium -o "$bin" \
      >"$log" 2>&1; then
    echo "$target: BUILD FAILED (see $log)"
    status=1
    continue
  fi
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
