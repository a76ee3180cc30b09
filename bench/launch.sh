#!/usr/bin/env bash
# The big-run procedure of BENCHMARKS.md: starts a private nginx (the built module, the example
# configuration with more workers and raised limits) on a loopback port, runs shopper-sim against
# it with nginx memory and CPU sampling and the admin probe, stops that nginx by its pid, and
# leaves the report, the progress log and nginx's logs in one folder.
#
#   bench/launch.sh --shoppers 100000 [--workers W] [--processes P] [--port PORT]
#                   [--out DIR] [-- any other shopper-sim option, e.g. --ramp 10000 --duration 60]
#
# What a big run needs from the machine (checked below; this script changes none of it):
# - open files: 20000 per process here (hard limit, cannot be raised), so nginx runs
#   W >= connections / 19000 workers (worker_rlimit_nofile 20000, worker_connections 19500)
#   and shopper-sim runs P >= connections / 19900 processes. Leave workers some room: with
#   `reuseport` the kernel hashes connections to workers however full they are, and a full one
#   resets what it cannot take (at 1,000,000 shoppers 53 workers reset 31,297; 60 none).
# - ephemeral ports: net.ipv4.ip_local_port_range gives ~28k ports per source address towards one
#   server port, and the kernel's search for a free one slows as they fill, so connections are
#   spread over 127.0.0.2, 127.0.0.3, ... (one address per 5,000).
# - net.core.somaxconn (4096 here) caps the listen backlog; the configuration asks for 4096 so
#   a ramp of 10,000 joins/s does not overflow the accept queue. fs.file-max must exceed the
#   sum of both sides' sockets (2.4M here).
# - memory: each joined shopper costs a few KB in nginx and about 1 KB in the simulator.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${PRESENCE_BUILD_DIR:-$root/build}
sim=$build/bench/shopper-sim
module=$build/module/ngx_http_presence_module.so

shoppers=10000
workers=
processes=
port=
out=
while [ $# -gt 0 ]; do
  case "$1" in
    --shoppers) shoppers=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --processes) processes=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "launch.sh: unknown option $1 (shopper-sim options go after --)" >&2; exit 2 ;;
  esac
done
[ -x "$sim" ] || { echo "launch.sh: $sim is not built" >&2; exit 2; }
[ -f "$module" ] || { echo "launch.sh: $module is not built" >&2; exit 2; }

# Connections per nginx worker and per simulator process, under the 20000 open-files limit.
per_worker=19000
per_process=19900
per_address=5000
# Tabs add up to 20% connections with the default --tabs-fraction; plan for it.
connections=$(( shoppers * 12 / 10 + 2 ))
[ -n "$workers" ] || workers=$(( (connections + per_worker - 1) / per_worker ))
[ -n "$processes" ] || processes=$(( (connections + per_process - 1) / per_process ))
[ "$workers" -ge 1 ] || workers=1
addresses=$(( (connections + per_address - 1) / per_address ))
last_address=$(( 1 + addresses ))
[ "$last_address" -le 254 ] || { echo "launch.sh: too many connections" >&2; exit 2; }

echo "== machine"
echo "cores $(nproc), memory $(free -m | awk '/Mem:/ {print $2}') MB, $(uname -r)"
echo "open files hard limit $(ulimit -Hn); somaxconn $(cat /proc/sys/net/core/somaxconn);" \
  "ports $(tr '\t' - < /proc/sys/net/ipv4/ip_local_port_range); file-max $(cat /proc/sys/fs/file-max)"
if [ "$(cat /proc/sys/net/core/somaxconn)" -lt 4096 ]; then
  echo "note: net.core.somaxconn < 4096 caps the listen backlog; ramps above ~5k/s may see SYN retries"
fi

[ -n "$port" ] || port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
metrics_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
[ -n "$out" ] || out=$(mktemp -d /tmp/presence-launch.XXXXXX)
mkdir -p "$out/.run/logs" "$out/.run/tmp" "$out/.run/keys"
ln -sfn "$build" "$out/build"
ln -sfn "$root/dashboard" "$out/dashboard"
openssl rand -base64 48 > "$out/.run/keys/shopper-hs256.key"
openssl rand -base64 48 > "$out/.run/keys/demo-hs256.key"
openssl genpkey -algorithm ed25519 -out "$out/.run/keys/admin-ed25519.pem" 2>/dev/null
: > "$out/.run/htpasswd"

# The example configuration with the benchmark's overrides: enough workers, raised limits, a
# larger zone, a deep accept queue spread over the workers (reuseport) and drained in one go
# (multi_accept: without it a worker busy with updates accepts one connection per event loop
# turn), no access log.
sed -e "s/^worker_processes .*;/worker_processes $workers;/" \
    -e "s/^worker_rlimit_nofile .*;/worker_rlimit_nofile 20000;/" \
    -e "s/worker_connections .*;/worker_connections 19500;\n    multi_accept on;/" \
    -e "s/presence_zone presence:[^ ]* /presence_zone presence:512m /" \
    -e "s/access_log .*;/access_log off;/" \
    -e "s/listen 127.0.0.1:8080;/listen 127.0.0.1:$port reuseport backlog=4096;/" \
    -e "s/listen 127.0.0.1:9145;/listen 127.0.0.1:$metrics_port;/" \
    "$root/nginx.conf.example" > "$out/nginx.conf"
grep -q "listen 127.0.0.1:$port reuseport" "$out/nginx.conf" ||
  { echo "launch.sh: could not set the port in nginx.conf" >&2; exit 2; }

nginx=(/usr/sbin/nginx -p "$out/" -c "$out/nginx.conf")
"${nginx[@]}" -t -q
"${nginx[@]}" -g 'daemon off;' 2> "$out/.run/logs/nginx.stderr" &
nginx_pid=$!
stop_nginx() {
  if kill -0 "$nginx_pid" 2>/dev/null; then
    kill -QUIT "$nginx_pid"
    for _ in $(seq 100); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$nginx_pid" 2>/dev/null && kill -TERM "$nginx_pid"
    wait "$nginx_pid" 2>/dev/null || true
  fi
}
trap stop_nginx EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

echo "== nginx pid $nginx_pid, $workers workers, port $port; shopper-sim $processes processes," \
  "sources 127.0.0.2-127.0.0.$last_address"
command=("$sim" --url "ws://127.0.0.1:$port/socket/websocket"
  --key "$out/.run/keys/shopper-hs256.key" --alg hs256 --kid shop-1
  --admin-key "$out/.run/keys/admin-ed25519.pem" --admin-alg eddsa --admin-kid admin-1
  --nginx-pid "$nginx_pid" --metrics-url "http://127.0.0.1:$metrics_port/metrics"
  --shoppers "$shoppers" --processes "$processes" --source-ips "127.0.0.2-127.0.0.$last_address"
  --report "$out/report.json" "$@")
echo "${command[*]}" > "$out/command.txt"
status=0
"${command[@]}" 2> >(tee "$out/progress.log" >&2) || status=$?
stop_nginx
echo "== report: $out/report.json (progress: $out/progress.log, nginx logs: $out/.run/logs)"
exit "$status"
