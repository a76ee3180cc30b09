#!/usr/bin/env bash
# Installs the .deb next to Debian's nginx the way an operator would
# (`apt-get install ./libnginx-mod-http-presence_*.deb`), smoke-tests it, and
# purges it again. It changes the machine (packages, /etc/nginx/modules-enabled),
# so it is not part of ./test; run it as root on a machine with Debian's nginx
# and the build folder built. Its output of a run is kept in docs/install-smoke.txt.
#
# Usage: tools/install-smoke.sh [package.deb]   (default: cpack from the build folder)
#
# Checked: apt resolves the nginx ABI dependency against the installed nginx;
# postinst enables the module with the link Debian's module packages use;
# Debian's own /etc/nginx/nginx.conf passes `nginx -t` with it loaded; the
# packaged example configuration, on a scratch loopback port, accepts a
# shopper's WebSocket handshake and join (counted in /metrics); remove parks
# the link, reinstall restores it, purge leaves the machine as it was.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${PRESENCE_BUILD_DIR:-$root/build}
package=libnginx-mod-http-presence
available=/usr/share/nginx/modules-available/mod-http-presence.conf
enabled=/etc/nginx/modules-enabled/50-mod-http-presence.conf

scratch=$(mktemp -d /tmp/presence-install-smoke.XXXXXX)
chmod 755 "$scratch"  # apt's _apt user reads the .deb; nginx workers read the root
nginx_pid=
cleanup() {
  if [ -n "$nginx_pid" ]; then kill "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
fail() { echo "install-smoke: FAILED: $*" >&2; exit 1; }

if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
  fail "$package is already installed; this script installs and purges it, so it stops here"
fi
before=$(ls -A /etc/nginx/modules-enabled/)

deb=${1:-}
if [ -z "$deb" ]; then
  step "cpack from $build"
  cpack --config "$build/CPackConfig.cmake" -G DEB -B "$scratch/package" | tail -n 1
  deb=$(ls "$scratch"/package/*.deb)
else
  cp "$deb" "$scratch/" && deb=$scratch/$(basename "$deb")
fi
echo "package: $(basename "$deb")"
dpkg-deb -f "$deb" Package Version Depends
echo "installed nginx: $(dpkg-query -W -f='${Version} (Provides: ${Provides})' nginx)"

step "apt-get install ./$(basename "$deb")"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$deb" 2>&1 | grep -E "^(Setting up|Unpacking|Selecting|E:)" || true
dpkg-query -W -f='${Package} ${Version} ${Status}\n' "$package"
[ -L "$enabled" ] || fail "postinst did not create $enabled"
echo "$enabled -> $(readlink "$enabled")"
[ "$(readlink "$enabled")" = "$available" ] || fail "$enabled points elsewhere"
cat "$available"

step "nginx -t with Debian's /etc/nginx/nginx.conf (loads the module through modules-enabled)"
nginx -t 2>&1

step "smoke test: the packaged example on a scratch loopback port"
mkdir -p "$scratch/keys" "$scratch/logs" "$scratch/tmp"
presence-token genkey --alg hs256 --out "$scratch/keys/shopper-hs256.key"
presence-token genkey --alg eddsa --out "$scratch/keys/admin-ed25519.pem" --pub "$scratch/keys/admin-ed25519.pub.pem"
echo 'admin:{PLAIN}unused' > "$scratch/keys/htpasswd"
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
metrics_port=$(free_port)
sed -e "s|listen 127.0.0.1:9145;|listen 127.0.0.1:$metrics_port;|" -e "s|/etc/nginx/presence/|$scratch/keys/|g" -e "s|/var/log/nginx/|$scratch/logs/|g" -e "s|listen 127.0.0.1:8080;|listen 127.0.0.1:$port;|" \
  "/usr/share/doc/$package/examples/presence.conf" > "$scratch/presence.conf"
cat > "$scratch/nginx.conf" <<EOF
include /etc/nginx/modules-enabled/*.conf;
pid $scratch/nginx.pid;
error_log $scratch/logs/error.log info;
worker_processes 2;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    access_log $scratch/logs/access.log;
    client_body_temp_path $scratch/tmp/body;
    proxy_temp_path $scratch/tmp/proxy;
    fastcgi_temp_path $scratch/tmp/fastcgi;
    uwsgi_temp_path $scratch/tmp/uwsgi;
    scgi_temp_path $scratch/tmp/scgi;
    include $scratch/presence.conf;
}
EOF
nginx -t -c "$scratch/nginx.conf" 2>&1
nginx -c "$scratch/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
token=$(presence-token --key "$scratch/keys/shopper-hs256.key" --alg hs256 --kid shop-1 \
  --sub smoke-1 --role shopper --ttl 60)
PYTHONPATH=$root/tests/integration /usr/bin/python3 - "$port" "$metrics_port" "$token" <<'EOF'
import sys, time, urllib.request
from helpers import PhoenixClient, SHOPPER_PATH, socket_path
from wsclient import WsConnection

port, metrics_port, token = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
for _ in range(100):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=1).read()
        break
    except OSError:
        time.sleep(0.1)
ws = WsConnection.open(port, socket_path(SHOPPER_PATH, token))
print("handshake: 101 Switching Protocols on /socket/websocket")
client = PhoenixClient(ws)
status, response, _ = client.join("cart:smoke-1", {"page": "/launch", "items": []})
print(f"join cart:smoke-1: {status}")
assert status == "ok", response
metrics = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
shoppers = [line for line in metrics.splitlines() if line.startswith("presence_shoppers ")]
print("metrics:", shoppers[0])
assert shoppers == ["presence_shoppers 1"], shoppers
client.close()
EOF
kill "$nginx_pid"; wait "$nginx_pid" 2>/dev/null || true; nginx_pid=
grep -E '\[(emerg|alert|crit)\]|exited on signal' "$scratch/logs/error.log" && fail "errors in nginx's log"

step "apt-get remove: prerm parks the link as .removed"
DEBIAN_FRONTEND=noninteractive apt-get remove -y -q "$package" 2>&1 | grep -E "^(Removing|E:)" || true
if [ -e "$enabled" ] || [ ! -L "$enabled.removed" ]; then fail "remove did not park the link"; fi
echo "$enabled.removed -> $(readlink "$enabled.removed")"
nginx -t 2>&1

step "apt-get install again: the parked link comes back"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$deb" 2>&1 | grep -E "^(Setting up|E:)" || true
if [ ! -L "$enabled" ] || [ -e "$enabled.removed" ]; then fail "reinstall did not restore the link"; fi
echo "$enabled -> $(readlink "$enabled")"

step "apt-get purge: the machine as it was"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "$package" 2>&1 | grep -E "^(Removing|Purging|E:)" || true
dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null || echo "$package: not known to dpkg"
[ "$(ls -A /etc/nginx/modules-enabled/)" = "$before" ] || fail "/etc/nginx/modules-enabled differs from before"
[ ! -e /usr/lib/nginx/modules/ngx_http_presence_module.so ] || fail "the module is still installed"
echo "/etc/nginx/modules-enabled as before; no module file left"
nginx -t 2>&1
echo
echo "install-smoke: ok"
