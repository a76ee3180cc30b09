"""Integration harness: the real /usr/sbin/nginx with the built module, started
from nginx.conf.example on a free loopback port in a temporary prefix, and
stopped by its pid."""

import base64
import hashlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("PRESENCE_BUILD_DIR", REPO / "build"))
NGINX = "/usr/sbin/nginx"
MODULE = BUILD / "module" / "ngx_http_presence_module.so"
EXAMPLE = REPO / "nginx.conf.example"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "launch-day"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nginx did not listen on {port}")


def ssha_entry(user, password):
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return f"{user}:{{SSHA}}{base64.b64encode(digest + salt).decode()}\n"


def hs256_secret():
    # A key file loses one trailing newline (as editors leave them), so the
    # raw secret must not end in one.
    secret = secrets.token_bytes(32)
    while secret.endswith(b"\n"):
        secret = secrets.token_bytes(32)
    return secret


class Keys:
    """Development keys as an operator would have them: an HS256 secret file
    for shoppers, an Ed25519 key pair in PEM for admins, and the demo store's
    own HS256 secret."""

    def __init__(self, folder: Path):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        folder.mkdir(parents=True, exist_ok=True)
        self.hs256_secret = hs256_secret()
        self.hs256_path = folder / "shopper-hs256.key"
        self.hs256_path.write_bytes(self.hs256_secret)
        self.demo_secret = hs256_secret()
        self.demo_path = folder / "demo-hs256.key"
        self.demo_path.write_bytes(self.demo_secret)
        private = Ed25519PrivateKey.generate()
        self.ed25519_private = private
        self.ed25519_private_pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self.ed25519_path = folder / "admin-ed25519.pem"
        self.ed25519_path.write_bytes(self.ed25519_private_pem)

    def shopper_token(self, sub, ttl=300, **extra):
        import jwt

        claims = {"sub": sub, "role": "shopper", "exp": int(time.time()) + ttl}
        claims.update(extra)
        return jwt.encode(claims, self.hs256_secret, algorithm="HS256", headers={"kid": "shop-1"})

    def admin_token(self, sub="ops", ttl=300, **extra):
        import jwt

        claims = {"sub": sub, "role": "admin", "exp": int(time.time()) + ttl}
        claims.update(extra)
        return jwt.encode(
            claims, self.ed25519_private, algorithm="EdDSA", headers={"kid": "admin-1"}
        )


def render_config(port, workers=1, overrides=None, extra_http="", metrics_port=None):
    """nginx.conf.example with the test's ports and worker count; `overrides`
    maps a directive name to the value it takes everywhere it appears."""
    text = EXAMPLE.read_text()
    text = text.replace("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{port};")
    if metrics_port is not None:
        text = text.replace("listen 127.0.0.1:9145;", f"listen 127.0.0.1:{metrics_port};")
    text = re.sub(r"worker_processes \S+;", f"worker_processes {workers};", text)
    text = text.replace("error_log .run/logs/error.log warn;", "error_log .run/logs/error.log info;")
    for directive, value in (overrides or {}).items():
        text, n = re.subn(rf"(\n\s*){directive} [^;]*;", rf"\g<1>{directive} {value};", text)
        if n == 0:
            raise ValueError(f"{directive} is not in nginx.conf.example")
    if extra_http:
        text = text.replace("\nhttp {\n", "\nhttp {\n" + extra_http + "\n", 1)
    return text


class Nginx:
    def __init__(self, prefix: Path, workers=1, overrides=None, extra_http=""):
        self.prefix = prefix
        self.port = free_port()
        self.metrics_port = free_port()
        self.workers = workers
        run = prefix / ".run"
        for sub in ("logs", "tmp", "keys"):
            (run / sub).mkdir(parents=True, exist_ok=True)
        # Workers run as nobody: what they serve is copied into the prefix
        # (readable whatever the permissions of the checkout); the module,
        # loaded by the master, is linked.
        (prefix / "build").mkdir()
        (prefix / "build" / "module").symlink_to(BUILD / "module")
        if (BUILD / "dashboard").is_dir():
            shutil.copytree(BUILD / "dashboard", prefix / "build" / "dashboard")
        self.keys = Keys(run / "keys")
        (run / "htpasswd").write_text(ssha_entry(ADMIN_USER, ADMIN_PASSWORD))
        self.conf = prefix / "nginx.conf"
        self._render = lambda: render_config(
            self.port, workers, overrides, extra_http, self.metrics_port
        )
        self.conf.write_text(self._render())
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def metrics_url(self):
        """The loopback-only listener that serves /metrics."""
        return f"http://127.0.0.1:{self.metrics_port}"

    @property
    def ws_url(self):
        return f"ws://127.0.0.1:{self.port}"

    @property
    def error_log(self):
        path = self.prefix / ".run" / "logs" / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def command(self, *args):
        return [NGINX, "-p", f"{self.prefix}/", "-c", str(self.conf), *args]

    def test_config(self):
        return subprocess.run(self.command("-t"), capture_output=True, text=True)

    def start(self, attempts=5):
        for attempt in range(attempts):
            self.proc = subprocess.Popen(
                self.command("-g", "daemon off;"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            try:
                wait_for_port(self.port, self.proc)
                return self
            except Exception:
                exited = self.proc.poll() is not None
                err = self.proc.stderr.read().decode(errors="replace") if exited else ""
                self.stop()
                # Another process took the free port between our probe and
                # nginx's bind: take another one.
                if "Address already in use" in err + self.error_log and attempt + 1 < attempts:
                    self.port = free_port()
                    self.metrics_port = free_port()
                    self.conf.write_text(self._render())
                    continue
                raise RuntimeError(f"nginx failed to start: {err}\n{self.error_log}")
        return self

    def worker_pids(self):
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True
        ).stdout
        return [int(p) for p in out.split()]

    def reload(self):
        os.kill(self.proc.pid, signal.SIGHUP)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def nginx_factory():
    started = []

    def make(workers=1, overrides=None, extra_http="", start=True):
        # Not under pytest's tmp_path: that is 0700, and workers run as nobody.
        prefix = Path(tempfile.mkdtemp(prefix="presence-nginx-"))
        os.chmod(prefix, 0o755)
        server = Nginx(prefix, workers, overrides, extra_http)
        started.append(server)
        return server.start() if start else server

    yield make
    for server in started:
        server.stop()
        if server.proc is not None:
            # A worker that crashed is a failure even when every assertion held.
            log = server.error_log
            shutil.rmtree(server.prefix, ignore_errors=True)
            assert "exited on signal" not in log, log[-4000:]


@pytest.fixture
def nginx(nginx_factory):
    return nginx_factory()


@pytest.fixture(scope="session")
def node_env():
    """Environment for node scripts: the repository's npm packages."""
    env = dict(os.environ)
    env["NODE_PATH"] = str(REPO / "node_modules")
    if shutil.which("node") is None:
        pytest.fail("node is not installed: run ./test, which installs it")
    return env


# The cluster harness's fixture (`cluster`): redis-server and several nodes.
pytest_plugins = ["cluster"]
