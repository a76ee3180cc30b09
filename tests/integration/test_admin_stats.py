"""The admin topic `admin:stats` (docs/PROTOCOL.md section 8): pushed after the join
reply and then on every change, at most once per broadcast interval, with
shoppers, connections, pages, carts and nodes exactly as docs/PROTOCOL.md
defines them, and bounded in bytes whatever shoppers send."""

import json
import random
import time

import pytest

from helpers import (
    ADMIN_PATH,
    NODE_NAME,
    AdminView,
    Crowd,
    PhoenixClient,
    Shopper,
    expected_stats,
)
from wsclient import OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT

BROADCAST_INTERVAL_MS = 100  # presence_broadcast_interval in nginx.conf.example


def item(product, size, qty=1):
    return {"product": product, "size": size, "qty": qty}


@pytest.fixture
def stats_view(nginx):
    view = AdminView(nginx, topics=("admin:stats",))
    yield view
    view.close()


def test_stats_follow_the_join_reply_even_when_empty(nginx):
    client = PhoenixClient.connect(nginx, nginx.keys.admin_token(), ADMIN_PATH)
    status, _, join_ref = client.join("admin:stats")
    assert status == "ok"
    reply_index = next(i for i, m in enumerate(client.received) if m[1] == join_ref)
    stats = client.wait_for(lambda m: m[3] == "stats", what="stats after the join")
    assert client.received.index(stats) > reply_index
    payload = stats[4]
    assert {k: v for k, v in payload.items() if k != "ts"} == {
        "shoppers": 0,
        "connections": 0,
        "pages": {},
        "carts": {},
        "nodes": [NODE_NAME],
        "replicas": [{"node": NODE_NAME, "state": "up", "connections": 0}],
    }
    assert isinstance(payload["ts"], int)
    assert abs(payload["ts"] - time.time() * 1000) < 60_000


def test_stats_count_shoppers_and_connections(nginx, stats_view):
    crowd = Crowd(nginx)
    crowd.join("cart-1", {"page": "/"})
    stats_view.wait_for_stats(expected_stats({"cart-1": [{"page": "/"}]}))
    crowd.join("cart-1", {"page": "/"})
    stats_view.wait_for_stats(expected_stats({"cart-1": [{"page": "/"}, {"page": "/"}]}))
    assert stats_view.stats["shoppers"] == 1 and stats_view.stats["connections"] == 2
    crowd.join("cart-2", {"page": "/"})
    stats_view.wait_for_stats(expected_stats({"cart-1": [{"page": "/"}] * 2, "cart-2": [{"page": "/"}]}))
    assert stats_view.stats["shoppers"] == 2 and stats_view.stats["connections"] == 3


def test_pages_count_connections(nginx, stats_view):
    crowd = Crowd(nginx)
    a1 = Shopper(nginx, "cart-a", {"page": "/"})
    crowd.join("cart-a", {"page": "/products/air-max-90"})
    crowd.join("cart-b", {"page": "/"})
    stats_view.wait_until(lambda v: v.stats and v.stats["connections"] == 3, what="three connections")
    assert stats_view.stats["pages"] == {"/": 2, "/products/air-max-90": 1}
    a1.update({"page": "/products/air-max-90"})
    stats_view.wait_until(
        lambda v: v.stats["pages"] == {"/": 1, "/products/air-max-90": 2}, what="pages after the move"
    )


def test_page_with_no_connection_left_is_dropped(nginx, stats_view):
    crowd = Crowd(nginx)
    shopper = Shopper(nginx, "cart-a", {"page": "/gone"})
    crowd.join("cart-b", {"page": "/"})
    stats_view.wait_until(lambda v: v.stats and v.stats["pages"] == {"/gone": 1, "/": 1}, what="two pages")
    shopper.leave()
    stats_view.wait_until(lambda v: v.stats["pages"] == {"/": 1}, what="/gone dropped")


def test_carts_sum_qty_by_product_and_size(nginx, stats_view):
    crowd = Crowd(nginx)
    crowd.join("cart-a", {"page": "/", "items": [item("air-max-90", "10", 2), item("air-max-90", "10.5")]})
    crowd.join("cart-b", {"page": "/", "items": [item("air-max-90", "10", 3), item("pegasus", "9", 1)]})
    stats_view.wait_until(lambda v: v.stats and v.stats["shoppers"] == 2, what="two shoppers")
    assert stats_view.stats["carts"] == {"air-max-90": {"10": 5, "10.5": 1}, "pegasus": {"9": 1}}


def test_carts_sum_two_lines_of_the_same_product_and_size(nginx, stats_view):
    crowd = Crowd(nginx)
    crowd.join("cart-a", {"page": "/", "items": [item("air-max-90", "10", 2), item("air-max-90", "10", 3)]})
    stats_view.wait_until(lambda v: v.stats and v.stats["shoppers"] == 1, what="one shopper")
    assert stats_view.stats["carts"] == {"air-max-90": {"10": 5}}


