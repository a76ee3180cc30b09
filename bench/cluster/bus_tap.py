#!/usr/bin/python3
"""Watches a cluster run's bus: subscribes to "<cluster>:all" on the run's Redis (OUT/redis.port,
written by cluster.py) and prints, every second, the messages seen per sender node and kind
(heartbeat, delta, ...), with their bytes. Read only; stops after SECONDS.

  bench/cluster/bus_tap.py OUT SECONDS [--cluster bench]
"""
import argparse
import collections
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import CLUSTER, Redis  # noqa: E402

# The sealed envelope's kind byte (presence/cluster_message.hpp).
KINDS = {1: "heartbeat", 2: "delta", 3: "transfer_req", 4: "transfer_ack", 5: "pointer",
         6: "permdown"}
KIND_BYTE = 3
# The sender's name is written in clear near the start of the envelope.
SENDER_WINDOW = 80


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("seconds", type=float)
    p.add_argument("--cluster", default=CLUSTER)
    p.add_argument("--nodes", default="store-a,store-b,store-c")
    args = p.parse_args()
    deadline = time.monotonic() + args.seconds
    port = None
    while port is None and time.monotonic() < deadline:
        try:
            with open(os.path.join(args.out, "redis.port")) as f:
                port = int(f.read())
        except (OSError, ValueError):
            time.sleep(0.2)
    if port is None:
        return 1
    names = [n.encode() for n in args.nodes.split(",")]
    bus = Redis(port)
    bus.sock.settimeout(1)
    bus.call("SUBSCRIBE", f"{args.cluster}:all")
    bus.raw = True
    counts = collections.Counter()
    sizes = collections.Counter()
    start = time.monotonic()
    second = 0
    while time.monotonic() < deadline:
        try:
            reply = bus.reply()
        except (TimeoutError, OSError):
            reply = None
        if isinstance(reply, list) and reply[0] == b"message":
            raw = reply[2]
            kind = KINDS.get(raw[KIND_BYTE], "?") if len(raw) > KIND_BYTE else "?"
            # The first name written is the sender's (a heartbeat's context names others after it).
            found = [(raw.find(n, 0, SENDER_WINDOW), n) for n in names]
            found = [(at, n) for at, n in found if at >= 0]
            sender = min(found)[1].decode() if found else "?"
            counts[(sender, kind)] += 1
            sizes[(sender, kind)] += len(raw)
        now = int(time.monotonic() - start)
        if now != second:
            print(now, {f"{s}/{k}": [counts[(s, k)], sizes[(s, k)]] for s, k in sorted(counts)},
                  flush=True)
            counts.clear()
            sizes.clear()
            second = now
    bus.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
