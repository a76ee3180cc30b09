"""The admin topic `admin:cart_tracker` seen from a raw client (docs/PROTOCOL.md
section 7): presence_state after the join reply, presence_diff for joins,
updates (with phx_ref_prev) and leaves, and a synced view that equals what a
fresh admin is told."""

import json
import time

from helpers import (
    ADMIN_PATH,
    AdminView,
    Crowd,
    PhoenixClient,
    Shopper,
)


def admin_client(server):
    return PhoenixClient.connect(server, server.keys.admin_token(), ADMIN_PATH, heartbeat_every=0.5)


def test_presence_state_follows_the_join_reply(nginx):
    client = admin_client(nginx)
    status, _, join_ref = client.join("admin:cart_tracker")
    assert status == "ok"
    reply_index = next(i for i, m in enumerate(client.received) if m[1] == join_ref)
    state = client.wait_for(lambda m: m[3] == "presence_state", what="presence_state")
    assert client.received.index(state) > reply_index
    # Phoenix stamps pushes with the channel's join_ref; the stock client also takes null.
    assert state[0] in (join_ref, None) and state[2] == "admin:cart_tracker"
    assert state[4] == {}


def test_presence_state_lists_shoppers_already_online(nginx):
    crowd = Crowd(nginx)
    crowd.join("cart-1", {"page": "/a", "items": [{"product": "air-max-90", "size": "10", "qty": 2}]})
    crowd.join("cart-1", {"page": "/b"})
    crowd.join("cart-2", {"page": "/c"})
    client = admin_client(nginx)
    assert client.join("admin:cart_tracker")[0] == "ok"
    state = client.wait_for(lambda m: m[3] == "presence_state", what="presence_state")[4]
    assert sorted(state) == ["cart-1", "cart-2"]
    assert sorted(m["page"] for m in state["cart-1"]["metas"]) == ["/a", "/b"]
    [meta_a] = [m for m in state["cart-1"]["metas"] if m["page"] == "/a"]
    assert meta_a["items"] == [{"product": "air-max-90", "size": "10", "qty": 2}]
    now_ms = time.time() * 1000
    for entry in state.values():
        for meta in entry["metas"]:
            assert {"phx_ref", "page", "items", "page_loaded_at"} <= set(meta), meta
            assert isinstance(meta["page_loaded_at"], int)
            assert now_ms - 60_000 < meta["page_loaded_at"] <= now_ms + 1_000, meta
    refs = [m["phx_ref"] for entry in state.values() for m in entry["metas"]]
    assert len(set(refs)) == 3


def diffs_after(client, start):
    return [m[4] for m in client.received[start:] if m[3] == "presence_diff"]


def test_join_and_leave_arrive_as_diffs(nginx):
    admin = AdminView(nginx)
    start = len(admin.client.received)
    shopper = Shopper(nginx, "cart-1", {"page": "/"})
    admin.wait_for_counts({"cart-1": 1})
    joins = [d["joins"] for d in diffs_after(admin.client, start)]
    assert any("cart-1" in j for j in joins), joins
    [meta] = admin.metas("cart-1")

    start = len(admin.client.received)
    shopper.leave()
    admin.wait_for_counts({})
    leaves = [d["leaves"] for d in diffs_after(admin.client, start)]
    assert any(m["phx_ref"] == meta["phx_ref"] for lv in leaves for m in lv.get("cart-1", {}).get("metas", [])), leaves


def test_update_diff_carries_phx_ref_prev(nginx):
    admin = AdminView(nginx)
    shopper = Shopper(nginx, "cart-1", {"page": "/before"})
    admin.wait_for_counts({"cart-1": 1})
    [old] = admin.metas("cart-1")
    start = len(admin.client.received)
    shopper.update({"page": "/after"})
    admin.wait_until(lambda v: [m["page"] for m in v.metas("cart-1")] == ["/after"], what="/after")
    [new] = admin.metas("cart-1")
    assert new["phx_ref"] != old["phx_ref"]
    assert new.get("phx_ref_prev") == old["phx_ref"], new
    joined = [m for d in diffs_after(admin.client, start) for m in d["joins"].get("cart-1", {}).get("metas", [])]
    assert any(m.get("phx_ref_prev") == old["phx_ref"] for m in joined), joined


def test_every_admin_sees_the_same_presence(nginx):
    first, second = AdminView(nginx, "ops-1"), AdminView(nginx, "ops-2")
    shoppers = [Shopper(nginx, f"cart-{i % 3}", {"page": f"/p{i}"}) for i in range(6)]
    expected = {"cart-0": 2, "cart-1": 2, "cart-2": 2}
    first.wait_for_counts(expected)
    second.wait_for_counts(expected)
    assert first.presences == second.presences
    shoppers[0].leave()
    shoppers[4].update({"page": "/moved"})
    shoppers[5].close()
    expected = {"cart-0": 1, "cart-1": 2, "cart-2": 1}
    for view in (first, second):
        view.wait_until(
            lambda v: v.meta_counts() == expected and "/moved" in [m["page"] for m in v.metas("cart-1")],
            what="after leave, update and close",
        )
    assert first.presences == second.presences


def test_synced_view_equals_a_fresh_admins_state(nginx):
    admin = AdminView(nginx)
    shoppers = [Shopper(nginx, f"cart-{i % 4}", {"page": f"/p{i}"}) for i in range(8)]
    for i, shopper in enumerate(shoppers):
        if i % 3 == 0:
            shopper.update({"page": f"/q{i}", "items": [{"product": f"shoe-{i}", "size": "9", "qty": i + 1}]})
    shoppers[1].leave()
    shoppers[2].close()
    expected = {"cart-0": 2, "cart-1": 1, "cart-2": 1, "cart-3": 2}
    admin.wait_for_counts(expected)
    admin.wait_until(
        lambda v: {m["page"] for ms in v.presences.values() for m in ms.values()}
        == {"/q0", "/q3", "/p4", "/p5", "/q6", "/p7"},
        what="every update",
    )
    fresh = AdminView(nginx, "ops-2", topics=("admin:cart_tracker",))
    fresh.wait_until(lambda v: v.state_seen, what="presence_state")
    assert fresh.presences == admin.presences, (
        f"fresh  {json.dumps(fresh.presences, sort_keys=True)}\nsynced {json.dumps(admin.presences, sort_keys=True)}"
    )


def test_an_admin_going_away_does_not_disturb_the_others(nginx):
    staying, leaving = AdminView(nginx, "ops-1"), AdminView(nginx, "ops-2")
    crowd = Crowd(nginx)
    crowd.join("cart-1", {"page": "/"})
    staying.wait_for_counts({"cart-1": 1})
    leaving.client.ws.reset()
    crowd.join("cart-2", {"page": "/"})
    staying.wait_for_counts({"cart-1": 1, "cart-2": 1})
    staying.client.heartbeat()
