"""SIGKILL of only the worker that owns a node's Redis link (the lease
holder), once while idle and once while it merges a large transfer: another
worker takes the lease over, catches up, and every node ends with exactly
the open tabs, no presence lost or doubled."""

import os
import signal

from cluster import (
    connections_on,
    Shoppers,
    many_connections,
    metric_sum,
    start_sim,
    stats_snapshot,
    stop_sim,
    wait_converged,
    wait_for,
)
from helpers import worker_of

BIG_STATE = 60_000


def slices(node):
    try:
        return metric_sum(node.metrics(), "presence_cluster_merge_slices_total")
    except OSError:
        return 0


def test_the_owner_worker_killed_is_replaced_and_nothing_is_lost(cluster):
    cluster.start_redis()
    a = cluster.node("store-a", workers=2, reuseport=True)
    b = cluster.node("store-b")
    shoppers = Shoppers()
    for i in range(12):
        shoppers.join(a, f"store-a-{i}", f"/a{i}")
    for i in range(4):
        shoppers.join(b, f"store-b-{i}", f"/b{i}")
    wait_converged([a, b], shoppers.counts(), check=shoppers.holds)
    takeovers = metric_sum(a.metrics(), "presence_cluster_takeovers_total")

    owner = wait_for(a.redis_owner, "store-a's Redis owner", timeout=10)
    held = [tab for tab in shoppers.on(a) if worker_of(a, tab.client) == owner]
    assert held and len(held) < len(shoppers.on(a)), "every tab on one worker: the test would prove less"
    cluster.expected_crashes.add(owner)
    os.kill(owner, signal.SIGKILL)
    for tab in held:  # their worker died with their sockets
        shoppers.drop(tab)
    # Churn on both nodes while the lease changes hands.
    shoppers.update_many(shoppers.on(b)[0], 50, "during-takeover")
    shoppers.join(b, "store-b-late", "/late")
    shoppers.join(a, "store-a-late", "/late")
    new_owner = wait_for(lambda: (pid := a.redis_owner()) not in (None, owner) and pid, "a new owner", 5)
    assert new_owner != owner
    wait_converged([a, b], shoppers.counts(), timeout=15, check=shoppers.holds)
    assert metric_sum(a.metrics(), "presence_cluster_takeovers_total") >= takeovers + 1
    assert (str(owner), str(int(signal.SIGKILL))) in a.crashes()


def test_the_owner_killed_while_it_merges_a_large_transfer(cluster):
    cluster.start_redis()
    a = cluster.node("store-a", zone_size="128m", **many_connections(BIG_STATE))
    sim = start_sim(a, BIG_STATE, duration_s=120, ramp_per_s=6000)
    try:
        wait_for(lambda: connections_on(a) == BIG_STATE, f"{BIG_STATE} shoppers on store-a",
                 timeout=60, step=0.5)
        b = cluster.node("store-b", workers=2, zone_size="128m", start=False)
        b.start()
        owner = wait_for(b.redis_owner, "store-b's Redis owner", timeout=10, step=0.005)
        # Killed as soon as its merge shows; the merge may have ended by then
        # (what /metrics shows lags the merge), the takeover must hold either way.
        wait_for(lambda: slices(b) > 0, "store-b to start merging", timeout=10, step=0.001)
        cluster.expected_crashes.add(owner)
        os.kill(owner, signal.SIGKILL)
        shoppers = Shoppers()
        shoppers.join(b, "store-b-0", "/b")
        wait_for(lambda: (pid := b.redis_owner()) not in (None, owner) and pid, "a new owner on store-b", 5)
        wait_for(lambda: connections_on(b) == BIG_STATE + 1, "store-b to hold every shopper",
                 timeout=30, step=0.5)
        assert connections_on(a) == BIG_STATE + 1
        assert stats_snapshot(a) == stats_snapshot(b)
    finally:
        stop_sim(sim)
