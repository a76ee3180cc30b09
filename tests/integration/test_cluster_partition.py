"""A node cut off from Redis by a pausable proxy, once for less than `down`
and once for more, while shoppers churn on every node (more removals on each
than its tombstone window holds, so that catch-up needs full states): after
healing every node holds exactly the same presence, key by key and meta by
meta, and exactly the shoppers whose tabs are open."""

import time

from cluster import (
    transitions,
    Shoppers,
    presence_snapshot,
    wait_converged,
    wait_for,
)

# The smallest tombstone log a zone takes: a few hundred updates outrun it.
TOMBSTONES = 64
CHURN_UPDATES = 4 * TOMBSTONES
# Long enough a `down` that the short cut's churn fits in it on a busy machine.
TIMERS = {"batch": "20ms", "heartbeat": "500ms", "down": "3s", "permdown": "20m"}
DOWN_S = 3.0
SHORT_CUT_S = 1.5
LONG_CUT_S = DOWN_S + 2.0


def churn(shoppers, nodes, round_name):
    """On every node: many updates on one tab, a tab leaves, a tab drops,
    two tabs join."""
    for node in nodes:
        tabs = shoppers.on(node)
        shoppers.update_many(tabs[0], CHURN_UPDATES, f"{round_name}-{node.name}")
        shoppers.leave(tabs[1])
        shoppers.drop(tabs[2])
        shoppers.join(node, f"{node.name}-{round_name}-new", f"/{round_name}")
        shoppers.join(node, "cart-everywhere", f"/{round_name}/{node.name}")


def test_a_node_cut_off_shorter_and_longer_than_down_converges(cluster):
    cluster.start_redis()
    proxy = cluster.proxy()
    options = f"tombstones={TOMBSTONES}"
    a = cluster.node("store-a", zone_options=options, timers=TIMERS)
    b = cluster.node("store-b", zone_options=options, timers=TIMERS)
    c = cluster.node("store-c", zone_options=options, timers=TIMERS, via=proxy)
    nodes = [a, b, c]
    shoppers = Shoppers()
    for node in nodes:
        for i in range(8):
            shoppers.join(node, f"{node.name}-{i}", f"/start/{i}")
        shoppers.join(node, "cart-everywhere", f"/start/{node.name}")
    wait_converged(nodes, shoppers.counts(), check=shoppers.holds)
    permdowns = {node.name: transitions(node, "permdown") for node in nodes}

    for round_name, cut_s in (("short", SHORT_CUT_S), ("long", LONG_CUT_S)):
        proxy.pause()
        started = time.monotonic()
        churn(shoppers, nodes, round_name)
        if cut_s > DOWN_S:
            # Silent for longer than `down`: store-c's own shoppers are hidden on a.
            only_c = {tab.sub for tab in shoppers.on(c) if tab.sub.startswith("store-c")}
            wait_for(lambda: not only_c & set(presence_snapshot(a)), "store-c hidden on store-a",
                     timeout=DOWN_S + 5)
            # ... and store-c, hearing nobody, hides a's and b's.
            only_ab = {tab.sub for tab in shoppers.tabs if tab.sub.startswith(("store-a", "store-b"))}
            wait_for(lambda: not only_ab & set(presence_snapshot(c)), "store-a and store-b hidden on store-c",
                     timeout=DOWN_S + 5)
        elapsed = time.monotonic() - started
        assert cut_s > DOWN_S or elapsed < DOWN_S, f"the short cut's churn took {elapsed:.1f}s, not under down"
        while time.monotonic() - started < cut_s:
            time.sleep(0.05)
        if cut_s > DOWN_S:
            # The held connections die as a dead network's would.
            proxy.cut()
        proxy.resume()
        wait_converged(nodes, shoppers.counts(), timeout=30, check=shoppers.holds)

    # Nobody was forgotten: a partition shorter than permdown only hides.
    for node in nodes:
        assert transitions(node, "permdown") == permdowns[node.name]
