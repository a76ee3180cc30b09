"""Phoenix Channels V2 on top of the raw client, an admin's view of the
presence and the stats, and which worker holds a connection. Every wait is
bounded and says what it waited for when it gives up."""

import json
import os
import time

from wsclient import (
    DEFAULT_TIMEOUT,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    PeerClosed,
    WsConnection,
)

SHOPPER_PATH = "/socket/websocket"
ADMIN_PATH = "/admin_socket/websocket"
NODE_NAME = "store-a"  # presence_zone ... node=store-a in nginx.conf.example


def socket_path(base, token, vsn="2.0.0"):
    query = []
    if vsn is not None:
        query.append(f"vsn={vsn}")
    if token is not None:
        query.append(f"token={token}")
    return base + ("?" + "&".join(query) if query else "")


class PhoenixClient:
    """One socket speaking `[join_ref, ref, topic, event, payload]`. Every
    message received is kept in `received`; `heartbeat_every` keeps the
    socket alive while a test waits on it."""

    def __init__(self, ws, heartbeat_every=None):
        self.ws = ws
        self.next_ref = 0
        self.received = []
        self.pongs = []
        self.closed_with = None
        self.fragments = None  # a server message still being reassembled
        self.heartbeat_every = heartbeat_every
        self.last_sent = time.monotonic()

    @classmethod
    def connect(cls, server, token, path=SHOPPER_PATH, rcvbuf=None, **kwargs):
        ws = WsConnection.open(server.port, socket_path(path, token), rcvbuf=rcvbuf)
        return cls(ws, **kwargs)

    def make_ref(self):
        self.next_ref += 1
        return str(self.next_ref)

    def send_raw_text(self, text):
        self.ws.send_text(text)
        self.last_sent = time.monotonic()

    def push(self, topic, event, payload=None, join_ref=None, ref=None):
        ref = ref or self.make_ref()
        self.send_raw_text(json.dumps([join_ref, ref, topic, event, payload if payload is not None else {}]))
        return ref

    def pump(self, timeout):
        """Reads for up to `timeout` seconds; returns the messages read."""
        deadline = time.monotonic() + timeout
        got = []
        while True:
            if self.heartbeat_every and time.monotonic() - self.last_sent >= self.heartbeat_every:
                self.push("phoenix", "heartbeat")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return got
            step = min(remaining, self.heartbeat_every or remaining)
            frame = self.ws.recv_frame(step)
            if frame is None:
                continue
            if frame.opcode == OP_PING:
                self.ws.send_frame(OP_PONG, frame.payload)
            elif frame.opcode == OP_PONG:
                self.pongs.append(frame.payload)
            elif frame.opcode == OP_CLOSE:
                self.closed_with = frame.close_code
                raise PeerClosed(f"server sent close {frame.close_code}")
            else:
                # A server may fragment a message (RFC 6455 5.4); reassemble it.
                if self.fragments is None:
                    assert frame.opcode == OP_TEXT, f"server sent opcode {frame.opcode}"
                    self.fragments = frame.payload
                else:
                    assert frame.opcode == OP_CONTINUATION, f"opcode {frame.opcode} inside a fragmented message"
                    self.fragments += frame.payload
                if not frame.fin:
                    continue
                text, self.fragments = self.fragments, None
                message = json.loads(text.decode("utf-8"))
                assert isinstance(message, list) and len(message) == 5, message
                self.received.append(message)
                got.append(message)
                return got

    def wait_for(self, predicate, timeout=DEFAULT_TIMEOUT, what="a message", start=0):
        """The first message from index `start` of `received` on which
        `predicate` holds, reading more as needed."""
        deadline = time.monotonic() + timeout
        index = start
        while True:
            while index < len(self.received):
                if predicate(self.received[index]):
                    return self.received[index]
                index += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {what} within {timeout}s; received {shorten(str(self.received[start:]))}")
            self.pump(remaining)

    def reply(self, ref, timeout=DEFAULT_TIMEOUT):
        """The phx_reply to `ref` as (status, response)."""
        message = self.wait_for(
            lambda m: m[1] == ref and m[3] == "phx_reply", timeout, f"phx_reply to ref {ref}"
        )
        payload = message[4]
        return payload["status"], payload["response"]

    def join(self, topic, payload=None, timeout=DEFAULT_TIMEOUT):
        """Joins `topic`; returns (status, response, join_ref)."""
        join_ref = self.make_ref()
        self.push(topic, "phx_join", payload, join_ref=join_ref, ref=join_ref)
        status, response = self.reply(join_ref, timeout)
        return status, response, join_ref

    def call(self, topic, event, payload, join_ref, timeout=DEFAULT_TIMEOUT):
        ref = self.push(topic, event, payload, join_ref=join_ref)
        return self.reply(ref, timeout)

    def heartbeat(self, timeout=DEFAULT_TIMEOUT):
        """Proves the socket alive: a heartbeat gets an ok reply."""
        ref = self.push("phoenix", "heartbeat")
        message = self.wait_for(lambda m: m[1] == ref, timeout, f"heartbeat reply {ref}")
        assert message == [None, ref, "phoenix", "phx_reply", {"status": "ok", "response": {}}], message

    def close(self):
        self.ws.close()


