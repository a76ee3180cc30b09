"""The launch timeline on `admin:history`: shoppers driven through a ramp, a
plateau and a drop show in the samples an admin receives, one a second
across workers, with the counts of what happened; an admin joining late gets
the early ramp in bounded chunks; the timeline survives a reload and a
worker killed; `presence_history` rejects windows past its bounds."""

import json
import os
import signal
import time

import pytest

from helpers import ADMIN_PATH, NODE_NAME, Crowd, PhoenixClient, Shopper
from conftest import Nginx

# Samples in one `history` push (core/include/presence/history_feed.hpp).
SAMPLES_PER_PUSH = 120
FIELDS = ["at", "shoppers", "shoppers_max", "connections", "joins", "leaves", "updates", "cart_added", "cart_removed"]
SHAPE_RAMP = [4, 4, 4, 4, 4]  # shoppers joining in each of five seconds
DROP = 14  # shoppers leaving after the plateau


class HistoryAdmin:
    """An admin joined to admin:history that keeps every sample it gets."""

    def __init__(self, server):
        self.client = PhoenixClient.connect(server, server.keys.admin_token(), ADMIN_PATH, heartbeat_every=5)
        status, _, self.join_ref = self.client.join("admin:history")
        assert status == "ok"
        self.seen = 0
        self.pushes = []
        self.seconds = {}
        self.minutes = {}
        self.backlog_done_at = None

    def read(self, timeout=0.2):
        self.client.pump(timeout)
        for message in self.client.received[self.seen :]:
            self.seen += 1
            if message[2] != "admin:history" or message[3] != "history":
                continue
            payload = message[4]
            self.pushes.append((len(json.dumps(message)), payload))
            rows = self.seconds if payload["resolution"] == "second" else self.minutes
            for row in payload["samples"]:
                assert len(row) == len(FIELDS)
                assert row[0] not in rows, f"sample {row[0]} sent twice"
                rows[row[0]] = dict(zip(FIELDS, row))
            if not payload["more"] and self.backlog_done_at is None:
                self.backlog_done_at = len(self.pushes)

    def wait(self, predicate, what, timeout=15):
        deadline = time.monotonic() + timeout
        while not predicate(self):
            assert time.monotonic() < deadline, f"no {what} within {timeout}s; last {self.pushes[-3:]}"
            self.read()

    def since(self, start_ms):
        return [self.seconds[at] for at in sorted(self.seconds) if at >= start_ms]

    def close(self):
        self.client.close()


def newest(admin):
    return max(admin.seconds) if admin.seconds else 0


def wait_for_a_sample_after(admin, ms):
    """Waits until a sample of a second after `ms` arrived: what happened by
    `ms` is then counted."""
    admin.wait(lambda a: newest(a) > ms, f"a sample after {ms}")


def item(product, size, qty=1):
    return {"product": product, "size": size, "qty": qty}


def drive_launch(server, admin):
    """Ramp, plateau, drop; returns (start_ms, end_ms, crowd)."""
    crowd = Crowd(server)
    start_ms = int(time.time() * 1000) // 1000 * 1000
    n = 0
    for wave in SHAPE_RAMP:
        for _ in range(wave):
            crowd.join(f"cart-{n:03d}", {"page": "/launch", "items": [item("air-max-90", "10")]})
            n += 1
        wait_for_a_sample_after(admin, int(time.time() * 1000))
    for tab in crowd.tabs[:3]:
        tab.update({"items": [item("air-max-90", "10", 3)]})  # +2 shoes each
    plateau_until = time.monotonic() + 2.5
    while time.monotonic() < plateau_until:
        admin.read()
    for tab in crowd.tabs[-DROP:]:
        tab.close()
    crowd.tabs = crowd.tabs[:-DROP]
    end_ms = int(time.time() * 1000)
    return start_ms, end_ms, crowd


def unimodal(values):
    top = values.index(max(values))
    return all(a <= b for a, b in zip(values[:top], values[1 : top + 1])) and all(
        a >= b for a, b in zip(values[top:], values[top + 1 :])
    )