def test_cart_is_its_most_recently_updated_meta(nginx, stats_view):
    tab1 = Shopper(nginx, "cart-a", {"page": "/", "items": [item("air-max-90", "10")]})
    tab2 = Shopper(nginx, "cart-a", {"page": "/", "items": [item("pegasus", "9", 2)]})
    # The later join is the cart; two tabs do not double it.
    stats_view.wait_for_stats(
        expected_stats({"cart-a": [{"page": "/", "items": [item("air-max-90", "10")]}, {"page": "/", "items": [item("pegasus", "9", 2)]}]})
    )
    assert stats_view.stats["carts"] == {"pegasus": {"9": 2}}
    tab1.update({"items": [item("vomero", "11", 4)]})
    stats_view.wait_until(lambda v: v.stats["carts"] == {"vomero": {"11": 4}}, what="tab1's update is the cart")
    tab1.leave()
    # With tab1 gone the remaining, most recently updated meta is tab2's.
    stats_view.wait_until(lambda v: v.stats["carts"] == {"pegasus": {"9": 2}}, what="tab2's cart after tab1 left")
    tab2.update({"items": []})
    stats_view.wait_until(lambda v: v.stats["carts"] == {}, what="empty carts")


def test_stats_exact_after_each_join_update_and_leave(nginx, stats_view):
    online = {}
    shoppers = []

    def joined(sub, payload):
        shoppers.append((Shopper(nginx, sub, payload), payload))
        online.setdefault(sub, []).append(payload)
        stats_view.wait_for_stats(expected_stats(online))

    joined("cart-a", {"page": "/", "items": [item("air-max-90", "10")]})
    joined("cart-b", {"page": "/sale", "items": [item("air-max-90", "10", 2), item("pegasus", "8")]})
    joined("cart-a", {"page": "/sale", "items": [item("blazer", "7", 1)]})

    shopper, payload = shoppers[0]
    new_payload = {"page": "/checkout", "items": [item("air-max-90", "10", 5)]}
    shopper.update(new_payload)
    online["cart-a"].remove(payload)
    online["cart-a"].append(new_payload)  # now the most recently updated
    stats_view.wait_for_stats(expected_stats(online))

    shopper, payload = shoppers[1]
    shopper.leave()
    del online["cart-b"]
    stats_view.wait_for_stats(expected_stats(online))

    shopper, payload = shoppers[2]
    shopper.close()
    online["cart-a"].remove(payload)
    stats_view.wait_for_stats(expected_stats(online))


def test_stats_are_not_repeated_while_nothing_changes(nginx, stats_view):
    crowd = Crowd(nginx)
    crowd.join("cart-a", {"page": "/"})
    stats_view.wait_until(lambda v: v.stats and v.stats["connections"] == 1, what="one connection")
    seen = stats_view.stats_seen
    quiet_window = 10 * BROADCAST_INTERVAL_MS / 1000
    deadline = time.monotonic() + quiet_window
    while time.monotonic() < deadline:
        stats_view.client.pump(deadline - time.monotonic())
        stats_view.absorb()
    assert stats_view.stats_seen == seen, "stats pushed although nothing changed"


def test_stats_are_pushed_at_most_once_per_interval(nginx, stats_view):
    shopper = Shopper(nginx, "cart-a", {"page": "/0"})
    start = len(stats_view.client.received)
    # Changes keep coming for about ten intervals.
    for i in range(1, 40):
        shopper.update({"page": f"/{i}"})
        shopper.client.pump(BROADCAST_INTERVAL_MS / 4000)
    stats_view.wait_until(lambda v: v.stats and v.stats["pages"] == {"/39": 1}, what="the last page")
    stamps = [m[4]["ts"] for m in stats_view.client.received[start:] if m[3] == "stats"]
    assert len(stamps) >= 3, f"only {len(stamps)} stats pushes while the page changed for a second"
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    # A timer may fire a little early or late; a gap well under the interval
    # means two pushes in one interval.
    assert all(gap >= BROADCAST_INTERVAL_MS * 0.8 for gap in gaps), gaps


# presence_stats_top's default: entries of `pages` and of `carts`.
STATS_TOP = 50
# The contract's bounds on a presence (CONTRACT.md section 3).
MAX_PAGE_BYTES = 256
MAX_PRODUCT_BYTES = 64
MAX_SIZE_BYTES = 16
MAX_ITEMS = 100
# What one stats push may weigh with the default cut, whatever shoppers send
# in ASCII: 50 pages of 256 bytes (~13 KB) and 50 products of 64 bytes with
# a 16-byte size (~5 KB), plus the counters.
STATS_PUSH_BOUND = 24 * 1024