def assert_error_reply(status, response):
    assert status == "error", response
    assert isinstance(response.get("reason"), str) and response["reason"], response


def shopper_meta_payload(page="/", items=()):
    return {"page": page, "items": [dict(item) for item in items]}


class Shopper:
    """A shopper tab: a socket joined to its own cart topic."""

    def __init__(self, server, sub, payload=None, token=None):
        self.sub = sub
        self.topic = f"cart:{sub}"
        self.client = PhoenixClient.connect(server, token or server.keys.shopper_token(sub))
        status, response, self.join_ref = self.client.join(self.topic, payload)
        assert status == "ok", (sub, response)

    def update(self, payload):
        status, response = self.client.call(self.topic, "update", payload, self.join_ref)
        assert status == "ok", (self.sub, payload, response)

    def leave(self):
        status, response = self.client.call(self.topic, "phx_leave", {}, self.join_ref)
        assert status == "ok", (self.sub, response)

    def close(self):
        self.client.close()


def shorten(text, limit=3000):
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def apply_state(presences, state):
    presences.clear()
    for key, entry in state.items():
        presences[key] = {meta["phx_ref"]: meta for meta in entry["metas"]}


def apply_diff(presences, diff):
    # Joins first, then leaves, as the stock client's syncDiff does.
    for key, entry in diff["joins"].items():
        for meta in entry["metas"]:
            presences.setdefault(key, {})[meta["phx_ref"]] = meta
    for key, entry in diff["leaves"].items():
        for meta in entry["metas"]:
            presences.get(key, {}).pop(meta["phx_ref"], None)
        if key in presences and not presences[key]:
            del presences[key]