def test_an_admin_follows_a_launch_and_a_late_admin_gets_the_early_ramp(nginx_factory):
    server = nginx_factory(workers=2)
    admin = HistoryAdmin(server)
    admin.wait(lambda a: a.backlog_done_at is not None, "end of the backlog")
    start_ms, end_ms, crowd = drive_launch(server, admin)
    total = sum(SHAPE_RAMP)
    # The last leaves are counted once the server's shopper count shows them.
    admin.wait(lambda a: newest(a) > end_ms and a.seconds[newest(a)]["shoppers"] == total - DROP, "the drop")
    wait_for_a_sample_after(admin, newest(admin) + 1)

    samples = admin.since(start_ms)
    ats = [s["at"] for s in samples]
    assert all(at % 1000 == 0 for at in ats)
    assert ats == sorted(set(ats)), "one sample a second across the two workers"
    shoppers = [s["shoppers"] for s in samples]
    assert max(shoppers) == total
    assert unimodal(shoppers), shoppers
    assert shoppers[-1] == total - DROP
    assert sum(s["joins"] for s in samples) == total
    assert sum(s["leaves"] for s in samples) == DROP
    assert sum(s["updates"] for s in samples) == 3
    assert sum(s["cart_added"] for s in samples) == total + 3 * 2
    assert sum(s["cart_removed"] for s in samples) == DROP
    assert all(s["connections"] == s["shoppers"] for s in samples)

    peak = admin.pushes[-1][1]["peak"]
    assert peak["shoppers"] == total
    first_at_peak = next(s["at"] for s in samples if s["shoppers"] == total)
    assert peak["at"] == first_at_peak
    assert all(payload["node"] == NODE_NAME for _, payload in admin.pushes)

    late = HistoryAdmin(server)
    late.wait(lambda a: a.backlog_done_at is not None, "the late admin's backlog")
    assert [late.seconds[at] for at in ats if at in late.seconds] == samples, "the late admin's early ramp"
    assert all(at in late.seconds for at in ats)
    for size, payload in late.pushes:
        assert len(payload["samples"]) <= SAMPLES_PER_PUSH
        assert size < 16 * 1024
    assert all(payload["more"] for _, payload in late.pushes[: late.backlog_done_at - 1])
    admin.close()
    late.close()


def wait_for_workers(server, predicate, what, timeout=15):
    deadline = time.monotonic() + timeout
    while not predicate(set(server.worker_pids())):
        assert time.monotonic() < deadline, f"no {what} within {timeout}s"
        time.sleep(0.05)


@pytest.fixture
def killable_server(tmp_path):
    """Two workers outside nginx_factory, whose crash check would count the
    worker this test kills on purpose."""
    server = Nginx(tmp_path / "killable", workers=2).start()
    yield server
    server.stop()


def test_the_timeline_survives_a_reload_and_a_killed_worker(killable_server):
    server = killable_server
    crowd = Crowd(server)
    for n in range(3):
        crowd.join(f"cart-{n}", {"page": "/"})
    admin = HistoryAdmin(server)
    wait_for_a_sample_after(admin, int(time.time() * 1000))
    before = dict(admin.seconds)
    admin.close()

    old_workers = set(server.worker_pids())
    server.reload()
    wait_for_workers(server, lambda pids: len(pids) == 2 and not pids & old_workers, "the reloaded workers")
    victim = server.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    wait_for_workers(server, lambda pids: len(pids) == 2 and victim not in pids, "the respawned worker")
    after = HistoryAdmin(server)
    after.wait(lambda a: a.backlog_done_at is not None, "the backlog after the reload")
    assert all(after.seconds.get(at) == row for at, row in before.items()), "samples lost"
    after.close()


@pytest.mark.parametrize("bad", ["59s 24h", "6h1s 24h", "1h 59m", "1h 7d1m", "1h 90s", "soon 24h"])
def test_history_windows_past_their_bounds_fail_nginx_t(tmp_path, bad):
    server = Nginx(tmp_path, overrides={"presence_history": bad})
    result = server.test_config()
    assert result.returncode != 0
    assert '"presence_history" directive invalid' in result.stderr, result.stderr


@pytest.mark.parametrize("edge", ["1m 1h", "6h 7d"])
def test_history_windows_at_their_bounds_pass_nginx_t(tmp_path, edge):
    server = Nginx(tmp_path, overrides={"presence_history": edge})
    result = server.test_config()
    assert result.returncode == 0, result.stderr


def test_a_shopper_cannot_join_the_timeline(nginx):
    tab = Shopper(nginx, "cart-1", {"page": "/"})
    status, response, _ = tab.client.join("admin:history")
    assert (status, response) == ("error", {"reason": "unauthorized"})
    tab.client.heartbeat()


def test_a_small_zone_keeps_ten_minutes_of_seconds_unless_told(tmp_path):
    server = Nginx(tmp_path, overrides={"presence_zone": "presence:1m node=store-a"})
    told = server.test_config()
    assert told.returncode != 0, "1h 24h does not fit a 1m zone"
    assert "too small for the change log, the history and the tables" in told.stderr, told.stderr
    server.conf.write_text(server.conf.read_text().replace("presence_history 1h 24h;", ""))
    result = server.test_config()
    assert result.returncode == 0, result.stderr
