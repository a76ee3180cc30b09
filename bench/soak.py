#!/usr/bin/python3
"""Soak: minutes of steady churn against a real nginx, then exact counts.

    bench/soak.py [--minutes 30] [--shoppers 2000] [--workers 2] [--out DIR] [...]

Starts a private nginx (the built module, nginx.conf.example on a free
loopback port, its loopback-only /metrics listener on another; loopback is
exempt from the example's handshake limits, and these clients send no
Origin, as native clients do), then for --minutes runs at once:
- shopper-sim (bench/shopper_sim): joins at --ramp, updates at --update-rate,
  --churn of the online shoppers leaving each minute and coming back
  (--reconnect), --tabs-fraction of them with 2 or 3 tabs, and its admin
  probe on both admin topics;
- anchor carts (--anchors, 1 to 3 tabs each) that stay joined all along;
- a slow admin on both admin topics that reads one message every
  --slow-read seconds (the server resyncs or closes it; it comes back);
- a sampler: every --sample-interval seconds the PSS and RSS of the master
  and workers, the open file descriptors of each worker, and /metrics.
Once the simulator has drained and exited, a fresh admin must see exactly
the anchors (presence_state keys and metas, stats shoppers and connections,
presence_connections), the workers must hold exactly the file descriptors
they held before the load plus one per socket still open, and the nginx
memory after warm-up (--warmup, a fraction of the run) must stay flat; the
warm-up must outlast the first pass through the zone's change log (4 MB by
default: a few minutes at 100 updates/s), whose pages every worker reading it
touches for the first time until it wraps. Prints
a Markdown table for RELIABILITY.md and exits non-zero when a check fails.
Every sample goes to DIR/samples.csv as it is taken (and a line to stdout every
minute), so an interrupted run still leaves its figures; the summary goes to
DIR/summary.json. Memory is PSS (shared pages split between the processes that
map them), private dirty and RSS; RSS counts every zone page a process has
touched, so it grows while the workers first read the zone.
"""

import argparse
import asyncio
import csv
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import jwt
import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parents[1]
NGINX = "/usr/sbin/nginx"
SHOPPER_PATH = "/socket/websocket?vsn=2.0.0&token="
ADMIN_PATH = "/admin_socket/websocket?vsn=2.0.0&token="
HEARTBEAT_S = 20
# Memory is flat when the last tenth of the samples after warm-up is within
# this much of the first tenth (the larger of the two).
FLAT_BYTES = 4 * 1024 * 1024
FLAT_FRACTION = 0.05


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--shoppers", type=int, default=2000)
    p.add_argument("--ramp", type=float, default=200, help="joins per second while ramping")
    p.add_argument("--update-rate", type=float, default=100, help="updates per second, all shoppers")
    p.add_argument("--churn", type=float, default=0.5, help="fraction of online shoppers leaving per minute")
    p.add_argument("--away", type=float, default=10, help="mean seconds a leaver stays away")
    p.add_argument("--tabs-fraction", type=float, default=0.2)
    p.add_argument("--anchors", type=int, default=50, help="carts that stay joined all run")
    p.add_argument("--slow-read", type=float, default=2.0, help="seconds between the slow admin's reads")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--sample-interval", type=float, default=5)
    p.add_argument("--warmup", type=float, default=0.25, help="fraction of the run before memory must be flat")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--build", type=Path, default=Path(os.environ.get("PRESENCE_BUILD_DIR", ROOT / "build")))
    return p.parse_args()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Keys:
    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.hs256_path = folder / "shopper-hs256.key"
        # nginx drops one trailing newline of a key file; the secret is the rest.
        text = secrets.token_urlsafe(48)
        self.hs256_path.write_text(text + "\n")
        self.hs256_secret = text.encode()
        # The example's demo store signs with a key of its own (roles=shopper).
        (folder / "demo-hs256.key").write_text(secrets.token_urlsafe(48) + "\n")
        self.ed25519 = Ed25519PrivateKey.generate()
        self.ed25519_path = folder / "admin-ed25519.pem"
        self.ed25519_path.write_bytes(
            self.ed25519.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )

    def shopper(self, sub, ttl=7200):
        claims = {"sub": sub, "role": "shopper", "exp": int(time.time()) + ttl}
        return jwt.encode(claims, self.hs256_secret, algorithm="HS256", headers={"kid": "shop-1"})

    def admin(self, sub, ttl=7200):
        claims = {"sub": sub, "role": "admin", "exp": int(time.time()) + ttl}
        return jwt.encode(claims, self.ed25519, algorithm="EdDSA", headers={"kid": "admin-1"})


