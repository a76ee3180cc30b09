#!/usr/bin/env bash
# Installs what building, running and testing need (Debian packages, npm
# packages), then configures and builds the given targets (all without any).
# Shared by ./run and ./test; safe to run again: it installs only what is
# missing and rebuilds only what changed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${PRESENCE_BUILD_DIR:-$root/build}

# One package a line, so that additions merge cleanly.
packages=(
  # the build: module, token tool, core
  build-essential
  cmake
  pkg-config
  git
  ca-certificates
  ccache
  libssl-dev
  nginx
  nginx-dev
  libsodium-dev
  nlohmann-json3-dev
  libhiredis-dev
  # tests, benchmarks and fuzzers
  libgtest-dev
  libgmock-dev
  googletest
  libbenchmark-dev
  librapidcheck-dev
  clang-14
  libclang-rt-14-dev
  redis-server
  chromium
  python3
  python3-pytest
  python3-websockets
  python3-jwt
  python3-cryptography
  python3-hypothesis
  lintian prometheus
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js may come from elsewhere than Debian (its npm then conflicts with
# Debian's): only a machine without node and npm gets Debian's.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's nginx package starts a default server on port 80 when installed on
# a machine with an init system; the product never needs it, so it is left as
# the operator configured it.

if [ -f "$root/package-lock.json" ]; then
  if [ ! -d "$root/node_modules" ] || [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
    (cd "$root" && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi

# Warnings are errors here (the option's default is off for users' builds);
# ccache, when the caller has not chosen a launcher, keeps rebuilds cheap.
launcher=()
if [ -z "${CMAKE_CXX_COMPILER_LAUNCHER:-}" ] && command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPRESENCE_WERROR=ON \
  "${launcher[@]}" >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$build" -j"$(nproc)" "${targets[@]}"
