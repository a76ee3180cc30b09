"""Two nginx nodes replicating through a real redis-server (started here on a
free loopback port, persistence off, stopped by pid): a shopper on one node
is seen, with its phx_ref, by the other node's admin; its leave follows; a
graceful stop of a node is announced, so its shoppers vanish from the other
node at once rather than after `presence_cluster_down`."""

import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import free_port, wait_for_port
from helpers import AdminView, Shopper

SECRET = "smoke-test-cluster-secret-" + "x" * 32
# Long, so that only the announced departure can explain a fast removal.
DOWN = "30s"


@pytest.fixture
def redis_port(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: run ./test, which installs it")
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def cluster_node(nginx_factory, node, redis_port, redis_address=None):
    cluster = "\n".join(
        [
            "presence_cluster smoke secret=.run/keys/cluster.secret;",
            f"presence_redis {redis_address or f'127.0.0.1:{redis_port}'};",
            "presence_cluster_batch 20ms;",
            f"presence_cluster_down {DOWN};",
            "presence_cluster_permdown 10m;",
        ]
    )
    server = nginx_factory(
        overrides={"presence_zone": f"presence:64m node={node}"}, extra_http=cluster, start=False
    )
    (server.prefix / ".run" / "keys" / "cluster.secret").write_text(SECRET)
    return server.start()


def wait_for_log(server, pattern, timeout=10):
    deadline = time.monotonic() + timeout
    while pattern not in server.error_log:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {pattern!r} in the error log:\n{server.error_log[-3000:]}")
        time.sleep(0.05)


def test_two_nodes_see_each_others_shoppers(nginx_factory, redis_port):
    a = cluster_node(nginx_factory, "store-a", redis_port)
    b = cluster_node(nginx_factory, "store-b", redis_port)
    for server in (a, b):
        wait_for_log(server, f"redis subscriber link to 127.0.0.1:{redis_port} is up")
    admin_a = AdminView(a)
    admin_b = AdminView(b)

    shopper = Shopper(a, "cart-1", {"page": "/shoes"})
    admin_a.wait_until(lambda v: "cart-1" in v.presences, what="the local shopper")
    admin_b.wait_until(lambda v: "cart-1" in v.presences, timeout=10, what="the remote shopper")
    assert admin_b.presences["cart-1"] == admin_a.presences["cart-1"]

    other = Shopper(b, "cart-2", {"page": "/boots"})
    admin_a.wait_until(lambda v: "cart-2" in v.presences, timeout=10, what="b's shopper on a")

    (joined,) = admin_b.metas("cart-1")
    shopper.update({"page": "/checkout"})
    for admin in (admin_a, admin_b):
        admin.wait_until(
            lambda v: [m["page"] for m in v.metas("cart-1")] == ["/checkout"], timeout=10,
            what="the update",
        )
    assert admin_b.presences["cart-1"] == admin_a.presences["cart-1"]
    (updated,) = admin_b.metas("cart-1")
    assert updated["phx_ref_prev"] == joined["phx_ref"]

    shopper.leave()
    admin_b.wait_until(lambda v: "cart-1" not in v.presences, timeout=10, what="the leave on b")

    # A graceful stop of b: its master announces the departure, far within DOWN.
    assert "cart-2" in admin_a.presences
    os.kill(b.proc.pid, signal.SIGQUIT)
    b.proc.wait(timeout=15)
    admin_a.wait_until(lambda v: "cart-2" not in v.presences, timeout=5, what="b's departure")
    assert "leaves cluster \"smoke\" for good" in b.error_log
    assert SECRET not in a.error_log + b.error_log
    for client in (admin_a, admin_b, other):
        client.close()


# The subscriber's bound: the largest sealed message a node accepts
# (kMaxInlineMessageBytes) plus 64 KiB of framing and read slack, checked
# after each read of hiredis (16 KiB): a reply one read past it never
# completes within the bound.
MAX_INLINE = 1024 * 1024
MAX_SUBSCRIBER_BUFFERED = MAX_INLINE + 64 * 1024
HIREDIS_READ = 16 * 1024


def publish(redis_port, channel, size):
    proc = subprocess.run(
        ["redis-cli", "-p", str(redis_port), "-x", "publish", channel],
        input=b"\xff" * size,
        capture_output=True,
        timeout=30,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == b"1", proc


def test_an_oversized_message_drops_the_subscriber_once(nginx_factory, redis_port):
    a = cluster_node(nginx_factory, "store-a", redis_port)
    up = f"redis subscriber link to 127.0.0.1:{redis_port} is up"
    oversized = "a reply of more than"
    wait_for_log(a, up)

    # At the bound: refused by the node (not a message of ours), the link
    # stays; had it dropped, the next publish would find no subscriber or
    # drop it a second time.
    publish(redis_port, "smoke:all", MAX_INLINE)
    publish(redis_port, "smoke:all", 10)

    # One read past the transport's bound: dropped with the connection,
    # reconnected once.
    publish(redis_port, "smoke:all", MAX_SUBSCRIBER_BUFFERED + HIREDIS_READ + 1)
    deadline = time.monotonic() + 10
    while a.error_log.count(up) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    publish(redis_port, "smoke:all", 10)
    assert a.error_log.count(oversized) == 1, a.error_log[-2000:]
    assert a.error_log.count(up) == 2, a.error_log[-2000:]


def test_a_unix_socket_link(nginx_factory):
    # Workers run as nobody: the socket's folder and the socket are open to them.
    folder = Path(tempfile.mkdtemp(prefix="presence-redis-"))
    os.chmod(folder, 0o755)
    path = folder / "redis.sock"
    proc = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", str(path), "--unixsocketperm", "777",
         "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not path.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        a = cluster_node(nginx_factory, "store-a", None, f"unix:{path}")
        for role in ("command", "subscriber"):
            wait_for_log(a, f"redis {role} link to unix:{path} is up")
        watcher = subprocess.Popen(
            ["redis-cli", "-s", str(path), "subscribe", "smoke:all"],
            stdout=subprocess.PIPE,
            text=True,
            errors="replace",  # the sealed message is binary
        )
        assert watcher.stdout.readline().strip() == "subscribe"
        # The master's goodbye goes through its own blocking connection.
        os.kill(a.proc.pid, signal.SIGQUIT)
        a.proc.wait(timeout=15)
        assert "could not tell the cluster" not in a.error_log, a.error_log[-2000:]
        assert "leaves cluster \"smoke\" for good" in a.error_log
        # It arrived: subscribe's two confirmation lines, then a message.
        lines = []
        deadline = time.monotonic() + 5
        while "message" not in lines and time.monotonic() < deadline:
            ready, _, _ = select.select([watcher.stdout], [], [], 0.1)
            if ready:
                lines.append(watcher.stdout.readline().strip())
        assert "message" in lines, lines
        watcher.terminate()
        watcher.wait(timeout=10)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
