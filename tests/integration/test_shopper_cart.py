"""The shopper topic `cart:<sub>` (docs/PROTOCOL.md section 6): only the token's own
cart, the join and update payloads validated one past every bound with the
presence left unchanged, and every way a connection ends removing its meta."""

import copy
import json

import pytest

from helpers import (
    AdminView,
    Crowd,
    PhoenixClient,
    Shopper,
    admin_barrier,
    assert_error_reply,
)
from wsclient import CLOSE_NORMAL, OP_CLOSE, close_payload

PAGE_MAX = 256
ITEMS_MAX = 100
PRODUCT_MAX = 64
SIZE_MAX = 16


def item(product="air-max-90", size="10.5", qty=1):
    return {"product": product, "size": size, "qty": qty}


@pytest.fixture
def admin(nginx):
    view = AdminView(nginx)
    yield view
    view.close()


def test_join_own_cart_is_tracked_with_its_payload(nginx, admin):
    crowd = Crowd(nginx)
    crowd.join("cart-1", {"page": "/products/air-max-90", "items": [item(qty=2)]})
    admin.wait_for_counts({"cart-1": 1})
    [meta] = admin.metas("cart-1")
    assert meta["page"] == "/products/air-max-90"
    assert meta["items"] == [item(qty=2)]
    assert isinstance(meta["phx_ref"], str) and meta["phx_ref"]
    assert isinstance(meta["page_loaded_at"], int)


def test_join_without_payload_is_tracked(nginx, admin):
    crowd = Crowd(nginx)
    crowd.join("cart-1")
    admin.wait_for_counts({"cart-1": 1})


def test_join_other_cart_is_unauthorized(nginx, admin):
    client = PhoenixClient.connect(nginx, nginx.keys.shopper_token("cart-1"))
    status, response, _ = client.join("cart:cart-2", {"page": "/"})
    assert {"status": status, "response": response} == {"status": "error", "response": {"reason": "unauthorized"}}
    client.heartbeat()
    admin_barrier(nginx, admin)
    assert admin.presences == {}


@pytest.mark.parametrize("topic", ["admin:cart_tracker", "admin:stats", "admin:anything"])
def test_shopper_joining_admin_topic_is_unauthorized(nginx, topic):
    client = PhoenixClient.connect(nginx, nginx.keys.shopper_token("cart-1"))
    status, response, _ = client.join(topic)
    assert {"status": status, "response": response} == {"status": "error", "response": {"reason": "unauthorized"}}
    client.heartbeat()


def test_cart_prefix_of_own_sub_is_unauthorized(nginx):
    client = PhoenixClient.connect(nginx, nginx.keys.shopper_token("cart-1"))
    for topic in ("cart:cart-10", "cart:cart-", "cart:CART-1"):
        status, response, _ = client.join(topic)
        assert (status, response) == ("error", {"reason": "unauthorized"}), topic


