"""Garbage on the cluster's channels, published straight to Redis: random
bytes, a message cut short, a flipped MAC, a message sealed with another
key, a replayed real delta (whose shopper has left since), a MAC-valid
delta claiming another sender (spoofed origin), a name that is not UTF-8,
a message past the inline bound and a 40 MB one. Nothing is merged (every
node's presence stays exactly as it was), each kind of drop is counted, no
worker crashes, the drops are logged with a rate limit, and the link does
not reconnect in a loop."""

import os
import re
import time

from cluster import (
    CLUSTER,
    Shoppers,
    metric_sum,
    wait_converged,
    wait_for,
)
from cluster_wire import KINDS, derive_key, parse, seal, verify

ALL = f"{CLUSTER}:all"
INLINE_BOUND = 1024 * 1024  # kMaxInlineMessageBytes
HUGE = 40 * 1024 * 1024
RANDOM_MESSAGES = 200
DROP = "presence_cluster_messages_dropped_total"


REASONS = ("malformed", "bad_mac", "replayed_or_stale", "spoofed", "oversized")


def drops(node, reason):
    if reason == "replayed_or_stale":
        return drops(node, "replayed") + drops(node, "stale")
    return metric_sum(node.metrics(), DROP, reason=reason)


def counter(node, name):
    return metric_sum(node.metrics(), name)


def now_ms():
    return int(time.time() * 1000)


def test_garbage_on_the_bus_is_counted_and_never_merged(cluster):
    redis = cluster.start_redis()
    a, b, c = (cluster.node(name) for name in ("store-a", "store-b", "store-c"))
    nodes = [a, b, c]
    key = derive_key(cluster.secret_path.read_bytes())
    bus = redis.subscriber([ALL])
    shoppers = Shoppers()
    for node in nodes:
        shoppers.join(node, f"{node.name}-0", "/p0")
    wait_converged(nodes, shoppers.counts(), check=shoppers.holds)

    # A real delta of store-b's, carrying a shopper who then leaves.
    victim = shoppers.join(b, "store-b-victim", "/victim")
    _, captured = bus.wait_for(
        lambda ch, m: m[:2] == b"PC" and parse(m).node == b"store-b" and parse(m).kind == KINDS["delta"]
        and b"store-b-victim" in m,
        what="store-b's delta with the victim")
    assert verify(captured, key), "the harness's HMAC differs from the module's"
    real = parse(captured)
    _, heartbeat_c = bus.wait_for(lambda ch, m: m[:2] == b"PC" and parse(m).node == b"store-c"
                                  and parse(m).kind == KINDS["heartbeat"], what="a heartbeat of store-c")
    c_generation = parse(heartbeat_c).generation
    shoppers.leave(victim)
    before, _ = wait_converged(nodes, shoppers.counts(), check=shoppers.holds)
    bus.close()

    counters_before = {
        node.name: {reason: drops(node, reason) for reason in REASONS}
        for node in nodes
    }
    connects_before = {node.name: counter(node, "presence_cluster_redis_connects_total") for node in nodes}
    log_sizes = {node.name: len(node.error_log) for node in nodes}
    publisher = redis.client(timeout=60)

    def publish(message, channel=ALL):
        publisher.command("PUBLISH", channel, message)

    rng = os.urandom
    for i in range(RANDOM_MESSAGES):
        publish(rng(1 + i * 37 % 4000))
    publish(rng(64), f"{CLUSTER}:node:store-a")
    publish(captured[: len(captured) // 2])  # cut short
    publish(captured[:-1] + bytes([captured[-1] ^ 1]))  # a flipped MAC
    wrong_key = derive_key(b"w" * 64)
    publish(seal(real.with_(seq=real.seq + 10, sent_ms=now_ms()), wrong_key))  # not our secret
    publish(captured)  # replayed: its shopper left since
    # MAC-valid, fresh, but store-c sending store-b's metas.
    publish(seal(real.with_(node=b"store-c", generation=c_generation, seq=(now_ms() << 16) + 7,
                            sent_ms=now_ms()), key))
    # MAC-valid with a sender name that is not UTF-8.
    publish(seal(real.with_(node=b"store-\xff\xfe", seq=(now_ms() << 16) + 9, sent_ms=now_ms()), key))
    publish(seal(real.with_(seq=(now_ms() << 16) + 11, sent_ms=now_ms(), payload=rng(INLINE_BOUND + 1)), key))
    publish(rng(HUGE))
    publisher.close()

    # store-b drops its own messages (the captured ones, and forgeries in its
    # name) before decoding them, and store-c the spoof in its own name.
    random_drops = RANDOM_MESSAGES + 1  # and the message whose sender is not UTF-8
    expected_at_least = {
        "store-a": {"malformed": random_drops + 2, "bad_mac": 2, "replayed_or_stale": 1, "spoofed": 1,
                    "oversized": 1},
        "store-b": {"malformed": random_drops, "bad_mac": 0, "replayed_or_stale": 0, "spoofed": 1,
                    "oversized": 1},
        "store-c": {"malformed": random_drops + 1, "bad_mac": 2, "replayed_or_stale": 1, "spoofed": 0,
                    "oversized": 1},
    }
    for node in nodes:
        for reason, n in expected_at_least[node.name].items():
            wait_for(lambda: drops(node, reason) >= counters_before[node.name][reason] + n,
                     f"{node.name} to count {n} {reason} drops", timeout=15, step=0.2)

    # Nothing was merged. A barrier: store-b's next delta reaches every node
    # after everything published before it (one channel, in order).
    shoppers.join(b, "store-b-barrier", "/barrier")
    after, _ = wait_converged(nodes, shoppers.counts(), check=shoppers.holds)
    after.pop("store-b-barrier")
    assert after == before

    # A 40 MB message may cost a subscriber its connection once (Redis drops
    # a subscriber past 32 MB of output); never a loop of reconnects.
    settled = {node.name: counter(node, "presence_cluster_redis_connects_total") for node in nodes}
    time.sleep(3.0)
    unlogged = []
    for node in nodes:
        connects = counter(node, "presence_cluster_redis_connects_total")
        assert connects == settled[node.name], f"{node.name} kept reconnecting"
        assert connects <= connects_before[node.name] + 2, f"{node.name}: {connects_before[node.name]} -> {connects}"
        assert node.crashes() == []
        assert "exited on signal" not in node.error_log
        new_lines = node.error_log[log_sizes[node.name]:].splitlines()
        dropped_lines = [line for line in new_lines if re.search(r"drop|malformed|MAC|spoof|replay", line, re.I)]
        assert len(dropped_lines) < RANDOM_MESSAGES / 4, f"{node.name}: {len(dropped_lines)} lines for the garbage"
        if not dropped_lines:
            unlogged.append(node.name)
    # Logged, with a rate limit: an operator learns that someone sends garbage.
    assert not unlogged, f"no log line about the dropped messages on {unlogged}"
