"""Several workers share one presence (docs/PROTOCOL.md sections 5 and 7):
shoppers held by different workers are seen by one admin, counts are exact
after every change, and a worker killed outright loses its shoppers' metas
and stops counting its sockets."""

import os
import re
import signal
import time
import urllib.request
from collections import defaultdict

import pytest

from conftest import Nginx
from helpers import (
    ADMIN_PATH,
    AdminView,
    PhoenixClient,
    Shopper,
    expected_stats,
    worker_of,
)
from wsclient import PeerClosed

MAX_CONNECTIONS = 60  # how many tries it may take to land on each worker


def item(product, size, qty=1):
    return {"product": product, "size": size, "qty": qty}


def admin_on_each_worker(server):
    """One AdminView per worker pid, opening admin sockets until every
    worker holds one."""
    views = {}
    spare = []
    for i in range(MAX_CONNECTIONS):
        client = PhoenixClient.connect(server, server.keys.admin_token(f"ops-{i}"), ADMIN_PATH, heartbeat_every=0.5)
        pid = worker_of(server, client)
        if pid in views:
            spare.append(client)
            continue
        views[pid] = AdminView(server, client=client)
        if len(views) == server.workers:
            break
    for client in spare:
        client.close()
    assert len(views) == server.workers, f"admins landed on {list(views)} only"
    return views


def test_shoppers_on_every_worker_are_counted_exactly(nginx_factory):
    server = nginx_factory(workers=2)
    admins = admin_on_each_worker(server)
    online = {}
    tabs = []
    per_worker = defaultdict(int)

    def check():
        stats = expected_stats(online)
        counts = {sub: len(metas) for sub, metas in online.items() if metas}
        for view in admins.values():
            view.wait_for_stats(stats)
            view.wait_for_counts(counts)

    for i in range(MAX_CONNECTIONS):
        sub = f"cart-{i % 5}"
        payload = {"page": f"/p{i % 3}", "items": [item("air-max-90", str(8 + i % 4), 1 + i % 2)]}
        tab = Shopper(server, sub, payload)
        tabs.append((tab, payload))
        per_worker[worker_of(server, tab.client)] += 1
        online.setdefault(sub, []).append(payload)
        check()
        if i >= 7 and len(per_worker) == 2 and min(per_worker.values()) >= 3:
            break
    assert len(per_worker) == 2 and min(per_worker.values()) >= 3, f"shoppers per worker: {dict(per_worker)}"

    for n, (tab, payload) in enumerate(tabs[:6]):
        new_payload = {"page": f"/moved{n % 2}", "items": [item("pegasus", "9", n + 1)]}
        tab.update(new_payload)
        online[tab.sub].remove(payload)
        online[tab.sub].append(new_payload)
        tabs[n] = (tab, new_payload)
        check()

    for tab, payload in tabs:
        tab.leave()
        online[tab.sub].remove(payload)
        if not online[tab.sub]:
            del online[tab.sub]
        check()


@pytest.fixture
def killable_server(tmp_path):
    """Two workers, started outside nginx_factory, whose crash check would
    count the worker this test kills on purpose; the test checks the log
    itself."""
    server = Nginx(tmp_path / "killable", workers=2).start()
    yield server
    server.stop()


def test_killed_worker_loses_its_shoppers(killable_server):
    server = killable_server
    admins = admin_on_each_worker(server)
    survivor_pid, victim_pid = sorted(admins)
    admin = admins[survivor_pid]
    admins[victim_pid].client.close()

    shoppers = {survivor_pid: [], victim_pid: []}
    for i in range(MAX_CONNECTIONS):
        tab = Shopper(server, f"cart-{i}", {"page": "/"})
        shoppers[worker_of(server, tab.client)].append(tab)
        if len(shoppers[survivor_pid]) >= 2 and len(shoppers[victim_pid]) >= 3:
            break
    assert len(shoppers[survivor_pid]) >= 2 and len(shoppers[victim_pid]) >= 3, {
        pid: len(tabs) for pid, tabs in shoppers.items()
    }
    admin.wait_for_counts({tab.sub: 1 for tabs in shoppers.values() for tab in tabs})

    os.kill(victim_pid, signal.SIGKILL)
    survivors = {tab.sub: 1 for tab in shoppers[survivor_pid]}
    admin.wait_for_counts(survivors, timeout=10)
    admin.wait_for_stats(expected_stats({sub: [{"page": "/"}] for sub in survivors}))
    for tab in shoppers[survivor_pid]:
        tab.client.heartbeat()

    # The master respawns the worker and the presence keeps working.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pids = server.worker_pids()
        if len(pids) == 2 and victim_pid not in pids:
            break
        time.sleep(0.05)
    assert len(server.worker_pids()) == 2 and victim_pid not in server.worker_pids()
    newcomers = [Shopper(server, f"new-{i}", {"page": "/new"}) for i in range(6)]
    admin.wait_for_counts(dict(survivors, **{tab.sub: 1 for tab in newcomers}))

    log = server.error_log
    crashes = re.findall(r"worker process (\d+) exited on signal (\d+)", log)
    assert crashes == [(str(victim_pid), str(int(signal.SIGKILL)))], log[-4000:]