# Payloads at a bound: accepted.
VALID_PAYLOADS = {
    "page_at_256_bytes": {"page": "/" + "p" * (PAGE_MAX - 1)},
    "page_at_256_utf8_bytes": {"page": "\u00e9" * (PAGE_MAX // 2)},
    "100_items": {"items": [item(product=f"p{i}") for i in range(ITEMS_MAX)]},
    "product_at_64_bytes": {"items": [item(product="p" * PRODUCT_MAX)]},
    "size_at_16_bytes": {"items": [item(size="s" * SIZE_MAX)]},
    "qty_1": {"items": [item(qty=1)]},
    "qty_99": {"items": [item(qty=99)]},
    "qty_omitted": {"items": [{"product": "air-max-90", "size": "10"}]},
    "empty_object": {},
    "empty_items": {"page": "/", "items": []},
}

# Payloads one past a bound, of a wrong type or with unknown fields: refused.
INVALID_PAYLOADS = {
    "page_at_257_bytes": {"page": "/" + "p" * PAGE_MAX},
    "page_at_257_utf8_bytes": {"page": "a" + "\u00e9" * (PAGE_MAX // 2)},
    "101_items": {"items": [item(product=f"p{i}") for i in range(ITEMS_MAX + 1)]},
    "product_at_65_bytes": {"items": [item(product="p" * (PRODUCT_MAX + 1))]},
    "size_at_17_bytes": {"items": [item(size="s" * (SIZE_MAX + 1))]},
    "qty_0": {"items": [item(qty=0)]},
    "qty_100": {"items": [item(qty=100)]},
    "qty_negative": {"items": [item(qty=-1)]},
    "qty_fraction": {"items": [item(qty=1.5)]},
    "qty_string": {"items": [item(qty="1")]},
    "page_number": {"page": 42},
    "items_object": {"items": {"product": "air-max-90"}},
    "items_string": {"items": "air-max-90"},
    "item_not_object": {"items": ["air-max-90"]},
    "product_number": {"items": [item(product=90)]},
    "size_number": {"items": [item(size=10.5)]},
    "unknown_field": {"page": "/", "color": "red"},
    "unknown_item_field": {"items": [dict(item(), price=120)]},
}


@pytest.mark.parametrize("name", VALID_PAYLOADS)
def test_join_payload_at_bound_is_accepted(nginx, admin, name):
    crowd = Crowd(nginx)
    crowd.join("cart-1", VALID_PAYLOADS[name])
    admin.wait_for_counts({"cart-1": 1})


def test_join_page_is_kept_byte_exact(nginx, admin):
    crowd = Crowd(nginx)
    page = VALID_PAYLOADS["page_at_256_utf8_bytes"]["page"]
    crowd.join("cart-1", {"page": page})
    admin.wait_for_counts({"cart-1": 1})
    assert admin.metas("cart-1")[0]["page"] == page


def test_join_with_100_items_keeps_them_all(nginx, admin):
    crowd = Crowd(nginx)
    items = VALID_PAYLOADS["100_items"]["items"]
    crowd.join("cart-1", {"page": "/", "items": items})
    admin.wait_for_counts({"cart-1": 1})
    assert admin.metas("cart-1")[0]["items"] == items


def test_qty_defaults_to_one(nginx, admin):
    crowd = Crowd(nginx)
    crowd.join("cart-1", VALID_PAYLOADS["qty_omitted"])
    admin.wait_for_counts({"cart-1": 1})
    [stored] = admin.metas("cart-1")[0]["items"]
    assert stored.get("qty", 1) == 1 and stored["product"] == "air-max-90" and stored["size"] == "10"


@pytest.mark.parametrize("name", INVALID_PAYLOADS)
def test_join_payload_past_bound_is_refused_and_socket_lives(nginx, admin, name):
    client = PhoenixClient.connect(nginx, nginx.keys.shopper_token("cart-1"))
    status, response, _ = client.join("cart:cart-1", INVALID_PAYLOADS[name])
    assert_error_reply(status, response)
    client.heartbeat()
    admin_barrier(nginx, admin)
    assert admin.presences == {}
    # The same socket can still join with a good payload.
    assert client.join("cart:cart-1", {"page": "/ok"})[0] == "ok"
    admin.wait_for_counts({"cart-1": 1})


@pytest.mark.parametrize("payload", [[], "page", 7])
def test_join_payload_not_an_object_is_refused(nginx, payload):
    client = PhoenixClient.connect(nginx, nginx.keys.shopper_token("cart-1"))
    join_ref = client.make_ref()
    client.send_raw_text(json.dumps([join_ref, join_ref, "cart:cart-1", "phx_join", payload]))
    assert_error_reply(*client.reply(join_ref))
    client.heartbeat()


def test_update_changes_page_and_items(nginx, admin):
    shopper = Shopper(nginx, "cart-1", {"page": "/", "items": []})
    admin.wait_for_counts({"cart-1": 1})
    shopper.update({"page": "/products/air-max-90", "items": [item(qty=3)]})
    admin.wait_until(
        lambda v: [m["page"] for m in v.metas("cart-1")] == ["/products/air-max-90"], what="the new page"
    )
    [meta] = admin.metas("cart-1")
    assert meta["items"] == [item(qty=3)]


def test_update_of_page_only_keeps_items(nginx, admin):
    shopper = Shopper(nginx, "cart-1", {"page": "/a", "items": [item(qty=2)]})
    admin.wait_for_counts({"cart-1": 1})
    shopper.update({"page": "/b"})
    admin.wait_until(lambda v: [m["page"] for m in v.metas("cart-1")] == ["/b"], what="/b")
    assert admin.metas("cart-1")[0]["items"] == [item(qty=2)]


def test_update_of_items_only_keeps_page(nginx, admin):
    shopper = Shopper(nginx, "cart-1", {"page": "/a", "items": []})
    admin.wait_for_counts({"cart-1": 1})
    shopper.update({"items": [item(qty=4)]})
    admin.wait_until(lambda v: [m["items"] for m in v.metas("cart-1")] == [[item(qty=4)]], what="new items")
    assert admin.metas("cart-1")[0]["page"] == "/a"


@pytest.mark.parametrize("name", INVALID_PAYLOADS)
def test_update_past_bound_is_refused_and_state_unchanged(nginx, admin, name):
    shopper = Shopper(nginx, "cart-1", {"page": "/kept", "items": [item(qty=2)]})
    admin.wait_for_counts({"cart-1": 1})
    before = copy.deepcopy(admin.presences)
    status, response = shopper.client.call(shopper.topic, "update", INVALID_PAYLOADS[name], shopper.join_ref)
    assert_error_reply(status, response)
    shopper.client.heartbeat()
    admin_barrier(nginx, admin)
    assert admin.presences == before
    # The channel still takes a good update.
    shopper.update({"page": "/next"})
    admin.wait_until(lambda v: [m["page"] for m in v.metas("cart-1")] == ["/next"], what="/next")


def test_three_tabs_are_one_key_with_three_metas(nginx, admin):
    tabs = [Shopper(nginx, "cart-1", {"page": f"/tab{i}"}) for i in range(3)]
    admin.wait_for_counts({"cart-1": 3})
    assert sorted(m["page"] for m in admin.metas("cart-1")) == ["/tab0", "/tab1", "/tab2"]
    assert len({m["phx_ref"] for m in admin.metas("cart-1")}) == 3
    tabs[1].leave()
    admin.wait_for_counts({"cart-1": 2})
    assert sorted(m["page"] for m in admin.metas("cart-1")) == ["/tab0", "/tab2"]


def test_update_changes_only_its_own_tab(nginx, admin):
    crowd = Crowd(nginx)
    first = Shopper(nginx, "cart-1", {"page": "/one"})
    crowd.join("cart-1", {"page": "/two"})
    admin.wait_for_counts({"cart-1": 2})
    first.update({"page": "/one-b"})
    admin.wait_until(
        lambda v: sorted(m["page"] for m in v.metas("cart-1")) == ["/one-b", "/two"], what="one tab updated"
    )


def close_cleanly(shopper):
    shopper.client.ws.send_frame(OP_CLOSE, close_payload(CLOSE_NORMAL))
    assert shopper.client.ws.expect_close() == CLOSE_NORMAL
    shopper.client.ws.close()


@pytest.mark.parametrize(
    "end",
    [
        close_cleanly,
        lambda shopper: shopper.client.ws.close(),  # TCP FIN without a close frame
        lambda shopper: shopper.client.ws.reset(),  # TCP RST
    ],
    ids=["close_handshake", "tcp_fin", "tcp_rst"],
)
def test_ending_the_connection_removes_the_meta(nginx, admin, end):
    staying = Shopper(nginx, "cart-1", {"page": "/stays"})
    going = Shopper(nginx, "cart-1", {"page": "/goes"})
    admin.wait_for_counts({"cart-1": 2})
    end(going)
    admin.wait_until(lambda v: [m["page"] for m in v.metas("cart-1")] == ["/stays"], what="only /stays")
    staying.client.heartbeat()

