"""Write back-pressure: a client that stops reading never blocks
its worker nor grows its memory without bound; an admin that fell behind is
resynced to the exact state, a shopper that floods without reading is cut
off (or no longer read from)."""

import json
import socket
import time

import pytest

from helpers import ADMIN_PATH, AdminView, Crowd, PhoenixClient
from wsclient import OP_TEXT, encode_frame

SLOW_READER_RCVBUF = 4096
# presence_send_buffer may not be below presence_max_message.
TIGHT = {"presence_max_message": "4k", "presence_send_buffer": "8k"}


@pytest.fixture
def tight(nginx_factory):
    return nginx_factory(overrides=TIGHT)


def private_bytes(pid):
    """The worker's own anonymous memory (heap, buffers), without the shared
    presence zone, whose pages fill as the tracker writes to it."""
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Anonymous:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no Anonymous line for {pid}")


def bulky_items(round_no):
    # About 3 KB of items: each diff for one shopper carries kilobytes.
    return [{"product": f"{'p' * 20}{i:02d}", "size": "10.5", "qty": 1 + (i + round_no) % 99} for i in range(55)]


def pinned_server(nginx_factory, overrides=None):
    """nginx whose sockets have a small kernel send buffer (listen ...
    sndbuf= stops its autotuning), so what a client does not read piles up
    in nginx's own queue rather than in the kernel."""
    server = nginx_factory(overrides=overrides, start=False)
    listen = f"listen 127.0.0.1:{server.port};"
    conf = server.conf.read_text()
    assert listen in conf
    server.conf.write_text(conf.replace(listen, f"listen 127.0.0.1:{server.port} sndbuf=16k;"))
    server.start()
    return server


def slow_admin_client(server):
    """An admin socket with a small receive buffer, read only when the test says."""
    return PhoenixClient.connect(
        server, server.keys.admin_token("slow"), ADMIN_PATH, rcvbuf=SLOW_READER_RCVBUF, heartbeat_every=0.5
    )


def bulky_rounds(server, fast, shoppers, rounds, pause):
    """Joins `shoppers` with bulky carts, then moves all of them to /round-N
    with new items, round after round; `fast` reads for `pause` after each.
    Returns the crowd, which keeps the tabs open."""
    crowd = Crowd(server)
    tabs = [crowd.join(f"cart-{i}", {"page": "/", "items": bulky_items(0)}) for i in range(shoppers)]
    for round_no in range(1, rounds + 1):
        for tab in tabs:
            tab.update({"page": f"/round-{round_no}", "items": bulky_items(round_no)})
        fast.drain(pause)
    return crowd


ROUNDS = 25
# What the fast admin is sent: 30 metas of about 3.7 KB, joined and left
# once per round.
BACKLOG_BYTES = ROUNDS * 30 * 2 * 3700


def test_admin_that_stops_reading_ends_on_the_exact_state(nginx_factory):
    # A snapshot of the whole presence (about 110 KB) fits the send buffer;
    # the megabytes of diffs below do not, once the kernel's own buffer is
    # pinned small (listen ... sndbuf= stops its autotuning).
    server = pinned_server(nginx_factory, overrides={"presence_send_buffer": "256k"})
    slow_client = slow_admin_client(server)
    slow = AdminView(server, client=slow_client, topics=("admin:cart_tracker",))
    fast = AdminView(server, "fast")
    # One round per broadcast: diffs of about 220 KB each, which a closed
    # window cannot take; all of them together are over 5 MB.
    crowd = bulky_rounds(server, fast, shoppers=30, rounds=ROUNDS, pause=0.15)
    fast.wait_until(
        lambda v: len(v.presences) == 30
        and all(m["page"] == f"/round-{ROUNDS}" for ms in v.presences.values() for m in ms.values()),
        timeout=15,
        what=f"every shopper on /round-{ROUNDS}",
    )
    # Once it reads again it must end on exactly the server's state...
    slow.wait_until(lambda v: v.presences == fast.presences, timeout=15, what="the fast admin's state")
    slow.client.heartbeat()
    # ...without being handed the whole backlog, which only an unbounded
    # queue could have kept for it.
    sent_to_fast = fast.client.ws.bytes_received
    assert sent_to_fast > BACKLOG_BYTES / 2, f"workload too light: the fast admin got only {sent_to_fast} bytes"
    received = slow.client.ws.bytes_received
    assert received < BACKLOG_BYTES / 2, f"the slow admin was sent {received} bytes: the backlog was kept"


STATS_ROUNDS = 40