class AdminView:
    """An admin socket joined to admin:cart_tracker and admin:stats, keeping
    the presence it was told about (phx_ref -> meta per key) and the last
    stats. It heartbeats while it waits, so short idle timeouts spare it."""

    def __init__(self, server, sub="ops", topics=("admin:cart_tracker", "admin:stats"), client=None):
        self.client = client or PhoenixClient.connect(
            server, server.keys.admin_token(sub), ADMIN_PATH, heartbeat_every=0.5
        )
        self.presences = {}
        self.stats = None
        self.stats_seen = 0
        self.diffs_seen = 0
        self.state_seen = False
        self.consumed = 0
        for topic in topics:
            status, response, _ = self.client.join(topic)
            assert status == "ok", (topic, response)
        self.absorb()

    def absorb(self):
        for message in self.client.received[self.consumed:]:
            self.consumed += 1
            _, _, topic, event, payload = message
            if topic == "admin:cart_tracker" and event == "presence_state":
                apply_state(self.presences, payload)
                self.state_seen = True
            elif topic == "admin:cart_tracker" and event == "presence_diff":
                assert self.state_seen, "presence_diff before presence_state"
                apply_diff(self.presences, payload)
                self.diffs_seen += 1
            elif topic == "admin:stats" and event == "stats":
                self.stats = payload
                self.stats_seen += 1

    def wait_until(self, predicate, timeout=DEFAULT_TIMEOUT, what="the expected state"):
        deadline = time.monotonic() + timeout
        while True:
            self.absorb()
            if predicate(self):
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"admin never saw {what} within {timeout}s;\n"
                    f"presences={shorten(json.dumps(self.presences, sort_keys=True))}\n"
                    f"stats={shorten(json.dumps(self.stats, sort_keys=True))}"
                )
            self.client.pump(min(remaining, 0.25))

    def drain(self, seconds):
        """Reads everything that arrives for `seconds`."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            self.client.pump(remaining)
        self.absorb()

    def metas(self, key):
        return list(self.presences.get(key, {}).values())

    def meta_counts(self):
        return {key: len(metas) for key, metas in self.presences.items()}

    def wait_for_counts(self, expected, timeout=DEFAULT_TIMEOUT):
        """Waits until the presence holds exactly `expected` (key -> metas)."""
        self.wait_until(lambda v: v.meta_counts() == expected, timeout, f"meta counts {expected}")

    def wait_for_stats(self, expected, timeout=DEFAULT_TIMEOUT):
        """Waits until the last stats equal `expected` on every field but ts
        (and but replicas, when `expected` leaves them out)."""
        ignored = {"ts"} if "replicas" in expected else {"ts", "replicas"}
        self.wait_until(
            lambda v: v.stats is not None and {k: v for k, v in v.stats.items() if k not in ignored} == expected,
            timeout,
            f"stats {json.dumps(expected, sort_keys=True)}",
        )

    def close(self):
        self.client.close()


def expected_stats(metas_by_key, nodes=(NODE_NAME,), per_node=None):
    """The stats (docs/PROTOCOL.md section 8) for a presence given as key -> list of metas in
    the order they were last updated (the last one is the cart's contents). `replicas` is
    expected from `per_node` ({node: (state, connections)}), or for a single node; with
    several nodes and no `per_node`, left out (wait_for_stats then ignores it)."""
    pages = {}
    carts = {}
    connections = 0
    for metas in metas_by_key.values():
        connections += len(metas)
        for meta in metas:
            page = meta.get("page")
            if page is not None:
                pages[page] = pages.get(page, 0) + 1
        for item in metas[-1].get("items", []) if metas else []:
            sizes = carts.setdefault(item["product"], {})
            sizes[item["size"]] = sizes.get(item["size"], 0) + item.get("qty", 1)
    expected = {
        "shoppers": sum(1 for metas in metas_by_key.values() if metas),
        "connections": connections,
        "pages": pages,
        "carts": carts,
        "nodes": list(nodes),
    }
    if per_node is None and len(nodes) == 1:
        per_node = {nodes[0]: ("up", connections)}
    if per_node is not None:
        expected["replicas"] = [{"node": node, "state": state, "connections": n}
                                for node, (state, n) in sorted(per_node.items())]
    return expected


def socket_inodes(pid):
    inodes = set()
    folder = f"/proc/{pid}/fd"
    for fd in os.listdir(folder):
        try:
            target = os.readlink(f"{folder}/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def server_side_inode(server_port, client_port):
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            local_port = int(fields[1].split(":")[1], 16)
            remote_port = int(fields[2].split(":")[1], 16)
            if local_port == server_port and remote_port == client_port:
                return int(fields[9])
    return None


def worker_of(server, client):
    """The pid of the worker holding the server side of `client`'s socket."""
    inode = server_side_inode(server.port, client.ws.sock.getsockname()[1])
    assert inode, "the server side of the connection is not in /proc/net/tcp"
    for pid in server.worker_pids():
        if inode in socket_inodes(pid):
            return pid
    raise AssertionError("no worker holds the connection")


_barriers = iter(range(1, 1 << 30))


def admin_barrier(server, admin):
    """Returns once `admin` has seen a marker shopper come and go, so every
    change made before the call (on a one-worker server) has reached it."""
    sub = f"barrier-{next(_barriers)}"
    marker = Shopper(server, sub, {"page": "/barrier"})
    admin.wait_until(lambda v: sub in v.presences, what=f"marker {sub}")
    marker.leave()
    marker.close()
    admin.wait_until(lambda v: sub not in v.presences, what=f"marker {sub} gone")


class Crowd:
    """Keeps shopper tabs open for as long as the test holds the crowd: a
    Shopper nobody refers to is collected, which closes its socket."""

    def __init__(self, server):
        self.server = server
        self.tabs = []

    def join(self, sub, payload=None):
        tab = Shopper(self.server, sub, payload)
        self.tabs.append(tab)
        return tab
