#!/usr/bin/env bash
# Builds the module the way every third-party nginx module is built: nginx's
# configure with the flags the installed nginx was built with (conf_flags of
# the source tree, Debian's nginx-dev by default) plus
# --add-dynamic-module=<repo>/module, then `make modules`, all in a scratch
# folder; then nginx -t loads the result with nginx.conf.example.
# Usage: nginx-module-build-test.sh <presence-token> [scratch-dir] [nginx-src-dir]
set -euo pipefail
token_tool=$(realpath "$1")
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scratch=${2:-$(mktemp -d /tmp/presence-nginx-build.XXXXXX)}
src=${3:-/usr/share/nginx/src}

# shellcheck disable=SC1091
source "$src/conf_flags"

# configure writes a Makefile into the tree it runs in: use a copy.
rm -rf "$scratch/nginx-src" "$scratch/objs"
mkdir -p "$scratch/nginx-src"
cp -r "$src/auto" "$src/src" "$src/configure" "$scratch/nginx-src/"
cd "$scratch/nginx-src"
if ! ./configure "${NGX_CONF_FLAGS[@]}" --add-dynamic-module="$root/module" \
    --builddir="$scratch/objs" > "$scratch/configure.log" 2>&1; then
  tail -n 20 "$scratch/configure.log"
  exit 1
fi
# CC as configured (cc), through ccache when there is one.
cc_launcher=()
if command -v ccache >/dev/null 2>&1; then cc_launcher=(CC="ccache cc"); fi
make -j"$(nproc)" -f "$scratch/objs/Makefile" "${cc_launcher[@]}" modules > "$scratch/make.log" 2>&1 || {
  tail -n 40 "$scratch/make.log"
  exit 1
}
"$root/tools/nginx-config-test.sh" "$scratch/objs/ngx_http_presence_module.so" "$token_tool"
