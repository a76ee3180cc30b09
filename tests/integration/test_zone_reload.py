"""The presence zone through reloads that fail, remove it or change it. The
tracker handle lives with nginx's cycle: a reload that fails after its zones
were set up leaves every running and respawned worker on the running zone; a
reload that removes or resizes the zone leaves no worker pointing into a zone
it does not map; settings a kept zone cannot change are refused by name."""

import os
import re
import shutil
import signal
import socket
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import Nginx
from helpers import AdminView, PeerClosed, Shopper, worker_of

ZONE = "presence_zone presence:64m"


def crashes(server):
    return re.findall(r"worker process (\d+) exited on signal (\d+)", server.error_log)


def wait_for(predicate, what, timeout=15):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def reload_with(server, text):
    server.conf.write_text(text)
    server.reload()


def replaced_workers(server, old):
    """Waits until a reload's new workers run and the old ones are gone."""
    wait_for(
        lambda: (pids := set(server.worker_pids())) and not (pids & old) and len(pids) == server.workers,
        "the new workers to replace the old ones",
    )
    return set(server.worker_pids())


def metric(server, name):
    text = urllib.request.urlopen(server.metrics_url + "/metrics", timeout=5).read().decode()
    match = re.search(rf"^{name} (\d+)$", text, re.M)
    assert match, text
    return int(match.group(1))


def still_open(tabs):
    alive = []
    for tab in tabs:
        try:
            tab.client.heartbeat(timeout=2)
            alive.append(tab)
        except (PeerClosed, AssertionError, OSError):
            pass
    return alive


@pytest.fixture
def own_server():
    """A server whose log the test checks itself: it kills a worker on purpose."""
    prefix = Path(tempfile.mkdtemp(prefix="presence-nginx-"))
    os.chmod(prefix, 0o755)
    servers = []

    def make(workers=2):
        server = Nginx(prefix, workers=workers).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
    shutil.rmtree(prefix, ignore_errors=True)


def test_failed_resize_then_a_killed_worker_respawns_and_serves(own_server):
    server = own_server(workers=2)
    before = [Shopper(server, f"cart-{i}", {"page": "/before"}) for i in range(4)]
    workers = set(server.worker_pids())
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        busy_port = busy.getsockname()[1]
        text = server.conf.read_text()
        assert ZONE in text
        # A new zone size (so new shared memory), then a listen that cannot bind.
        text = text.replace(ZONE, "presence_zone presence:32m", 1)
        text = text.replace("\nhttp {\n", f"\nhttp {{\n    server {{ listen 127.0.0.1:{busy_port}; }}\n", 1)
        reload_with(server, text)
        wait_for(lambda: "still could not bind()" in server.error_log, "the reload to fail")
    assert set(server.worker_pids()) == workers

    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    wait_for(
        lambda: len(pids := server.worker_pids()) == 2 and victim not in pids,
        "the master to respawn the killed worker",
    )
    respawned = set(server.worker_pids()) - workers

    # Every worker, the respawned one too, takes shoppers into the running zone.
    admin = AdminView(server)
    newcomers, holders = [], set()
    for i in range(60):
        tab = Shopper(server, f"new-{i}", {"page": "/after"})
        newcomers.append(tab)
        holders.add(worker_of(server, tab.client))
        if respawned <= holders and len(holders) == 2:
            break
    assert respawned <= holders, f"no shopper landed on the respawned worker {respawned}"
    expected = {tab.sub: 1 for tab in still_open(before) + newcomers}
    admin.wait_for_counts(expected, timeout=10)
    assert metric(server, "presence_zone_size_bytes") > 32 * 1024 * 1024
    assert crashes(server) == [(str(victim), str(int(signal.SIGKILL)))], server.error_log[-4000:]


def without_presence(server):
    """A configuration that loads the module but configures none of it."""
    return f"""load_module build/module/ngx_http_presence_module.so;
worker_processes {server.workers};
pid .run/nginx.pid;
error_log .run/logs/error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log .run/logs/access.log;
    client_body_temp_path .run/tmp/body;
    proxy_temp_path .run/tmp/proxy;
    fastcgi_temp_path .run/tmp/fastcgi;
    uwsgi_temp_path .run/tmp/uwsgi;
    scgi_temp_path .run/tmp/scgi;
    server {{
        listen 127.0.0.1:{server.port};
        location / {{ return 200 "no presence here\\n"; }}
    }}
}}
"""


def test_a_reload_that_removes_the_zone_leaves_workers_that_exit_cleanly(nginx_factory):
    server = nginx_factory(workers=2)
    tab = Shopper(server, "cart-1", {"page": "/"})
    workers = set(server.worker_pids())
    reload_with(server, without_presence(server))
    workers = replaced_workers(server, workers)
    body = urllib.request.urlopen(server.url + "/", timeout=5).read()
    assert body == b"no presence here\n"
    tab.close()
    # The workers without a zone exit (here for another reload) without a crash.
    server.reload()
    replaced_workers(server, workers)
    assert crashes(server) == [], server.error_log[-4000:]


def test_a_reload_that_resizes_the_zone_starts_an_empty_one_and_says_so(nginx_factory):
    server = nginx_factory(workers=1)
    old_tab = Shopper(server, "cart-old", {"page": "/before"})
    assert metric(server, "presence_zone_size_bytes") > 32 * 1024 * 1024
    workers = set(server.worker_pids())
    reload_with(server, server.conf.read_text().replace(ZONE, "presence_zone presence:32m", 1))
    replaced_workers(server, workers)
    assert re.search(r'presence_zone "presence" resized from 67108864 to 33554432 bytes', server.error_log)
    assert metric(server, "presence_zone_size_bytes") < 32 * 1024 * 1024
    # The old worker told its sockets to reconnect; what the new zone holds is
    # exactly who joined since.
    admin = AdminView(server)
    newcomer = Shopper(server, "cart-new", {"page": "/after"})
    admin.wait_for_counts({"cart-new": 1})
    assert still_open([old_tab]) == []
    newcomer.leave()
    admin.wait_for_counts({})


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("node=store-a", "node=store-b", r'presence_zone "presence" cannot change node=store-a to node=store-b'),
        (ZONE + " ", ZONE + " change_log=1m ", r'presence_zone "presence" cannot change change_log=4194304 to 1048576'),
    ],
)
def test_a_reload_that_changes_what_a_kept_zone_is_made_of_is_refused(nginx_factory, old, new, message):
    server = nginx_factory(workers=1)
    tab = Shopper(server, "cart-1", {"page": "/"})
    workers = set(server.worker_pids())
    text = server.conf.read_text()
    assert old in text
    reload_with(server, text.replace(old, new, 1))
    wait_for(lambda: re.search(message, server.error_log), f"the emerg line {message!r}")
    assert "[emerg]" in server.error_log
    # The running configuration goes on, every presence kept.
    assert set(server.worker_pids()) == workers
    tab.update({"page": "/still-here"})
    admin = AdminView(server)
    admin.wait_for_counts({"cart-1": 1})
    assert admin.metas("cart-1")[0]["page"] == "/still-here"
