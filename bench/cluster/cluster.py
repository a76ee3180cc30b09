#!/usr/bin/python3
"""The cluster benchmarks of BENCHMARKS.md: a private redis-server (loopback, persistence off) and
N nginx nodes (the built module, the example configuration, own prefixes, ports, zones and node
names, the cluster directives), shopper-sim spreading shoppers over them, and one measurement.
Everything started here is stopped by its pid at the end, on an error, on Ctrl-C and when
--timeout passes. The result is one JSON report (stdout and OUT/report.json).

  bench/cluster/cluster.py [common options] latency   [-- shopper-sim options]
  bench/cluster/cluster.py [common options] kill-node  --shoppers 3000
  bench/cluster/cluster.py [common options] kill-owner --shoppers 3000
  bench/cluster/cluster.py [common options] catch-up   --shoppers 200000

latency:    shoppers on every node (round robin), the probe shopper on the first node and the
            admin on the last: the simulator's admin stats latency is the cross-node latency.
kill-node:  SIGKILL of the second node's master and workers; time until every other node's
            /metrics stops counting its shoppers (presence_shoppers, presence_nodes).
kill-owner: SIGKILL of the worker of the second node holding the Redis link (found by its
            sockets); time until another worker of it holds a Redis connection and its channel
            is subscribed again (PUBSUB NUMSUB), then every node's count compared.
catch-up:   shoppers join the first node alone (the others but the last); once its count
            settles, the last node starts; time from its start until its /metrics counts as many.
Redis memory and CPU (INFO) and each nginx's CPU (/proc) are sampled every second throughout.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CLUSTER = "bench"
# Polling periods of the measurements: far below the figures they measure.
POLL_S = 0.01
SAMPLE_S = 1.0


def log(*parts):
    print("cluster:", *parts, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, deadline):
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Redis:
    """A minimal RESP client for INFO, PUBSUB and CLIENT (one connection, blocking, loopback)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""
        self.raw = False  # bulk replies as bytes (a subscriber's binary messages)

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        return self._reply()

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError("redis: " + rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self._exact(n)
            return data if self.raw else data.decode(errors="replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RuntimeError("redis: unexpected reply " + repr(line[:40]))

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self._reply()

    def info(self, section):
        fields = {}
        for line in self.call("INFO", section).splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                fields[k] = v
        return fields


def proc_cpu_s(pid):
    """User + system CPU seconds of one process (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return out


def load_average():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


class Node:
    def __init__(self, name, out, build, redis_port, secret, workers, zone, cluster_args, clustered,
                 log_level):
        self.name = name
        self.prefix = os.path.join(out, name)
        self.port = free_port()
        self.metrics_port = free_port()
        self.proc = None
        self.started_at = None
        os.makedirs(os.path.join(self.prefix, ".run/logs"), exist_ok=True)
        os.makedirs(os.path.join(self.prefix, ".run/tmp"), exist_ok=True)
        os.symlink(build, os.path.join(self.prefix, "build"))
        os.symlink(os.path.join(out, "keys"), os.path.join(self.prefix, ".run/keys"))
        open(os.path.join(self.prefix, ".run/htpasswd"), "w").close()
        with open(os.path.join(ROOT, "nginx.conf.example")) as f:
            conf = f.read()
        cluster = ""
        if clustered:
            cluster = (f"    presence_cluster {CLUSTER} secret={secret};\n"
                       f"    presence_redis 127.0.0.1:{redis_port};\n")
            for directive, value in cluster_args:
                cluster += f"    {directive} {value};\n"
        subs = [
            (r"(?m)^worker_processes .*;", f"worker_processes {workers};"),
            (r"(?m)^worker_rlimit_nofile .*;", "worker_rlimit_nofile 20000;"),
            (r"worker_connections .*;", "worker_connections 19500;\n    multi_accept on;"),
            (r"presence_zone presence:\S+ node=\S+;",
             f"presence_zone presence:{zone} node={name};\n{cluster}"),
            (r"error_log \S+ \w+;", f"error_log .run/logs/error.log {log_level};"),
            (r"access_log .*;", "access_log off;"),
            (r"listen 127\.0\.0\.1:8080;", f"listen 127.0.0.1:{self.port} reuseport backlog=4096;"),
            (r"listen 127\.0\.0\.1:9145;", f"listen 127.0.0.1:{self.metrics_port};"),
        ]
        for pattern, replacement in subs:
            conf, n = re.subn(pattern, replacement.replace("\\", "\\\\"), conf, count=1)
            if n != 1:
                raise RuntimeError(f"nginx.conf.example: no match for {pattern}")
        self.conf = os.path.join(self.prefix, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)

    def command(self):
        return ["/usr/sbin/nginx", "-p", self.prefix + "/", "-c", self.conf]

    def check(self):
        r = subprocess.run(self.command() + ["-t", "-q"], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{self.name}: nginx -t failed: {r.stderr.strip()}")

    def start(self):
        self.check()
        stderr = open(os.path.join(self.prefix, ".run/logs/nginx.stderr"), "ab")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(self.command() + ["-g", "daemon off;"], stderr=stderr)
        if not wait_port(self.port, time.monotonic() + 10):
            raise RuntimeError(f"{self.name}: nginx did not listen on {self.port}")

    def pids(self):
        if not self.proc or self.proc.poll() is not None:
            return []
        return [self.proc.pid] + children(self.proc.pid)

    def cpu_s(self):
        return sum(proc_cpu_s(p) for p in self.pids())

    def stop(self):
        if not self.proc or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            for p in self.pids():
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.wait(timeout=10)

    def kill(self):
        """SIGKILL of the master and every worker at once (a machine dying)."""
        pids = self.pids()
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=10)
        # A worker whose master died is reparented; it is dead already, but reap-wait anyway.
        return pids

    def metrics(self):
        try:
            with socket.create_connection(("127.0.0.1", self.metrics_port), timeout=2) as s:
                s.sendall(b"GET /metrics HTTP/1.0\r\nHost: metrics\r\n\r\n")
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
        except OSError:
            return {}
        values = {}
        for line in data.decode(errors="replace").split("\r\n\r\n", 1)[-1].splitlines():
            if line and not line.startswith("#"):
                parts = line.rsplit(" ", 1)
                if len(parts) == 2:
                    try:
                        values[parts[0]] = float(parts[1])
                    except ValueError:
                        pass
        return values


class Cluster:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(os.environ.get("PRESENCE_BUILD_DIR", os.path.join(ROOT, "build")))
        self.sim = os.path.join(self.build, "bench/shopper-sim")
        module = os.path.join(self.build, "module/ngx_http_presence_module.so")
        for path in (self.sim, module, args.redis_server):
            if not os.path.exists(path):
                raise RuntimeError(f"{path} is missing (build it first)")
        self.out = os.path.abspath(args.out or tempfile.mkdtemp(prefix="presence-cluster."))
        os.makedirs(self.out, exist_ok=True)
        self.redis_port = free_port()
        self.redis_proc = None
        self.redis = None
        self.sim_proc = None
        self.samples = []
        self.last_sample = 0.0
        keys = os.path.join(self.out, "keys")
        os.makedirs(keys, exist_ok=True)
        for name in ("shopper-hs256.key", "demo-hs256.key"):
            with open(os.path.join(keys, name), "w") as f:
                f.write(os.urandom(48).hex() + "\n")
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out",
                        os.path.join(keys, "admin-ed25519.pem")], check=True, capture_output=True)
        self.secret = os.path.join(keys, "cluster.secret")
        with open(self.secret, "w") as f:
            f.write(os.urandom(32).hex() + "\n")
        os.chmod(self.secret, 0o600)
        cluster_args = [(f"presence_cluster_{k}", v) for k, v in
                        (("batch", args.batch), ("heartbeat", args.heartbeat), ("down", args.down))
                        if v]
        self.nodes = [Node(f"store-{chr(ord('a') + i)}", self.out, self.build, self.redis_port,
                           self.secret, args.workers[i] if i < len(args.workers) else args.workers[-1],
                           args.zone, cluster_args, not args.no_cluster, args.log_level)
                      for i in range(args.nodes)]

    def start_redis(self):
        log_path = os.path.join(self.out, "redis.log")
        self.redis_proc = subprocess.Popen(
            [self.args.redis_server, "--port", str(self.redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self.out, "--logfile", log_path,
             "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_port(self.redis_port, time.monotonic() + 10):
            raise RuntimeError("redis-server did not listen")
        self.redis = Redis(self.redis_port)
        with open(os.path.join(self.out, "redis.port"), "w") as f:
            f.write(f"{self.redis_port}\n")  # for tools watching the bus during a run

    def start(self, nodes=None):
        if self.redis_proc is None:
            self.start_redis()
        for node in nodes if nodes is not None else self.nodes:
            node.start()
            log(f"{node.name}: pid {node.proc.pid}, port {node.port}, metrics {node.metrics_port}")

    def sample(self, force=False):
        now = time.monotonic()
        if not force and now - self.last_sample < SAMPLE_S:
            return
        self.last_sample = now
        s = {"t": round(now, 3), "load": load_average(),
             "nginx_cpu_s": {n.name: round(n.cpu_s(), 3) for n in self.nodes}}
        try:
            mem = self.redis.info("memory")
            cpu = self.redis.info("cpu")
            stats = self.redis.info("stats")
            clients = self.redis.info("clients")
            s["redis"] = {
                "used_memory": int(mem["used_memory"]),
                "used_memory_rss": int(mem["used_memory_rss"]),
                "used_memory_peak": int(mem["used_memory_peak"]),
                "cpu_s": float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"]),
                "net_input_bytes": int(stats["total_net_input_bytes"]),
                "net_output_bytes": int(stats["total_net_output_bytes"]),
                "ops_per_sec": int(stats["instantaneous_ops_per_sec"]),
                "clients": int(clients["connected_clients"]),
                "max_output_buffer": int(clients.get("client_recent_max_output_buffer", 0)),
            }
            # Subscribers falling behind: Redis's output buffer for them, and what waits
            # unread in the nginx side's socket.
            omem = [int(m) for m in re.findall(r" sub=[1-9]\d* .*?omem=(\d+)", self.redis.call("CLIENT", "LIST"))]
            s["redis"]["subscriber_omem_max"] = max(omem, default=0)
            s["redis"]["nginx_unread_max"] = self.unread_by_nginx()
        except (OSError, RuntimeError, KeyError, ValueError) as e:
            s["redis_error"] = str(e)
        self.samples.append(s)

    def unread_by_nginx(self):
        r = subprocess.run(["ss", "-tnH", "state", "established", "dst", f"127.0.0.1:{self.redis_port}"],
                           capture_output=True, text=True)
        queues = [int(line.split()[0]) for line in r.stdout.splitlines() if line.split()]
        return max(queues, default=0)

    def sim_command(self, urls, shoppers, extra, admin_node=None):
        keys = os.path.join(self.out, "keys")
        addresses = max(1, (shoppers + 4999) // 5000)
        cmd = [self.sim]
        for u in urls:
            cmd += ["--url", u]
        cmd += ["--key", os.path.join(keys, "shopper-hs256.key"), "--alg", "hs256", "--kid", "shop-1",
                "--shoppers", str(shoppers), "--processes", str(max(1, (shoppers * 12 // 10) // 19900 + 1)),
                "--source-ips", f"127.0.0.2-127.0.0.{1 + addresses}",
                "--report", os.path.join(self.out, "sim-report.json")]
        if admin_node is not None:
            cmd += ["--admin-key", os.path.join(keys, "admin-ed25519.pem"), "--admin-alg", "eddsa",
                    "--admin-kid", "admin-1",
                    "--admin-url", f"ws://127.0.0.1:{admin_node.port}/admin_socket/websocket"]
        return cmd + list(extra)

    def run_sim(self, cmd, background):
        with open(os.path.join(self.out, "sim-command.txt"), "a") as f:
            f.write(" ".join(cmd) + "\n")
        progress = open(os.path.join(self.out, "sim-progress.log"), "ab")
        self.sim_proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=progress)
        if background:
            return None
        while self.sim_proc.poll() is None:
            self.sample()
            time.sleep(0.2)
        return self.sim_proc.returncode

    def stop_sim(self):
        if self.sim_proc and self.sim_proc.poll() is None:
            self.sim_proc.send_signal(signal.SIGTERM)  # drains and writes its report
            try:
                self.sim_proc.wait(timeout=70)
            except subprocess.TimeoutExpired:
                self.sim_proc.kill()
                self.sim_proc.wait()

    def stop(self):
        self.stop_sim()
        for node in self.nodes:
            try:
                node.stop()
            except Exception as e:  # keep stopping the others
                log(f"{node.name}: stop failed: {e}")
        if self.redis:
            self.redis.close()
        if self.redis_proc and self.redis_proc.poll() is None:
            self.redis_proc.terminate()
            try:
                self.redis_proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.redis_proc.kill()
                self.redis_proc.wait()

    def wait_for(self, what, predicate, timeout_s):
        """Polls predicate() every POLL_S; returns seconds until true, or None at the timeout."""
        start = time.monotonic()
        while time.monotonic() - start < timeout_s:
            if predicate():
                return time.monotonic() - start
            self.sample()
            time.sleep(POLL_S)
        log(f"timed out waiting for {what}")
        return None

    def shoppers_seen(self, node):
        return int(node.metrics().get("presence_shoppers", -1))

    def all_see(self, nodes, count):
        return all(self.shoppers_seen(n) == count for n in nodes)

    def summary(self):
        out = {"samples": len(self.samples)}
        redis = [s["redis"] for s in self.samples if "redis" in s]
        if len(redis) >= 2:
            span = self.samples[-1]["t"] - self.samples[0]["t"]
            out["redis"] = {
                "used_memory_max": max(r["used_memory"] for r in redis),
                "used_memory_rss_max": max(r["used_memory_rss"] for r in redis),
                "used_memory_peak": redis[-1]["used_memory_peak"],
                "cpu_s": round(redis[-1]["cpu_s"] - redis[0]["cpu_s"], 3),
                "cpu_share_of_one_core": round((redis[-1]["cpu_s"] - redis[0]["cpu_s"]) / span, 4)
                if span > 0 else None,
                "net_input_bytes": redis[-1]["net_input_bytes"] - redis[0]["net_input_bytes"],
                "net_output_bytes": redis[-1]["net_output_bytes"] - redis[0]["net_output_bytes"],
                "ops_per_sec_max": max(r["ops_per_sec"] for r in redis),
                "max_output_buffer": max(r["max_output_buffer"] for r in redis),
                "subscriber_omem_max": max(r.get("subscriber_omem_max", 0) for r in redis),
                "nginx_unread_max": max(r.get("nginx_unread_max", 0) for r in redis),
                "span_s": round(span, 3),
            }
            # The largest reading: a node killed or started during the run reads 0 while down.
            out["nginx_cpu_s"] = {
                n.name: round(max(s["nginx_cpu_s"][n.name] for s in self.samples)
                              - self.samples[0]["nginx_cpu_s"][n.name], 3)
                for n in self.nodes}
        loads = [s["load"][0] for s in self.samples]
        if loads:
            out["load_1m"] = {"min": min(loads), "max": max(loads)}
        return out


def cluster_metrics(node):
    return {k: v for k, v in node.metrics().items()
            if "cluster" in k or k.startswith(("presence_shoppers", "presence_nodes", "presence_metas"))}


def expected_on(index, nodes, shoppers):
    """Shoppers the simulator put on node `index` (round robin by shopper number)."""
    return len(range(index, shoppers, nodes))


def measure_latency(c, args, extra):
    c.start()
    c.sample(force=True)
    urls = [f"ws://127.0.0.1:{n.port}/socket/websocket" for n in c.nodes]
    cmd = c.sim_command(urls, args.shoppers, extra, admin_node=c.nodes[-1])
    status = c.run_sim(cmd, background=False)
    c.sample(force=True)
    report = {}
    path = os.path.join(c.out, "sim-report.json")
    if os.path.exists(path):
        with open(path) as f:
            report = json.load(f)
    return {"sim_exit": status, "sim_command": " ".join(cmd), "sim_report": path,
            "admin": report.get("admin"), "updates": report.get("updates"),
            "connections": report.get("connections"),
            "cluster_metrics": {n.name: cluster_metrics(n) for n in c.nodes}}


def load_shoppers(c, args, urls, total_seen_by):
    extra = ["--ramp", str(args.ramp), "--duration", str(args.hold), "--drain", "5",
             "--update-rate", str(args.update_rate), "--tabs-fraction", "0", "--timeout", "60",
             "--progress-interval", "5"]
    cmd = c.sim_command(urls, args.shoppers, extra)
    c.run_sim(cmd, background=True)
    joined = c.wait_for("every node to count every shopper",
                        lambda: c.all_see(total_seen_by, args.shoppers), args.join_timeout)
    return cmd, joined


def load_most_shoppers(c, args, urls, node):
    """Like load_shoppers, for a big ramp where a few handshakes may fail: waits until `node`
    counts at least --min-joined of them and its count has not moved for SETTLE_S."""
    settle_s = 5.0
    extra = ["--ramp", str(args.ramp), "--duration", str(args.hold), "--drain", "5",
             "--update-rate", str(args.update_rate), "--tabs-fraction", "0", "--timeout", "60",
             "--progress-interval", "5"]
    cmd = c.sim_command(urls, args.shoppers, extra)
    c.run_sim(cmd, background=True)
    state = {"count": -1, "since": time.monotonic()}

    def settled():
        count = c.shoppers_seen(node)
        now = time.monotonic()
        if count != state["count"]:
            state.update(count=count, since=now)
            return False
        return count >= args.min_joined * args.shoppers and now - state["since"] >= settle_s

    joined = c.wait_for("the shoppers to join and settle", settled, args.join_timeout)
    return cmd, joined, state["count"]


def measure_kill_node(c, args):
    c.start()
    urls = [f"ws://127.0.0.1:{n.port}/socket/websocket" for n in c.nodes]
    cmd, joined = load_shoppers(c, args, urls, c.nodes)
    result = {"sim_command": " ".join(cmd), "joined_everywhere_s": joined}
    if joined is None:
        return result
    victim = c.nodes[1]
    others = [n for n in c.nodes if n is not victim]
    remaining = args.shoppers - expected_on(1, len(c.nodes), args.shoppers)
    c.sample(force=True)
    killed = victim.kill()
    t0 = time.monotonic()
    hidden = {}
    while time.monotonic() - t0 < args.measure_timeout and len(hidden) < len(others):
        for n in others:
            if n.name not in hidden and c.shoppers_seen(n) == remaining:
                hidden[n.name] = round(time.monotonic() - t0, 3)
        c.sample()
        time.sleep(POLL_S)
    result.update({"killed": victim.name, "killed_pids": killed, "remaining_shoppers": remaining,
                   "hidden_after_s": hidden,
                   "hidden_everywhere_s": max(hidden.values()) if len(hidden) == len(others) else None,
                   "cluster_metrics": {n.name: cluster_metrics(n) for n in others}})
    return result


def link_owner(node, redis_port):
    """The worker of `node` connected to Redis (ss shows each socket's process)."""
    r = subprocess.run(["ss", "-tnpH", "state", "established", "dst", f"127.0.0.1:{redis_port}"],
                       capture_output=True, text=True)
    workers = set(children(node.proc.pid))
    owners = {int(p) for p in re.findall(r"pid=(\d+)", r.stdout)} & workers
    return sorted(owners)


def measure_kill_owner(c, args):
    c.start()
    urls = [f"ws://127.0.0.1:{n.port}/socket/websocket" for n in c.nodes]
    cmd, joined = load_shoppers(c, args, urls, c.nodes)
    result = {"sim_command": " ".join(cmd), "joined_everywhere_s": joined}
    if joined is None:
        return result
    node = c.nodes[1]
    channel = f"{CLUSTER}:node:{node.name}"
    owners = link_owner(node, c.redis_port)
    result["owners_before"] = owners
    if len(owners) != 1:
        result["error"] = "expected one worker holding the Redis link"
        return result
    old = owners[0]

    def subscriber_ids():
        return set(re.findall(r"(?m)^id=(\d+) .* sub=[1-9]", c.redis.call("CLIENT", "LIST")))

    before = subscriber_ids()

    def taken_over():
        # A subscriber Redis did not have before the kill (only the killed worker's node lost
        # its link) and the node's channel subscribed once again (`ss -p` is too slow to poll).
        return bool(subscriber_ids() - before) and \
            c.redis.call("PUBSUB", "NUMSUB", channel)[1] == 1

    os.kill(old, signal.SIGKILL)
    back = c.wait_for("the link to be taken over", taken_over, args.measure_timeout)
    result.update({"killed_worker": old,
                   "taken_over_after_s": round(back, 3) if back is not None else None,
                   "owners_after": link_owner(node, c.redis_port)})
    # No presence lost or doubled: every node counts the shoppers still joined. The killed
    # worker's own shoppers dropped with it, so the truth is what the simulator keeps joined;
    # give the cluster a few heartbeats to settle, then compare every node with the others.
    time.sleep(3)
    counts = {n.name: c.shoppers_seen(n) for n in c.nodes}
    result["shoppers_seen_after"] = counts
    result["all_equal_after"] = len(set(counts.values())) == 1
    result["cluster_metrics"] = {n.name: cluster_metrics(n) for n in c.nodes}
    return result


def measure_catch_up(c, args):
    first, joiner = c.nodes[0], c.nodes[-1]
    c.start([n for n in c.nodes if n is not joiner])
    urls = [f"ws://127.0.0.1:{first.port}/socket/websocket"]
    cmd, joined, count = load_most_shoppers(c, args, urls, first)
    result = {"sim_command": " ".join(cmd), "joined_and_settled_s": joined, "presences": count}
    if joined is None:
        return result
    c.sample(force=True)
    c.start([joiner])
    t0 = joiner.started_at
    caught = c.wait_for("the joining node to count every shopper",
                        lambda: c.shoppers_seen(joiner) == count, args.measure_timeout)
    result.update({"joiner": joiner.name,
                   "caught_up_after_start_s": round(time.monotonic() - t0, 3) if caught is not None else None,
                   "cluster_metrics": {n.name: cluster_metrics(n) for n in c.nodes}})
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nodes", type=int, default=3, choices=range(2, 9))
    p.add_argument("--workers", default="1", help="nginx workers per node, e.g. 1 or 11,1,1")
    p.add_argument("--zone", default="512m")
    p.add_argument("--batch", help="presence_cluster_batch (module default)")
    p.add_argument("--heartbeat", help="presence_cluster_heartbeat (module default)")
    p.add_argument("--down", help="presence_cluster_down (module default)")
    p.add_argument("--no-cluster", action="store_true", help="independent nodes (tooling check)")
    p.add_argument("--log-level", default="warn", choices=["warn", "notice", "info"],
                   help="nginx error_log level (notice shows the cluster driver's lease changes)")
    p.add_argument("--redis-server", default="/usr/bin/redis-server")
    p.add_argument("--out", help="folder for configs, logs and the report (a new one)")
    p.add_argument("--timeout", type=float, default=300, help="hard stop of the whole run, s")
    p.add_argument("--shoppers", type=int, default=3000)
    p.add_argument("--ramp", type=float, default=2000, help="joins/s while loading shoppers")
    p.add_argument("--hold", type=float, default=120, help="simulator duration while measuring")
    p.add_argument("--update-rate", type=float, default=0, help="updates/s while measuring")
    p.add_argument("--join-timeout", type=float, default=120)
    p.add_argument("--min-joined", type=float, default=0.99,
                   help="catch-up: fraction of --shoppers that must join before the node starts")
    p.add_argument("--measure-timeout", type=float, default=30)
    p.add_argument("mode", choices=["latency", "kill-node", "kill-owner", "catch-up"])
    p.add_argument("sim_args", nargs="*", help="latency: shopper-sim options after --")
    args = p.parse_args()
    args.workers = [int(w) for w in args.workers.split(",")]

    c = Cluster(args)

    def on_timeout(signum, frame):
        raise TimeoutError(f"--timeout {args.timeout} s passed")

    signal.signal(signal.SIGALRM, on_timeout)
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(3))
    signal.setitimer(signal.ITIMER_REAL, args.timeout)
    report = {"mode": args.mode, "command": " ".join([sys.argv[0]] + sys.argv[1:]),
              "nodes": args.nodes, "workers": args.workers, "out": c.out,
              "machine": {"cores": os.cpu_count(), "load_before": load_average(),
                          "kernel": os.uname().release}}
    status = 0
    try:
        if args.mode == "latency":
            report["result"] = measure_latency(c, args, args.sim_args)
        elif args.mode == "kill-node":
            report["result"] = measure_kill_node(c, args)
        elif args.mode == "kill-owner":
            report["result"] = measure_kill_owner(c, args)
        else:
            report["result"] = measure_catch_up(c, args)
    except (Exception, KeyboardInterrupt) as e:
        report["error"] = f"{type(e).__name__}: {e}"
        status = 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        try:
            c.sample(force=True)
        except Exception:
            pass
        c.stop()
    report["machine"]["load_after"] = load_average()
    sim_report = os.path.join(c.out, "sim-report.json")
    if os.path.exists(sim_report):
        with open(sim_report) as f:
            # joined_at_drain: the shoppers still joined at the end, to compare with the nodes' counts.
            report["sim_connections"] = json.load(f).get("connections")
    report["during"] = c.summary()
    with open(os.path.join(c.out, "samples.json"), "w") as f:
        json.dump(c.samples, f)
    with open(os.path.join(c.out, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps(report, indent=1))
    log(f"report: {os.path.join(c.out, 'report.json')}")
    return status


if __name__ == "__main__":
    sys.exit(main())
