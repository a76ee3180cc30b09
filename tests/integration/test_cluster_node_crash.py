"""SIGKILL of one node's whole nginx (master and workers): its shoppers
disappear from the other nodes within `down` plus a second; started again it
is a new generation that rejoins, gets the others' state, and its old
generation is forgotten (permdowned) the moment the new one is seen, not
after `permdown`. Default timers: `down` is 5 s as shipped."""

import signal
import time

from cluster import (
    transitions,
    DEFAULT_TIMERS,
    Shoppers,
    presence_snapshot,
    replica_generations,
    wait_converged,
    wait_for,
)

DEFAULT_DOWN_S = 5.0


def hidden_everywhere_within(nodes, subs, timeout):
    """Polls every node's admin until none shows `subs`; returns seconds taken."""
    started = time.monotonic()
    while True:
        left = {node.name: sorted(subs & set(presence_snapshot(node))) for node in nodes}
        if not any(left.values()):
            return time.monotonic() - started
        assert time.monotonic() - started < timeout, f"still shown after {timeout}s: {left}"
        time.sleep(0.1)


def test_a_killed_node_is_hidden_then_rejoins_as_a_new_generation(cluster):
    cluster.start_redis()
    a, b, c = (cluster.node(name, timers=DEFAULT_TIMERS, workers=2) for name in ("store-a", "store-b", "store-c"))
    nodes = [a, b, c]
    shoppers = Shoppers()
    for node in nodes:
        for i in range(5):
            shoppers.join(node, f"{node.name}-{i}", f"/p{i}")
        shoppers.join(node, "cart-everywhere", f"/{node.name}")
    wait_converged(nodes, shoppers.counts(), check=shoppers.holds)
    permdowns = {n.name: transitions(n, "permdown") for n in (a, b)}
    [old_generation] = replica_generations(a, "store-c")

    killed_at = time.monotonic()
    c.kill_all()
    gone = shoppers.forget_node(c)
    c_only = {tab.sub for tab in gone if tab.sub.startswith("store-c")}
    hidden_everywhere_within([a, b], c_only, DEFAULT_DOWN_S + 1.0 - (time.monotonic() - killed_at))
    wait_converged([a, b], shoppers.counts(), check=shoppers.holds)
    # Down is not permdown: the dead generation is only hidden yet.
    for node in (a, b):
        assert transitions(node, "permdown") == permdowns[node.name]

    # Churn while it is away, then the same node name starts again.
    shoppers.leave(shoppers.on(a)[0])
    shoppers.join(b, "store-b-late", "/late")
    c.restart()
    shoppers.join(c, "store-c-reborn", "/reborn")
    # The new generation gets the others' state and they get its shopper.
    wait_converged(nodes, shoppers.counts(), timeout=15, check=shoppers.holds)
    # The old generation was forgotten when the new one spoke, long before permdown (20 min).
    for node in (a, b):
        assert transitions(node, "permdown") == permdowns[node.name] + 1
        [new_generation] = replica_generations(node, "store-c")
        assert new_generation != old_generation


def test_a_node_killed_and_restarted_before_down_loses_its_old_shoppers_at_once(cluster):
    cluster.start_redis()
    a, c = (cluster.node(name, timers=DEFAULT_TIMERS) for name in ("store-a", "store-c"))
    shoppers = Shoppers()
    shoppers.join(a, "store-a-0", "/a")
    for i in range(4):
        shoppers.join(c, f"store-c-{i}", "/old")
    wait_converged([a, c], shoppers.counts(), check=shoppers.holds)

    killed_at = time.monotonic()
    c.kill_all()
    old = {tab.sub for tab in shoppers.forget_node(c)}
    c.restart()
    shoppers.join(c, "store-c-new", "/new")
    # Once a shows the new generation's shopper, the old generation's are gone
    # in the same state: they were not left to wait for `down`.
    while True:
        seen = presence_snapshot(a)
        if "store-c-new" in seen:
            break
        assert time.monotonic() - killed_at < DEFAULT_DOWN_S + 5, "the new generation never reached store-a"
        time.sleep(0.05)
    # Seen before `down` could have hidden the old generation: the test proves what it says.
    assert time.monotonic() - killed_at < DEFAULT_DOWN_S, "the restart took longer than down"
    assert not old & set(seen), f"old generation still shown next to the new one: {sorted(old & set(seen))}"
    wait_converged([a, c], shoppers.counts(), check=shoppers.holds)


def test_a_graceful_quit_announces_permdown(cluster):
    cluster.start_redis()
    a, c = (cluster.node(name, timers=DEFAULT_TIMERS) for name in ("store-a", "store-c"))
    shoppers = Shoppers()
    shoppers.join(a, "store-a-0", "/a")
    shoppers.join(c, "store-c-0", "/c")
    wait_converged([a, c], shoppers.counts(), check=shoppers.holds)
    permdowns = transitions(a, "permdown")
    c.proc.send_signal(signal.SIGQUIT)  # nginx -s quit
    c.proc.wait(timeout=15)
    shoppers.forget_node(c)
    # With permdown at its 20 min default, only the announcement forgets store-c.
    wait_for(lambda: transitions(a, "permdown") == permdowns + 1, "store-a to forget store-c", timeout=10)
    assert replica_generations(a, "store-c") == set()
    wait_converged([a], shoppers.counts(), check=shoppers.holds)
