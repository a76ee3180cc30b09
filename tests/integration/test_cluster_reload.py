"""`nginx -s reload` of a node under load (the simulator updating, test tabs
open): the node stays the same replica (its metas keep their phx_refs on the
other node, it is never hidden there, nothing is permdowned), and once the
load ends every node holds exactly the tabs still open."""

import threading

from cluster import (
    connections_on,
    DEFAULT_TIMERS,
    Shoppers,
    replica_generations,
    open_subs,
    presence_snapshot,
    start_sim,
    stop_sim,
    transitions,
    wait_converged,
    wait_for,
)
from helpers import AdminView

SIM_SHOPPERS = 2000
SIM_SECONDS = 25


class NodesWatcher(threading.Thread):
    """Follows admin:stats on a node and records every `nodes` list seen."""

    def __init__(self, node):
        super().__init__(daemon=True)
        self.view = AdminView(node, topics=("admin:stats",))
        self.seen = []
        self.running = True

    def run(self):
        while self.running:
            self.view.client.pump(0.2)
            self.view.absorb()
            if self.view.stats is not None:
                self.seen.append(tuple(sorted(self.view.stats["nodes"])))

    def stop(self):
        self.running = False
        self.join(timeout=5)
        self.view.close()


def test_reload_under_load_keeps_the_replica(cluster):
    cluster.start_redis()
    a = cluster.node("store-a", workers=2, timers=DEFAULT_TIMERS, reuseport=True)
    b = cluster.node("store-b", timers=DEFAULT_TIMERS)
    shoppers = Shoppers()
    for i in range(10):
        shoppers.join(a, f"store-a-{i}", f"/a{i}")
    for i in range(3):
        shoppers.join(b, f"store-b-{i}", f"/b{i}")
    wait_converged([a, b], shoppers.counts(), check=shoppers.holds)
    refs_before = presence_snapshot(b)
    transitions_before = {to: transitions(b, to) for to in ("down", "permdown")}
    [generation] = replica_generations(b, "store-a")

    sim = start_sim(a, SIM_SHOPPERS, duration_s=SIM_SECONDS, ramp_per_s=2000, update_rate=300)
    watcher = NodesWatcher(b)
    watcher.start()
    try:
        wait_for(lambda: (connections_on(b) or 0) >= SIM_SHOPPERS + 13, "the load on store-a seen on store-b",
                 timeout=20, step=0.25)
        old_workers = set(a.worker_pids())
        a.reload()
        wait_for(lambda: (pids := set(a.worker_pids())) and not pids & old_workers and len(pids) == 2,
                 "the reload's workers to replace the old ones", timeout=30, step=0.1)
        # Load goes on through the new workers.
        shoppers.join(a, "store-a-after-reload", "/after")
        sim.wait(timeout=SIM_SECONDS + 30)
    finally:
        stop_sim(sim)
        watcher.stop()

    # Exactly the tabs still open, the same on both nodes.
    shoppers.tabs = [tab for tab in shoppers.tabs if open_subs([tab])]
    wait_converged([a, b], shoppers.counts(), timeout=20, check=shoppers.holds)
    assert watcher.seen, "no stats on store-b during the reload"
    assert all(nodes == ("store-a", "store-b") for nodes in watcher.seen), sorted(set(watcher.seen))
    for to, before in transitions_before.items():
        assert transitions(b, to) == before, to
    assert replica_generations(b, "store-a") == {generation}
    assert replica_generations(a, "store-a") == {generation}
    # The same replica: store-a's metas kept their phx_refs on store-b.
    after = presence_snapshot(b)
    for tab in shoppers.on(a):
        if tab.sub in refs_before:
            assert set(after[tab.sub]) == set(refs_before[tab.sub]), tab.sub