def open_subs(tabs):
    """The shoppers whose sockets still answer a heartbeat."""
    alive = set()
    for tab in tabs:
        try:
            tab.client.heartbeat(timeout=2)
            alive.add(tab.sub)
        except (PeerClosed, AssertionError):
            pass
    return alive


def test_reload_keeps_presence_equal_to_open_sockets(nginx_factory):
    server = nginx_factory(workers=2)
    tabs = [Shopper(server, f"cart-{i}", {"page": "/before"}) for i in range(4)]
    old_workers = set(server.worker_pids())
    server.reload()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (set(server.worker_pids()) - old_workers):
        time.sleep(0.05)
    new_workers = set(server.worker_pids()) - old_workers
    assert new_workers, "no new worker after a reload"

    # An admin on a new worker, reading the zone the reload kept, sees the
    # shoppers whose sockets are still open (the old workers may keep them
    # or close them, but the presence must say which).
    admin = None
    for i in range(MAX_CONNECTIONS):
        client = PhoenixClient.connect(server, server.keys.admin_token(f"ops-{i}"), ADMIN_PATH, heartbeat_every=0.5)
        if worker_of(server, client) in new_workers:
            admin = AdminView(server, client=client)
            break
        client.close()
    assert admin, "no admin landed on a new worker"
    admin.wait_until(
        lambda v: set(v.presences) == open_subs(tabs), timeout=10, what="exactly the shoppers still connected"
    )
    newcomer = Shopper(server, "after-reload", {"page": "/after"})
    admin.wait_until(lambda v: "after-reload" in v.presences, what="a shopper joined after the reload")
    newcomer.leave()


def sockets_open(server):
    text = urllib.request.urlopen(server.metrics_url + "/metrics", timeout=5).read().decode()
    match = re.search(r"^presence_sockets_open (\d+)$", text, re.M)
    assert match, text
    return int(match.group(1))


def wait_for_sockets_open(server, expected, timeout=10):
    deadline = time.monotonic() + timeout
    while (seen := sockets_open(server)) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"presence_sockets_open is {seen}, expected {expected}")
        time.sleep(0.05)


def test_killed_workers_sockets_stop_counting(killable_server):
    server = killable_server
    tabs = []
    killed = []
    for kill_round in range(3):
        by_worker = defaultdict(list)
        for tab in tabs:
            by_worker[worker_of(server, tab.client)].append(tab)
        for i in range(MAX_CONNECTIONS):
            if len(by_worker) == 2 and min(len(held) for held in by_worker.values()) >= 3:
                break
            tab = Shopper(server, f"cart-{kill_round}-{i}", {"page": "/"})
            by_worker[worker_of(server, tab.client)].append(tab)
        assert len(by_worker) == 2 and min(len(held) for held in by_worker.values()) >= 3, dict(by_worker)
        tabs = [tab for held in by_worker.values() for tab in held]
        wait_for_sockets_open(server, len(tabs))

        victim = max(by_worker)
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)
        for tab in by_worker.pop(victim):
            tab.client.ws.sock.close()
        tabs = [tab for held in by_worker.values() for tab in held]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pids = server.worker_pids()
            if len(pids) == 2 and victim not in pids:
                break
            time.sleep(0.05)
        assert len(server.worker_pids()) == 2 and victim not in server.worker_pids()
        wait_for_sockets_open(server, len(tabs))

    for tab in tabs:
        tab.close()
    wait_for_sockets_open(server, 0)
    crashes = re.findall(r"worker process (\d+) exited on signal (\d+)", server.error_log)
    assert crashes == [(str(pid), str(int(signal.SIGKILL))) for pid in killed], server.error_log[-4000:]
