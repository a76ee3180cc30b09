"""Harness for several nginx nodes replicating through Redis: a real
redis-server on a free loopback port with persistence off, a raw RESP client,
a pausable TCP proxy between a node and Redis, nginx nodes sharing a cluster
name and secret, and the reads that compare what every node's admin sees.
Everything started here is stopped by its pid; every wait is bounded."""

import json
import os
import re
import secrets
import selectors
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import BUILD, Nginx, free_port
from helpers import ADMIN_PATH, AdminView, PhoenixClient, Shopper, shorten, socket_inodes

REDIS_SERVER = "/usr/bin/redis-server"
CLUSTER = "presence-test"
# Timers short enough for tests; `down` must stay above twice the heartbeat.
FAST_TIMERS = {"batch": "20ms", "heartbeat": "200ms", "down": "1s", "permdown": "20m"}
DEFAULT_TIMERS = {}  # the directives' own defaults: 50ms, 1s, 5s, 20m


def wait_for(predicate, what, timeout=15.0, step=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


# ---------------------------------------------------------------- Redis


class RespError(Exception):
    """An error reply from Redis."""


class RespClient:
    """A blocking RESP2 client on one socket, every read bounded: enough to
    publish, subscribe, read keys and INFO without redis-py."""

    def __init__(self, port, password=None, user=None, timeout=10.0, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.timeout = timeout
        self.buffer = b""
        if password is not None:
            self.command(*(["AUTH", user, password] if user else ["AUTH", password]))

    @staticmethod
    def encode(*args):
        out = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(data), data))
        return b"".join(out)

    def send(self, *args):
        self.sock.sendall(self.encode(*args))

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no reply from Redis in time")
        self.sock.settimeout(remaining)
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("Redis closed the connection")
        self.buffer += chunk

    def _line(self, deadline):
        while b"\r\n" not in self.buffer:
            self._fill(deadline)
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _exact(self, count, deadline):
        while len(self.buffer) < count + 2:
            self._fill(deadline)
        data, self.buffer = self.buffer[:count], self.buffer[count + 2:]
        return data

    def read(self, timeout=None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        return self._read(deadline)

    def _read(self, deadline):
        line = self._line(deadline)
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n, deadline)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read(deadline) for _ in range(n)]
        raise ConnectionError(f"not RESP: {line[:80]!r}")

    def command(self, *args, timeout=None):
        self.send(*args)
        return self.read(timeout)

    def info(self, section=""):
        text = self.command("INFO", section) if section else self.command("INFO")
        out = {}
        for line in text.decode().splitlines():
            if ":" in line and not line.startswith("#"):
                key, _, value = line.partition(":")
                out[key] = value
        return out

    def close(self):
        self.sock.close()