def test_admin_that_stops_reading_is_sent_the_latest_stats_not_a_backlog(nginx_factory):
    # Stats say where the store is now: while an admin does not read, at most
    # one stats message waits for it in nginx, and it gets the latest once it
    # reads again, not one message per broadcast it missed.
    server = pinned_server(nginx_factory)
    slow_client = slow_admin_client(server)
    slow = AdminView(server, client=slow_client, topics=("admin:stats",))
    slow.wait_until(lambda v: v.stats is not None, what="the first stats")
    before = slow.stats_seen
    crowd = Crowd(server)
    tabs = [crowd.join(f"cart-{i}", {"page": "/"}) for i in range(30)]

    def page(round_no, i):
        # about 7 KB of stats per round, far more than the idle socket's
        # kernel buffers (16k + 4k) hold over the rounds
        return f"/round-{round_no}/{'x' * 200}/{i}"

    for round_no in range(1, STATS_ROUNDS + 1):
        for i, tab in enumerate(tabs):
            tab.update({"page": page(round_no, i)})
        time.sleep(0.12)  # one broadcast interval: every round is a new stats
    last = {page(STATS_ROUNDS, i): 1 for i in range(30)}
    slow.wait_until(lambda v: v.stats["pages"] == last, timeout=10, what="the last round's pages")
    assert slow.stats["connections"] == 30 and slow.stats["shoppers"] == 30
    received = slow.stats_seen - before
    assert received < STATS_ROUNDS / 2, f"{received} stats for {STATS_ROUNDS} rounds: a backlog was kept"


BACKLOG_ROUNDS = 40


def test_congested_admin_gets_stats_ahead_of_its_presence_backlog(nginx_factory):
    # An admin on both topics that reads slower than its presence feed comes:
    # its queue in nginx holds hundreds of KB of presence_diff, yet the stats
    # that count the latest change go out at the next frame boundary, not
    # behind that backlog. Its presence view then still ends exact.
    server = pinned_server(nginx_factory)
    slow_client = slow_admin_client(server)
    slow = AdminView(server, client=slow_client)
    slow.wait_until(lambda v: v.state_seen and v.stats is not None, what="the first state and stats")
    fast = AdminView(server, "fast")
    # one broadcast a round: about 37 KB of diff, 1.5 MB in all
    crowd = bulky_rounds(server, fast, shoppers=5, rounds=BACKLOG_ROUNDS, pause=0.11)
    crowd.join("marker", {"page": "/marker"})
    fast.wait_until(lambda v: v.stats["pages"].get("/marker") == 1, what="the marker in stats")
    # Frame by frame: what arrives before the stats that count the marker.
    presence_before = 0
    while True:
        frame = slow_client.ws.recv_frame(10)
        assert frame is not None, "the slow admin got no stats with the marker"
        message = json.loads(frame.payload)
        slow_client.received.append(message)
        _, _, topic, event, payload = message
        if topic == "admin:stats" and payload["pages"].get("/marker") == 1:
            break
        if topic == "admin:cart_tracker":
            presence_before += len(frame.payload)
    # In order, those stats would have waited behind more than half of
    # presence_send_buffer (1m) of queued diffs.
    assert presence_before < 256 * 1024, f"{presence_before} bytes of presence came first"
    # The backlog still arrives (or a resync replaces it): the view ends exact.
    fast.wait_until(lambda v: "marker" in v.presences, what="the marker in presence")
    slow.wait_until(lambda v: v.presences == fast.presences, timeout=15, what="the fast admin's state")


def test_admin_gets_a_snapshot_larger_than_the_send_buffer(tight):
    # A valid configuration: presence_send_buffer (8k) >= presence_max_message.
    # The presence of ten bulky shoppers (about 37 KB) is more than the send
    # buffer holds, yet an admin that reads must still end on the exact state.
    crowd = Crowd(tight)
    for i in range(10):
        crowd.join(f"cart-{i}", {"page": "/bulky", "items": bulky_items(i)})
    admin = AdminView(tight, topics=("admin:cart_tracker",))
    admin.wait_until(lambda v: len(v.presences) == 10, timeout=10, what="ten bulky shoppers")
    for i in range(10):
        [meta] = admin.metas(f"cart-{i}")
        assert meta["items"] == bulky_items(i)


def test_shopper_that_stops_reading_does_not_hold_up_the_worker(tight):
    crowd = Crowd(tight)
    probe = crowd.join("probe", {"page": "/"})
    [worker] = tight.worker_pids()
    private_before = private_bytes(worker)

    flooder = PhoenixClient.connect(tight, tight.keys.shopper_token("flood"), rcvbuf=SLOW_READER_RCVBUF)
    heartbeat = json.dumps([None, "1", "phoenix", "heartbeat", {}]).encode()
    batch = b"".join(encode_frame(OP_TEXT, heartbeat) for _ in range(2000))
    sock = flooder.ws.sock
    sock.settimeout(2.0)
    sent = 0
    outcome = "still reading"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            sock.sendall(batch)
        except socket.timeout:
            outcome = "stopped reading"
            break
        except (BrokenPipeError, ConnectionResetError):
            outcome = "closed"
            break
        sent += len(batch)
        probe.client.heartbeat(timeout=2)  # the worker keeps serving others

    probe.client.heartbeat(timeout=2)
    growth = private_bytes(worker) - private_before
    assert outcome != "still reading", (
        f"{sent} bytes of heartbeats sent in 20 s without reading a reply: the server neither "
        f"closed the connection nor stopped reading it (worker's private memory grew {growth} bytes)"
    )
    assert growth < 16 * 1024 * 1024, f"worker's private memory grew {growth} bytes ({outcome} after {sent} bytes)"
