#!/usr/bin/env bash
# Configures an nginx source tree (Debian's, from package nginx-dev, by default)
# with the exact flags that nginx was built with (its conf_flags), so the
# module's signature matches.
# Usage: configure-nginx.sh <module-dir> <out-dir> [nginx-src-dir, default /usr/share/nginx/src]
set -euo pipefail
module_dir=$1
out_dir=$2
src=${3:-/usr/share/nginx/src}

if [ ! -f "$src/conf_flags" ]; then
  echo "configure-nginx.sh: $src/conf_flags not found: install nginx-dev" >&2
  exit 1
fi
# shellcheck disable=SC1091
source "$src/conf_flags"

# configure writes a Makefile into its working directory: run it on a copy so
# the system tree stays untouched.
rm -rf "$out_dir/nginx-src"
mkdir -p "$out_dir/nginx-src"
cp -r "$src/auto" "$src/src" "$src/configure" "$out_dir/nginx-src/"
cd "$out_dir/nginx-src"
./configure "${NGX_CONF_FLAGS[@]}" --add-dynamic-module="$module_dir" \
  --builddir="$out_dir/objs" > "$out_dir/configure.log" 2>&1 || {
  tail -20 "$out_dir/configure.log" >&2
  exit 1
}
test -f "$out_dir/objs/ngx_auto_config.h"
test -f "$out_dir/objs/ngx_http_presence_module_modules.c"