class Subscriber(RespClient):
    """A subscribed connection: collects (channel, bytes) of every message."""

    def __init__(self, port, channels, **kwargs):
        super().__init__(port, **kwargs)
        self.messages = []
        self.send("SUBSCRIBE", *channels)
        for _ in channels:
            reply = self.read()
            assert reply[0] == b"subscribe", reply

    def pump(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                reply = self._read(deadline)
            except (TimeoutError, socket.timeout):
                return
            if reply and reply[0] == b"message":
                self.messages.append((reply[1].decode(), reply[2]))

    def wait_for(self, predicate, timeout=10.0, what="a message"):
        deadline = time.monotonic() + timeout
        index = 0
        while True:
            while index < len(self.messages):
                if predicate(*self.messages[index]):
                    return self.messages[index]
                index += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {what} on the bus within {timeout}s ({len(self.messages)} seen)")
            self.pump(min(remaining, 0.2))


class RedisServer:
    """redis-server on a free loopback port, persistence off, in a folder of
    its own. `password` sets requirepass; `acl_user` = (name, password) adds
    an ACL user limited to the cluster's channels and keys and turns the
    default user off. Started again on the same port after a kill."""

    def __init__(self, folder: Path, password=None, acl_user=None, extra=()):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.password = password
        self.acl_user = acl_user
        self.extra = list(extra)
        self.proc = None
        self.log_path = folder / "redis.log"

    def config_text(self):
        lines = [
            f"port {self.port}",
            "bind 127.0.0.1",
            f"dir {self.folder}",
            "save ''",
            "appendonly no",
            f"logfile {self.log_path}",
            "daemonize no",
            "loglevel notice",
        ]
        if self.password is not None:
            lines.append(f"requirepass {self.password}")
        if self.acl_user is not None:
            name, password = self.acl_user
            lines.append(f"user {name} on >{password} ~{CLUSTER}:* &{CLUSTER}:* +@all")
            lines.append("user default off")
        return "\n".join(lines + self.extra) + "\n"

    def start(self, timeout=10.0):
        conf = self.folder / "redis.conf"
        conf.write_text(self.config_text())
        self.proc = subprocess.Popen(
            [REDIS_SERVER, str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.proc.stderr.read().decode()} {self.log}")
            try:
                client = self.client()
                client.command("PING")
                client.close()
                return self
            except (OSError, RespError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @property
    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def client(self, **kwargs):
        if self.acl_user is not None:
            kwargs.setdefault("user", self.acl_user[0])
            kwargs.setdefault("password", self.acl_user[1])
        elif self.password is not None:
            kwargs.setdefault("password", self.password)
        return RespClient(self.port, **kwargs)

    def subscriber(self, channels):
        kwargs = {}
        if self.acl_user is not None:
            kwargs = {"user": self.acl_user[0], "password": self.acl_user[1]}
        elif self.password is not None:
            kwargs = {"password": self.password}
        return Subscriber(self.port, channels, **kwargs)

    def kill(self):
        """SIGKILL, as a crash: nothing is flushed (there is nothing to flush)."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------- proxy


class PausableProxy:
    """A loopback TCP proxy in one thread (a selector loop). `pause()` stops
    forwarding in both directions: bytes stay in the kernel's buffers, and a
    connection accepted meanwhile is not connected upstream until `resume()`.
    `cut()` closes every connection at once; `refuse(True)` closes each new
    one as it comes."""

    def __init__(self, target_port, target_host="127.0.0.1"):
        self.target = (target_host, target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.lock = threading.Lock()
        self.paused = False
        self.refusing = False
        self.pairs = {}  # socket -> its peer (both directions listed)
        self.pending = []  # accepted while paused, not yet connected upstream
        self.accepted = 0
        self.bytes_forwarded = 0
        self.running = True
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        self.selector.register(self.wake_r, selectors.EVENT_READ, "wake")
        self.thread = threading.Thread(target=self._loop, name="proxy", daemon=True)
        self.thread.start()

    def _wake(self):
        try:
            self.wake_w.send(b"x")
        except OSError:
            pass

    def pause(self):
        with self.lock:
            self.paused = True
        self._wake()

    def resume(self):
        with self.lock:
            self.paused = False
        self._wake()

    def refuse(self, on=True):
        with self.lock:
            self.refusing = on
        self._wake()

    def cut(self):
        with self.lock:
            self._cut = True
        self._wake()
        wait_for(lambda: not self.connections(), "the proxy to close its connections", 5)

    def connections(self):
        with self.lock:
            return len(self.pairs) // 2 + len(self.pending)

    def close(self):
        self.running = False
        self._wake()
        self.thread.join(timeout=5)
        for sock in list(self.pairs) + self.pending:
            sock.close()
        self.listener.close()
        self.wake_r.close()
        self.wake_w.close()

    _cut = False

    def _connect(self, client):
        try:
            upstream = socket.create_connection(self.target, timeout=2)
        except OSError:
            client.close()
            return
        upstream.setblocking(False)
        client.setblocking(False)
        self.pairs[client] = upstream
        self.pairs[upstream] = client

    def _drop(self, sock):
        peer = self.pairs.pop(sock, None)
        for s in (sock, peer):
            if s is None:
                continue
            self.pairs.pop(s, None)
            try:
                self.selector.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()

    def _sync_interest(self, paused):
        for sock in list(self.pairs):
            registered = sock in {key.fileobj for key in self.selector.get_map().values()}
            if paused and registered:
                self.selector.unregister(sock)
            elif not paused and not registered:
                self.selector.register(sock, selectors.EVENT_READ, "data")

    def _loop(self):
        while self.running:
            with self.lock:
                paused, refusing, cut = self.paused, self.refusing, self._cut
                self._cut = False
            if cut:
                for sock in list(self.pairs):
                    if sock in self.pairs:
                        self._drop(sock)
                for sock in self.pending:
                    sock.close()
                with self.lock:
                    self.pending = []
            if not paused and self.pending:
                with self.lock:
                    pending, self.pending = self.pending, []
                for client in pending:
                    self._connect(client)
            self._sync_interest(paused)
            for key, _ in self.selector.select(timeout=0.2):
                if key.data == "wake":
                    try:
                        while self.wake_r.recv(4096):
                            pass
                    except BlockingIOError:
                        pass
                elif key.data == "accept":
                    try:
                        client, _ = self.listener.accept()
                    except BlockingIOError:
                        continue
                    self.accepted += 1
                    with self.lock:  # the flags as they are now, not as the loop began
                        paused, refusing = self.paused, self.refusing
                    if refusing:
                        client.close()
                    elif paused:
                        with self.lock:
                            self.pending.append(client)
                    else:
                        self._connect(client)
                        self._sync_interest(False)
                else:
                    sock = key.fileobj
                    with self.lock:
                        paused = self.paused
                    if sock not in self.pairs or paused:
                        continue
                    try:
                        data = sock.recv(1 << 16)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        self._drop(sock)
                        continue
                    peer = self.pairs[sock]
                    try:
                        peer.setblocking(True)
                        peer.settimeout(5)
                        peer.sendall(data)
                        peer.setblocking(False)
                        self.bytes_forwarded += len(data)
                    except OSError:
                        self._drop(sock)


# ---------------------------------------------------------------- nodes


def timer_directives(timers):
    return "".join(f"    presence_cluster_{name} {value};\n" for name, value in timers.items())


class ClusterNode(Nginx):
    """One nginx node of the cluster: its own prefix, zone, node name and
    ports, the cluster's name and secret, and a Redis address (the server's
    or a proxy's)."""

    def __init__(self, prefix, name, redis_port, secret_path, workers=1, timers=None,
                 zone_size="64m", zone_options="", auth_path=None, keys_from=None,
                 extra_http="", overrides=None, reuseport=False):
        self.name = name
        self.redis_port = redis_port
        self.secret_path = secret_path
        self.auth_path = auth_path
        self.timers = dict(FAST_TIMERS if timers is None else timers)
        auth = f" auth={auth_path}" if auth_path else ""
        cluster_http = (
            f"    presence_cluster {CLUSTER} secret={secret_path};\n"
            f"    presence_redis 127.0.0.1:{redis_port}{auth};\n"
            + timer_directives(self.timers)
            + extra_http
        )
        zone = f"presence:{zone_size} node={name}" + (f" {zone_options}" if zone_options else "")
        # Tabs in a test wait out outages longer than the example's 60 s idle timeout.
        all_overrides = {"presence_zone": zone, "presence_idle_timeout": "10m"}
        all_overrides.update(overrides or {})
        super().__init__(prefix, workers, all_overrides, cluster_http)
        if reuseport:
            plain = self._render
            self._render = lambda: plain().replace(
                f"listen 127.0.0.1:{self.port};", f"listen 127.0.0.1:{self.port} reuseport;")
            self.conf.write_text(self._render())
        if keys_from is not None:
            # Every node verifies the same store's tokens: share one set of keys.
            for path in (keys_from.hs256_path, keys_from.demo_path, keys_from.ed25519_path):
                shutil.copyfile(path, prefix / ".run" / "keys" / path.name)
            self.keys = keys_from

    def pids(self):
        return [self.proc.pid, *self.worker_pids()]

    def kill_all(self):
        """SIGKILL the master and every worker, as a machine losing power."""
        pids = self.pids()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=10)
        for pid in pids[1:]:
            wait_for(lambda: not Path(f"/proc/{pid}").exists()
                     or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2],
                     f"worker {pid} to die", 10)

    def restart(self):
        """Starts the node again in the same prefix (a new generation)."""
        return self.start()

    def redis_owner(self):
        """The worker holding a TCP connection to this node's Redis address
        (the lease owner), or None."""
        inodes = redis_socket_inodes(self.redis_port)
        for pid in self.worker_pids():
            try:
                if inodes & socket_inodes(pid):
                    return pid
            except FileNotFoundError:
                continue
        return None

    def metrics(self):
        return parse_metrics(scrape(self))

    def crashes(self):
        return re.findall(r"worker process (\d+) exited on signal (\d+)", self.error_log)


def redis_socket_inodes(port):
    """Inodes of established client sockets whose remote port is `port`."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as rows:
                next(rows)
                for line in rows:
                    fields = line.split()
                    if int(fields[2].split(":")[1], 16) == port and fields[3] == "01":
                        inodes.add(int(fields[9]))
        except FileNotFoundError:
            continue
    return inodes


class Cluster:
    """A redis-server and the nodes the test makes; stops all by pid."""

    def __init__(self, root: Path, redis_password=None, acl_user=None):
        self.root = root
        self.redis = RedisServer(root / "redis", redis_password, acl_user)
        self.secret = secrets.token_hex(32)
        self.secret_path = root / "cluster.secret"
        self.secret_path.write_text(self.secret + "\n")
        os.chmod(self.secret_path, 0o644)
        self.nodes = []
        self.proxies = []
        self.keys = None

    def start_redis(self):
        return self.redis.start()

    def auth_file(self, text, name="redis.auth"):
        path = self.root / name
        path.write_text(text + "\n")
        return path

    def proxy(self):
        proxy = PausableProxy(self.redis.port)
        self.proxies.append(proxy)
        return proxy

    def node(self, name, start=True, via=None, redis_port=None, **kwargs):
        prefix = Path(tempfile.mkdtemp(prefix=f"presence-{name}-", dir=self.root))
        os.chmod(prefix, 0o755)
        port = redis_port or (via.port if via is not None else self.redis.port)
        node = ClusterNode(prefix, name, port, self.secret_path, keys_from=self.keys, **kwargs)
        if self.keys is None:
            self.keys = node.keys
        self.nodes.append(node)
        return node.start() if start else node

    def stop(self):
        for node in self.nodes:
            node.stop()
        for proxy in self.proxies:
            proxy.close()
        self.redis.stop()


# ---------------------------------------------------------------- views


def scrape(server):
    with urllib.request.urlopen(server.metrics_url + "/metrics", timeout=5) as resp:
        return resp.read().decode()


def parse_metrics(text):
    """{'name{label="v",...}': value} of every sample, labels as written."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        out[key] = float(value)
    return out


def metric_sum(metrics, name, **labels):
    """The sum of every sample of `name` whose labels include `labels`."""
    total = 0.0
    found = False
    for key, value in metrics.items():
        base, _, rest = key.partition("{")
        if base != name:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', rest))
        if all(have.get(k) == v for k, v in labels.items()):
            total += value
            found = True
    assert found, f"no sample {name}{labels} in /metrics: {sorted(set(k.split('{')[0] for k in metrics))}"
    return total


def admin_client(server, sub="ops"):
    return PhoenixClient.connect(server, server.keys.admin_token(sub), ADMIN_PATH, heartbeat_every=0.5)


def presence_snapshot(server, timeout=10.0):
    """A fresh admin's presence_state on `server`: key -> {phx_ref: meta}."""
    view = AdminView(server, topics=("admin:cart_tracker",))
    try:
        view.wait_until(lambda v: v.state_seen, timeout, "presence_state")
        return view.presences
    finally:
        view.close()


def stats_snapshot(server, timeout=10.0):
    """A fresh admin's first stats push on `server`, without ts."""
    view = AdminView(server, topics=("admin:stats",))
    try:
        view.wait_until(lambda v: v.stats is not None, timeout, "stats")
        return comparable_stats(view.stats)
    finally:
        view.close()


def comparable_stats(stats):
    out = {k: v for k, v in stats.items() if k != "ts"}
    if "nodes" in out:
        out["nodes"] = sorted(out["nodes"])
    if "replicas" in out:
        out["replicas"] = sorted(out["replicas"], key=lambda r: r["node"])
    return out


def presence_differences(a, b, names=("a", "b"), limit=20):
    """Lines naming every key and meta where two presences differ."""
    out = []
    for key in sorted(set(a) | set(b)):
        if key not in a or key not in b:
            out.append(f"{key}: only on {names[0] if key in a else names[1]}")
            continue
        for ref in sorted(set(a[key]) | set(b[key])):
            ma, mb = a[key].get(ref), b[key].get(ref)
            if ma != mb:
                out.append(f"{key} {ref}: {names[0]}={json.dumps(ma, sort_keys=True)} "
                           f"{names[1]}={json.dumps(mb, sort_keys=True)}")
        if len(out) >= limit:
            out.append("...")
            break
    return out


def meta_counts(presences):
    return {key: len(metas) for key, metas in presences.items() if metas}


def wait_converged(nodes, expected_counts=None, timeout=20.0, check=None):
    """Waits until every node's admin presence_state is the same, key by key
    and meta by meta (phx_refs included), and when given equals
    `expected_counts` (key -> metas); then until every node's stats are the
    same. Returns the common presence and stats."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        snaps = [presence_snapshot(node) for node in nodes]
        same = all(s == snaps[0] for s in snaps[1:])
        counts_ok = expected_counts is None or meta_counts(snaps[0]) == expected_counts
        extra_ok = check is None or check(snaps[0])
        if same and counts_ok and extra_ok:
            break
        last = snaps
        if time.monotonic() > deadline:
            lines = []
            for node, snap in zip(nodes[1:], snaps[1:]):
                lines += presence_differences(snaps[0], snap, (nodes[0].name, node.name))
            if expected_counts is not None and not counts_ok:
                have = meta_counts(snaps[0])
                wrong = {k: (have.get(k), expected_counts.get(k)) for k in set(have) | set(expected_counts)
                         if have.get(k) != expected_counts.get(k)}
                lines.append(f"{nodes[0].name} counts (have, expected) differ: {shorten(str(wrong), 1500)}")
            raise AssertionError(
                f"nodes did not converge within {timeout}s:\n" + "\n".join(lines[:60])
                + ("" if extra_ok else "\nthe extra check failed")
            )
        time.sleep(0.2)
    del last
    while True:
        stats = [stats_snapshot(node) for node in nodes]
        if all(s == stats[0] for s in stats[1:]):
            return snaps[0], stats[0]
        if time.monotonic() > deadline:
            raise AssertionError(
                "stats differ between nodes:\n"
                + "\n".join(f"{n.name}: {json.dumps(s, sort_keys=True)}" for n, s in zip(nodes, stats))
            )
        time.sleep(0.2)


def open_subs(tabs):
    """key -> number of tabs whose socket still answers a heartbeat."""
    counts = {}
    for tab in tabs:
        try:
            tab.client.heartbeat(timeout=3)
        except Exception:
            continue
        counts[tab.sub] = counts.get(tab.sub, 0) + 1
    return counts


def assert_no_crash(node):
    log = node.error_log
    assert "exited on signal" not in log, log[-4000:]


def make_root():
    # Not under pytest's tmp_path: that is 0700, and workers run as nobody.
    root = Path(tempfile.mkdtemp(prefix="presence-cluster-"))
    os.chmod(root, 0o755)
    return root


@pytest.fixture
def cluster():
    """A Cluster in a scratch folder: the test starts Redis and its nodes;
    all are stopped by pid at the end, and a worker crash the test did not
    cause on purpose (`expected_crashes`) fails it."""
    root = make_root()
    made = Cluster(root)
    made.expected_crashes = set()  # pids the test killed
    made_clusters = [made]

    def another(**kwargs):
        other = Cluster(make_root(), **kwargs)
        other.expected_crashes = set()
        made_clusters.append(other)
        return other

    made.another = another
    try:
        yield made
    finally:
        logs = []
        for each in made_clusters:
            each.stop()
            for node in each.nodes:
                unexpected = [(pid, sig) for pid, sig in node.crashes() if int(pid) not in each.expected_crashes]
                if unexpected:
                    logs.append(f"{node.name}: workers {unexpected} crashed\n{node.error_log[-3000:]}")
            shutil.rmtree(each.root, ignore_errors=True)
        assert not logs, "\n".join(logs)


class Shoppers:
    """Open tabs over several nodes and the model of what they hold: key ->
    pages of its open tabs."""

    def __init__(self):
        self.tabs = []

    def join(self, node, sub, page="/"):
        tab = Shopper(node, sub, {"page": page})
        tab.page = page
        tab.node = node
        self.tabs.append(tab)
        return tab

    def leave(self, tab):
        tab.leave()
        tab.close()
        self.tabs.remove(tab)

    def drop(self, tab):
        """The tab's socket closes without a leave."""
        tab.close()
        self.tabs.remove(tab)

    def forget_node(self, node):
        """The node died: its tabs are gone from the model."""
        gone = [tab for tab in self.tabs if tab.node is node]
        self.tabs = [tab for tab in self.tabs if tab.node is not node]
        for tab in gone:
            tab.close()
        return gone

    def update_many(self, tab, count, tag):
        """`count` updates sent back to back, then every reply checked."""
        refs = [
            tab.client.push(tab.topic, "update", {"page": f"/{tag}/{i}"}, join_ref=tab.join_ref)
            for i in range(count)
        ]
        tab.client.reply(refs[-1], timeout=30)
        wanted = set(refs)
        statuses = [m[4]["status"] for m in tab.client.received if m[1] in wanted and m[3] == "phx_reply"]
        assert statuses == ["ok"] * count, statuses[:10]
        # What the socket read is kept only as long as the next wait needs it.
        tab.client.received.clear()
        tab.page = f"/{tag}/{count - 1}"

    def on(self, node):
        return [tab for tab in self.tabs if tab.node is node]

    def counts(self):
        out = {}
        for tab in self.tabs:
            out[tab.sub] = out.get(tab.sub, 0) + 1
        return out

    def pages(self):
        out = {}
        for tab in self.tabs:
            out.setdefault(tab.sub, []).append(tab.page)
        return {key: sorted(pages) for key, pages in out.items()}

    def holds(self, presence):
        """True when `presence` holds exactly the model's tabs and pages."""
        have = {key: sorted(m["page"] for m in metas.values()) for key, metas in presence.items() if metas}
        return have == self.pages()


# ---------------------------------------------------------------- load

SIM = BUILD / "bench" / "shopper-sim"


# What one process may hold open here (the hard RLIMIT_NOFILE of the test
# machine, which the tests cannot raise): loads are spread over processes.
SOCKETS_PER_PROCESS = 15_000


def processes_for(sockets):
    return max(1, -(-sockets // SOCKETS_PER_PROCESS))


def start_sim(node, shoppers, duration_s, ramp_per_s=5000, update_rate=0,
              source_ips="127.0.0.2-127.0.0.9", report=None, tabs_fraction=0.0, reconnect=False):
    """bench/shopper-sim against `node`: `shoppers` sockets, each one meta,
    held for `duration_s` from the first attempt, then closed; with
    `reconnect`, a tab whose handshake failed on a loaded machine tries
    again a second or two later. Returns the Popen."""
    command = [
        str(SIM),
        "--url", f"{node.ws_url}/socket/websocket",
        "--key", str(node.keys.hs256_path), "--alg", "hs256", "--kid", "shop-1",
        "--shoppers", str(shoppers), "--processes", str(processes_for(shoppers)),
        "--source-ips", source_ips, "--ramp", f"{ramp_per_s}/s",
        "--duration", str(duration_s), "--drain", "5",
        "--update-rate", str(update_rate), "--tabs-fraction", str(tabs_fraction),
        "--heartbeat", "300", "--timeout", "30",  # idle sockets cost the machine nothing
        "--report", str(report or os.devnull),
    ] + (["--reconnect", "--away", "1.5"] if reconnect else [])
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def stop_sim(sim):
    if sim.poll() is None:
        sim.send_signal(signal.SIGTERM)
        try:
            sim.wait(timeout=15)
        except subprocess.TimeoutExpired:
            sim.kill()
            sim.wait()


def many_connections(connections):
    """Keyword arguments for Cluster.node that let a node hold `connections`
    sockets: enough workers, each under the open-files limit, and a listener
    per worker (reuseport) so that the kernel spreads connections evenly."""
    workers = processes_for(connections)
    per_worker = SOCKETS_PER_PROCESS + 2000
    return {
        "workers": workers,
        "reuseport": True,
        "overrides": {"worker_connections": str(per_worker), "worker_rlimit_nofile": str(per_worker + 1000)},
    }


def transitions(node, to):
    """Replica transitions a node's link has made: down, permdown, readmitted."""
    return metric_sum(node.metrics(), "presence_cluster_replica_transitions_total", to=to)


def replica_generations(node, name):
    """Generations of replica `name` that `node` lists as up or down."""
    return {
        int(g) for key in node.metrics()
        for g in re.findall(rf'^presence_cluster_replica_up\{{.*node="{re.escape(name)}",generation="(\d+)"', key)
    }


def connections_on(node):
    """The connections a node's stats count, or None while a loaded node's
    listener does not take one more handshake in time."""
    try:
        return stats_snapshot(node)["connections"]
    except (OSError, TimeoutError, AssertionError):
        return None


def cluster_counters(node):
    """The non-zero cluster samples of a node's /metrics, for failure messages."""
    try:
        metrics = node.metrics()
    except OSError as err:
        return f"/metrics unreadable: {err}"
    return {key.replace("presence_cluster_", ""): value for key, value in metrics.items()
            if key.startswith("presence_cluster_") and value and "silence" not in key and "lag" not in key}
