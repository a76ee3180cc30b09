#!/usr/bin/env bash
# `cmake --build build --target nginx-config-test`: proves that Debian's
# /usr/sbin/nginx loads the built module (signature check) and accepts every
# directive of nginx.conf.example, in a throwaway prefix with fresh keys.
# Usage: nginx-config-test.sh <module.so> <presence-token>
set -euo pipefail
module=$1
token_tool=$2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prefix=$(mktemp -d /tmp/presence-conftest.XXXXXX)
trap 'rm -rf "$prefix"' EXIT

mkdir -p "$prefix/.run/logs" "$prefix/.run/tmp" "$prefix/.run/keys" "$prefix/build/module"
ln -s "$module" "$prefix/build/module/ngx_http_presence_module.so"
"$token_tool" genkey --alg hs256 --out "$prefix/.run/keys/shopper-hs256.key"
"$token_tool" genkey --alg hs256 --out "$prefix/.run/keys/demo-hs256.key"
"$token_tool" genkey --alg eddsa --out "$prefix/.run/keys/admin-ed25519.pem" \
  --pub "$prefix/.run/keys/admin-ed25519.pub.pem"
echo 'admin:{PLAIN}unused' > "$prefix/.run/htpasswd"
cp "$root/nginx.conf.example" "$prefix/nginx.conf"
/usr/sbin/nginx -t -p "$prefix/" -c "$prefix/nginx.conf"
