"""redis-server killed (SIGKILL) and started again on the same port while
shoppers churn on every node: once briefly, once for longer than a shortened
`permdown`, so that every node forgets the others and must admit them again.
Every node converges to exactly the open tabs."""

import time

from cluster import (
    transitions,
    Shoppers,
    metric_sum,
    wait_converged,
    wait_for,
)

TIMERS = {"batch": "20ms", "heartbeat": "200ms", "down": "1s", "permdown": "3s"}
PERMDOWN_S = 3.0
BRIEF_OUTAGE_S = 0.5
NAMES = ("store-a", "store-b", "store-c")


def churn(shoppers, nodes, tag):
    for node in nodes:
        tabs = shoppers.on(node)
        shoppers.update_many(tabs[0], 100, f"{tag}-{node.name}")
        shoppers.leave(tabs[1])
        shoppers.join(node, f"{node.name}-{tag}", f"/{tag}")
        shoppers.join(node, "cart-everywhere", f"/{tag}/{node.name}")


def counter(node, name):
    return metric_sum(node.metrics(), name)


def test_redis_killed_and_restarted_during_churn(cluster):
    redis = cluster.start_redis()
    nodes = [cluster.node(name, timers=TIMERS) for name in NAMES]
    shoppers = Shoppers()
    for node in nodes:
        for i in range(6):
            shoppers.join(node, f"{node.name}-{i}", f"/p{i}")
    wait_converged(nodes, shoppers.counts(), check=shoppers.holds)

    # A brief outage: shorter than `down`.
    redis.kill()
    started = time.monotonic()
    churn(shoppers, nodes, "brief")
    while time.monotonic() - started < BRIEF_OUTAGE_S:
        time.sleep(0.05)
    redis.start()
    wait_converged(nodes, shoppers.counts(), timeout=30, check=shoppers.holds)

    # An outage past `permdown`: every node forgets the two others ...
    permdowns = {node.name: transitions(node, "permdown") for node in nodes}
    readmitted = {node.name: transitions(node, "readmitted") for node in nodes}
    redis.kill()
    churn(shoppers, nodes, "long")
    for node in nodes:
        wait_for(lambda: transitions(node, "permdown") >= permdowns[node.name] + 2,
                 f"{node.name} to permdown the two others", timeout=PERMDOWN_S + 10, step=0.2)
    churn(shoppers, nodes, "forgotten")
    redis.start()
    # ... and admits them again when they speak.
    wait_converged(nodes, shoppers.counts(), timeout=30, check=shoppers.holds)
    for node in nodes:
        assert transitions(node, "readmitted") >= readmitted[node.name] + 2