def render_config(port, metrics_port, workers):
    text = (ROOT / "nginx.conf.example").read_text()
    text = re.sub(r"worker_processes \S+;", f"worker_processes {workers};", text)
    text = text.replace("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{port};")
    text = text.replace("listen 127.0.0.1:9145;", f"listen 127.0.0.1:{metrics_port};")
    text = re.sub(r"access_log [^;]*;", "access_log off;", text)
    for listener in (port, metrics_port):
        if f"listen 127.0.0.1:{listener};" not in text:
            raise SystemExit("soak: could not set the ports in nginx.conf")
    return text


class Nginx:
    def __init__(self, prefix: Path, build: Path, workers: int):
        self.prefix = prefix
        self.port = free_port()
        self.metrics_port = free_port()
        for sub in ("logs", "tmp"):
            (prefix / ".run" / sub).mkdir(parents=True, exist_ok=True)
        (prefix / "build").symlink_to(build)
        self.keys = Keys(prefix / ".run" / "keys")
        (prefix / ".run" / "htpasswd").write_text("")
        self.conf = prefix / "nginx.conf"
        self.conf.write_text(render_config(self.port, self.metrics_port, workers))
        self.proc = None

    def command(self, *args):
        return [NGINX, "-p", f"{self.prefix}/", "-c", str(self.conf), *args]

    def start(self):
        check = subprocess.run(self.command("-t", "-q"), capture_output=True, text=True)
        if check.returncode != 0:
            raise SystemExit(f"soak: nginx -t failed:\n{check.stderr}")
        self.proc = subprocess.Popen(self.command("-g", "daemon off;"), stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("soak: nginx did not listen")

    def worker_pids(self):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True)
        return sorted(int(p) for p in out.stdout.split())

    @property
    def metrics_url(self):
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def metrics(self):
        req = urllib.request.Request(self.metrics_url, headers={"Connection": "close"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            text = resp.read().decode()
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#") and "{" not in line:
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait()


def memory_kb(pid):
    """(PSS, private dirty, RSS) of one process in KB."""
    pss = dirty = rss = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
            elif line.startswith("Private_Dirty:"):
                dirty = int(line.split()[1])
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return pss, dirty, rss


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def sample(server, started):
    pids = [server.proc.pid, *server.worker_pids()]
    pss = dirty = rss = 0
    fds = {}
    for pid in pids:
        try:
            p, d, r = memory_kb(pid)
            pss += p
            dirty += d
            rss += r
            if pid != server.proc.pid:
                fds[pid] = open_fds(pid)
        except OSError:
            continue  # a worker that just exited
    try:
        m = server.metrics()
    except OSError:
        m = {}
    return {
        "t_s": round(time.monotonic() - started, 1),
        "pss_kb": pss,
        "private_dirty_kb": dirty,
        "rss_kb": rss,
        "worker_fds": fds,
        "connections": m.get("presence_connections"),
        "sockets_open": m.get("presence_sockets_open"),
        "zone_used_bytes": m.get("presence_zone_used_bytes"),
        "admin_resyncs": m.get("presence_admin_resyncs_total"),
    }


async def phoenix_join(ws, topic, payload, ref):
    await ws.send(json.dumps([ref, ref, topic, "phx_join", payload]))
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if msg[1] == ref and msg[3] == "phx_reply":
            if msg[4]["status"] != "ok":
                raise RuntimeError(f"join {topic} refused: {msg[4]}")
            return


async def anchor_tab(server, sub, payload, stop, ready):
    """One tab of an anchor cart: joined until `stop`, heartbeating, reading all."""
    url = f"ws://127.0.0.1:{server.port}{SHOPPER_PATH}{server.keys.shopper(sub)}"
    async with websockets.connect(url, ping_interval=None, max_size=None) as ws:
        await phoenix_join(ws, f"cart:{sub}", payload, "1")
        ready.release()
        ref = 1
        while not stop.is_set():
            try:
                await asyncio.wait_for(ws.recv(), HEARTBEAT_S)
            except asyncio.TimeoutError:
                ref += 1
                await ws.send(json.dumps([None, str(ref), "phoenix", "heartbeat", {}]))
        await ws.close()


async def slow_admin(server, stop, seen):
    """Both admin topics, reading one message every --slow-read seconds; a
    small queue and read limit, so unread bytes back up into the server."""
    while not stop.is_set():
        url = f"ws://127.0.0.1:{server.port}{ADMIN_PATH}{server.keys.admin('slow-admin')}"
        # A small receive window: what it does not read backs up into the server.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
            async with websockets.connect(
                url, sock=sock, ping_interval=None, max_size=None, max_queue=1, read_limit=4096
            ) as ws:
                await phoenix_join(ws, "admin:cart_tracker", {}, "1")
                await phoenix_join(ws, "admin:stats", {}, "2")
                seen["sessions"] += 1
                ref = 2
                last_beat = time.monotonic()
                while not stop.is_set():
                    await asyncio.wait_for(ws.recv(), 30)
                    seen["messages"] += 1
                    if time.monotonic() - last_beat > HEARTBEAT_S:
                        ref += 1
                        await ws.send(json.dumps([None, str(ref), "phoenix", "heartbeat", {}]))
                        last_beat = time.monotonic()
                    await asyncio.sleep(seen["slow_read"])
        except (websockets.ConnectionClosed, asyncio.TimeoutError, OSError) as err:
            sock.close()
            seen["closed"] += 1
            seen["last_close"] = str(err)[:200]
            await asyncio.sleep(1)


async def admin_view(server):
    """A fresh admin's presence_state (keys, metas) and first stats."""
    url = f"ws://127.0.0.1:{server.port}{ADMIN_PATH}{server.keys.admin('soak-checker')}"
    async with websockets.connect(url, ping_interval=None, max_size=None) as ws:
        await ws.send(json.dumps(["1", "1", "admin:cart_tracker", "phx_join", {}]))
        await ws.send(json.dumps(["2", "2", "admin:stats", "phx_join", {}]))
        state = stats = None
        while state is None or stats is None:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if msg[3] == "presence_state":
                state = msg[4]
            elif msg[3] == "stats":
                stats = msg[4]
        fds = {pid: open_fds(pid) for pid in server.worker_pids()}
        metrics = server.metrics()
        metas = sum(len(entry["metas"]) for entry in state.values())
        return {"keys": len(state), "metas": metas, "stats": stats, "fds": fds, "metrics": metrics}


CSV_FIELDS = ["t_s", "pss_kb", "private_dirty_kb", "rss_kb", "worker_fds", "connections", "sockets_open", "zone_used_bytes", "admin_resyncs"]


class Samples(list):
    """The samples, each written to DIR/samples.csv as it is taken and, once a
    minute, summed up on stdout: an interrupted run keeps what it measured."""

    def __init__(self, path: Path):
        super().__init__()
        self.file = open(path, "w", newline="")
        self.writer = csv.writer(self.file)
        self.writer.writerow(CSV_FIELDS)
        self.file.flush()
        self.last_print = None

    def append(self, s):
        super().append(s)
        fds = " ".join(str(n) for _, n in sorted(s["worker_fds"].items()))
        self.writer.writerow([fds if k == "worker_fds" else s[k] for k in CSV_FIELDS])
        self.file.flush()
        if self.last_print is None or s["t_s"] - self.last_print >= 60:
            self.last_print = s["t_s"]
            print(
                f"soak: t={s['t_s']:.0f}s pss={s['pss_kb']} KB private_dirty={s['private_dirty_kb']} KB "
                f"rss={s['rss_kb']} KB worker_fds={fds} connections={s['connections']} "
                f"sockets_open={s['sockets_open']} resyncs={s['admin_resyncs']}",
                flush=True,
            )

    def close(self):
        self.file.close()


def slope_kb_per_min(points):
    if len(points) < 2:
        return 0.0
    xs = [p[0] / 60 for p in points]
    ys = [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def flat(values):
    tenth = max(1, len(values) // 10)
    first, last = statistics.fmean(values[:tenth]), statistics.fmean(values[-tenth:])
    growth = last - first
    return growth, growth <= max(FLAT_BYTES / 1024, FLAT_FRACTION * first)


async def run(args):
    out = args.out or Path(tempfile.mkdtemp(prefix="presence-soak-"))
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o755)
    sim = args.build / "bench" / "shopper-sim"
    if not os.access(sim, os.X_OK) or not (args.build / "module" / "ngx_http_presence_module.so").exists():
        raise SystemExit(f"soak: build shopper-sim and the module first (cmake --build {args.build})")
    server = Nginx(out, args.build, args.workers)
    server.start()
    started = time.monotonic()
    samples = Samples(out / "samples.csv")
    result = {}
    stop = asyncio.Event()
    anchor_tasks = []
    try:
        baseline = sample(server, started)
        samples.append(baseline)
        # Anchors: 1 to 3 tabs each, on pages and carts of the simulator's kind.
        rng = random.Random(1)
        ready = asyncio.Semaphore(0)
        tabs = 0
        for n in range(args.anchors):
            payload = {"page": f"/products/anchor-{n % 7}", "items": [{"product": "air-max-90", "size": "10", "qty": 1 + n % 3}]}
            for _ in range(rng.choice((1, 1, 2, 3))):
                anchor_tasks.append(asyncio.create_task(anchor_tab(server, f"anchor-{n}", payload, stop, ready)))
                tabs += 1
        for _ in range(tabs):
            await asyncio.wait_for(ready.acquire(), 30)

        slow = {"sessions": 0, "messages": 0, "closed": 0, "last_close": "", "slow_read": args.slow_read}
        slow_stop = asyncio.Event()
        slow_task = asyncio.create_task(slow_admin(server, slow_stop, slow))

        duration_s = max(1, int(args.minutes * 60))
        command = [
            str(sim), "--url", f"ws://127.0.0.1:{server.port}/socket/websocket",
            "--key", str(server.keys.hs256_path), "--alg", "hs256", "--kid", "shop-1",
            "--admin-key", str(server.keys.ed25519_path), "--admin-alg", "eddsa", "--admin-kid", "admin-1",
            "--nginx-pid", str(server.proc.pid), "--metrics-url", server.metrics_url,
            "--shoppers", str(args.shoppers), "--ramp", str(args.ramp), "--duration", str(duration_s),
            "--drain", "10", "--update-rate", str(args.update_rate), "--tabs-fraction", str(args.tabs_fraction),
            "--churn", str(args.churn), "--away", str(args.away), "--reconnect",
            "--progress-interval", "10", "--report", str(out / "report.json"),
        ]
        (out / "command.txt").write_text(" ".join(command) + "\n")
        with open(out / "progress.log", "w") as progress:
            proc = await asyncio.create_subprocess_exec(*command, stderr=progress, stdout=asyncio.subprocess.DEVNULL)
            while proc.returncode is None:
                try:
                    await asyncio.wait_for(proc.wait(), args.sample_interval)
                except asyncio.TimeoutError:
                    pass
                samples.append(sample(server, started))
        sim_status = proc.returncode

        slow_stop.set()
        slow_task.cancel()
        await asyncio.gather(slow_task, return_exceptions=True)
        await asyncio.sleep(3)  # closes settle in the workers
        final = await admin_view(server)
        samples.append(sample(server, started))
        report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}

        # Exact counts: only the anchors are left.
        checks = {
            "sim exited 0": sim_status == 0,
            "admin presence_state keys == anchor carts": final["keys"] == args.anchors,
            "admin presence_state metas == anchor tabs": final["metas"] == tabs,
            "stats shoppers/connections == anchors/tabs": (final["stats"]["shoppers"], final["stats"]["connections"]) == (args.anchors, tabs),
            "presence_connections == anchor tabs": final["metrics"].get("presence_connections") == tabs,
            "presence_sockets_open == anchor tabs + checker": final["metrics"].get("presence_sockets_open") == tabs + 1,
            # Each open socket is one descriptor in one worker: the anchors' and the checker's.
            "worker fds == baseline + open sockets": sum(final["fds"].values()) - sum(baseline["worker_fds"].values()) == tabs + 1,
        }
        warm = [s for s in samples if s["t_s"] >= args.warmup * duration_s and s["t_s"] <= duration_s]
        pss_growth, pss_flat = flat([s["pss_kb"] for s in warm]) if warm else (0, False)
        dirty_growth, dirty_flat = flat([s["private_dirty_kb"] for s in warm]) if warm else (0, False)
        rss_growth, rss_flat = flat([s["rss_kb"] for s in warm]) if warm else (0, False)
        checks["PSS flat after warm-up"] = pss_flat
        checks["private dirty flat after warm-up"] = dirty_flat
        checks["RSS flat after warm-up"] = rss_flat
        error_log = (out / ".run" / "logs" / "error.log").read_text(errors="replace")
        crashes = len(re.findall(r"exited on signal", error_log))
        checks["no worker exited on a signal"] = crashes == 0
        result = {
            "minutes": args.minutes,
            "shoppers": args.shoppers,
            "workers": args.workers,
            "anchors": {"carts": args.anchors, "tabs": tabs},
            "slow_admin": slow,
            "baseline": baseline,
            "final": final,
            "warm_samples": len(warm),
            "pss_kb": {
                "warm_start": warm[0]["pss_kb"] if warm else None,
                "end": warm[-1]["pss_kb"] if warm else None,
                "max": max(s["pss_kb"] for s in samples),
                "growth_after_warmup": pss_growth,
                "slope_kb_per_min": slope_kb_per_min([(s["t_s"], s["pss_kb"]) for s in warm]),
            },
            "private_dirty_kb": {
                "warm_start": warm[0]["private_dirty_kb"] if warm else None,
                "end": warm[-1]["private_dirty_kb"] if warm else None,
                "max": max(s["private_dirty_kb"] for s in samples),
                "growth_after_warmup": dirty_growth,
                "slope_kb_per_min": slope_kb_per_min([(s["t_s"], s["private_dirty_kb"]) for s in warm]),
            },
            "worker_crashes": crashes,
            "rss_kb": {
                "warm_start": warm[0]["rss_kb"] if warm else None,
                "end": warm[-1]["rss_kb"] if warm else None,
                "max": max(s["rss_kb"] for s in samples),
                "growth_after_warmup": rss_growth,
                "slope_kb_per_min": slope_kb_per_min([(s["t_s"], s["rss_kb"]) for s in warm]),
            },
            "max_worker_fds": max((max(s["worker_fds"].values(), default=0) for s in samples), default=0),
            "sim": {
                "connections": report.get("connections"),
                "shoppers": report.get("shoppers"),
                "updates": report.get("updates"),
                "admin": report.get("admin", {}).get("stats_latency_ms") if isinstance(report.get("admin"), dict) else None,
            },
            "admin_resyncs": samples[-1].get("admin_resyncs"),
            "checks": checks,
        }
    finally:
        stop.set()
        for task in anchor_tasks:
            task.cancel()
        await asyncio.gather(*anchor_tasks, return_exceptions=True)
        samples.close()
        server.stop()
    (out / "summary.json").write_text(json.dumps(result, indent=2, default=str))
    print_summary(result, out)
    return all(result["checks"].values())


def churn_row(sim):
    conns, shoppers, updates = sim.get("connections") or {}, sim.get("shoppers") or {}, sim.get("updates") or {}
    return (
        f"{conns.get('joined')} joins ({conns.get('failed')} failed, {conns.get('dropped')} dropped by the server), "
        f"{shoppers.get('left')} leaves and {shoppers.get('returned')} returns of {shoppers.get('total')} shoppers, "
        f"{updates.get('acked')} updates acked of {updates.get('sent')} sent ({updates.get('refused')} refused)"
    )


def print_summary(r, out):
    mb = lambda kb: f"{kb / 1024:.1f} MB" if kb is not None else "-"
    pss, dirty, rss = r["pss_kb"], r["private_dirty_kb"], r["rss_kb"]
    base_fds = sorted(r["baseline"]["worker_fds"].values())
    final_fds = sorted(r["final"]["fds"].values())
    rows = [
        ("run", f"{r['minutes']:g} min, {r['shoppers']} simulated shoppers, {r['workers']} workers, "
                f"{r['anchors']['carts']} anchor carts ({r['anchors']['tabs']} tabs)"),
        ("nginx PSS (master + workers)", f"{mb(pss['warm_start'])} after warm-up, {mb(pss['end'])} at the end, "
                                          f"max {mb(pss['max'])}; {pss['slope_kb_per_min']:+.0f} KB/min after warm-up"),
        ("nginx private dirty (master + workers)", f"{mb(dirty['warm_start'])} after warm-up, {mb(dirty['end'])} at the end, "
                                                    f"max {mb(dirty['max'])}; {dirty['slope_kb_per_min']:+.0f} KB/min after warm-up"),
        ("nginx RSS (master + workers)", f"{mb(rss['warm_start'])} after warm-up, {mb(rss['end'])} at the end, "
                                          f"max {mb(rss['max'])}; {rss['slope_kb_per_min']:+.0f} KB/min after warm-up"),
        ("open fds per worker", f"{base_fds} before the load, max {r['max_worker_fds']} during it, "
                                f"{final_fds} after it (anchors and the checker still open)"),
        ("churn (simulator)", churn_row(r["sim"])),
        ("worker crashes (error log)", f"{r['worker_crashes']}"),
        ("slow admin", f"{r['slow_admin']['sessions']} sessions, {r['slow_admin']['closed']} closed by the server, "
                       f"{r['slow_admin']['messages']} messages read"),
        ("admin resyncs (metrics)", f"{r['admin_resyncs']}"),
        ("counts at the end", f"presence_state {r['final']['keys']} keys / {r['final']['metas']} metas, "
                              f"stats {r['final']['stats']['shoppers']} / {r['final']['stats']['connections']}"),
    ]
    print("\n| soak | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print("\n| check | |\n|---|---|")
    for name, ok in r["checks"].items():
        print(f"| {name} | {'pass' if ok else 'FAIL'} |")
    print(f"\nsamples: {out}/samples.csv; summary: {out}/summary.json; simulator: {out}/report.json")


def main():
    args = parse_args()
    ok = asyncio.run(run(args))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