def padded(text, size):
    return text + "-" * (size - len(text))


def stats_frames(client, until, timeout=60):
    """Reads the admin socket's raw frames until `until(payload)` holds for a
    stats push; returns [(bytes on the wire, payload)] of every stats push."""
    pushes = []
    fragments = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = client.ws.recv_frame(max(deadline - time.monotonic(), 0))
        if frame is None:
            break
        if frame.opcode == OP_PING:
            client.ws.send_frame(OP_PONG, frame.payload)
            continue
        if frame.opcode not in (OP_TEXT, OP_CONTINUATION):
            continue
        fragments += frame.payload
        if not frame.fin:
            continue
        text, fragments = fragments, b""
        message = json.loads(text)
        if message[3] == "stats":
            pushes.append((len(text), message[4]))
            if until(message[4]):
                return pushes
        if time.monotonic() - client.last_sent > 5:
            client.push("phoenix", "heartbeat")
    raise AssertionError(f"no stats push matched within {timeout}s; last: {pushes[-1][1] if pushes else None}")


def test_shoppers_cannot_grow_the_stats_push(nginx_factory):
    """The attack of the issue: 1,000 sockets, each on a page of its own and
    with 100 products of its own (every string at its longest). The admin's
    stats push stays under STATS_PUSH_BOUND, holds the busiest 50 pages and
    products, and every total and other-bucket is exact."""
    # Room for the attack's 101,000 strings whatever the zone's default cap.
    nginx = nginx_factory(extra_http="presence_max_strings 262144;")
    rng = random.Random(10)
    sockets = 1000
    crowd = []
    page_of = {}
    qty_of = {}
    for n in range(sockets):
        page = padded(f"/attack/{n}", MAX_PAGE_BYTES)
        items = []
        for i in range(MAX_ITEMS):
            product = padded(f"p{n}-{i}", MAX_PRODUCT_BYTES)
            qty = rng.randint(1, 99)
            items.append(item(product, padded("10", MAX_SIZE_BYTES), qty))
            qty_of[product] = qty
        page_of[f"cart-{n}"] = page
        crowd.append(Shopper(nginx, f"cart-{n}", {"page": page, "items": items}))

    admin = PhoenixClient.connect(nginx, nginx.keys.admin_token(), ADMIN_PATH)
    status, _, _ = admin.join("admin:stats")
    assert status == "ok"
    pushes = stats_frames(admin, lambda p: p["connections"] == sockets)
    size, stats = pushes[-1]
    assert size < STATS_PUSH_BOUND, f"stats push of {size} bytes"

    assert stats["shoppers"] == sockets and stats["connections"] == sockets
    # Every page holds one connection: the first 50 by name are kept.
    pages = sorted(page_of.values())
    assert stats["pages"] == {page: 1 for page in pages[:STATS_TOP]}
    assert stats["pages_other"] == {"pages": sockets - STATS_TOP, "connections": sockets - STATS_TOP}
    # Products by shoes, ties by name.
    ranked = sorted(qty_of.items(), key=lambda kv: (-kv[1], kv[0]))
    size_10 = padded("10", MAX_SIZE_BYTES)
    assert stats["carts"] == {product: {size_10: qty} for product, qty in ranked[:STATS_TOP]}
    assert stats["carts_other"] == {
        "products": len(ranked) - STATS_TOP,
        "qty": sum(qty for _, qty in ranked[STATS_TOP:]),
    }
    admin.close()


def test_stats_top_is_configurable_and_other_buckets_follow_changes(nginx_factory):
    server = nginx_factory(overrides={"presence_stats_top": "2"})
    view = AdminView(server, topics=("admin:stats",))
    crowd = Crowd(server)
    crowd.join("cart-a", {"page": "/a", "items": [item("air-max-90", "10", 3), item("samba", "9", 1)]})
    crowd.join("cart-b", {"page": "/a", "items": [item("pegasus", "8", 2)]})
    leaving = Shopper(server, "cart-c", {"page": "/c", "items": [item("blazer", "7", 1)]})
    crowd.join("cart-d", {"page": "/b"})
    view.wait_until(lambda v: v.stats and v.stats["connections"] == 4, what="four connections")
    assert view.stats["pages"] == {"/a": 2, "/b": 1}
    assert view.stats["pages_other"] == {"pages": 1, "connections": 1}
    assert view.stats["carts"] == {"air-max-90": {"10": 3}, "pegasus": {"8": 2}}
    assert view.stats["carts_other"] == {"products": 2, "qty": 2}
    leaving.close()
    view.wait_until(lambda v: v.stats["connections"] == 3, what="cart-c gone")
    assert view.stats["carts_other"] == {"products": 1, "qty": 1}
    assert "pages_other" not in view.stats, view.stats
    view.close()
