"""Phoenix Channels V2 framing on both endpoints (docs/PROTOCOL.md section 5):
heartbeat, replies, bad JSON and unknown events answered without closing the
socket, unknown topics, the channel limit, a repeated join replacing the
first, and phx_leave."""

import pytest

from helpers import (
    ADMIN_PATH,
    AdminView,
    PhoenixClient,
    Shopper,
    assert_error_reply,
)


@pytest.fixture
def shopper_client(nginx):
    client = PhoenixClient.connect(nginx, nginx.keys.shopper_token("cart-1"))
    yield client
    client.close()


def replies_until_heartbeat(client):
    """Sends a heartbeat and returns every message received before its
    reply (the heartbeat reply itself must be ok)."""
    start = len(client.received)
    ref = client.push("phoenix", "heartbeat")
    client.wait_for(lambda m: m[1] == ref, what=f"heartbeat reply {ref}", start=start)
    index = next(i for i in range(start, len(client.received)) if client.received[i][1] == ref)
    assert client.received[index][4] == {"status": "ok", "response": {}}, client.received[index]
    return client.received[start:index]


def test_heartbeat_gets_ok_reply_with_same_ref(shopper_client):
    ref = shopper_client.push("phoenix", "heartbeat", ref="hb-42")
    message = shopper_client.wait_for(lambda m: m[1] == ref)
    assert message == [None, "hb-42", "phoenix", "phx_reply", {"status": "ok", "response": {}}]


def test_heartbeat_on_admin_socket(nginx):
    client = PhoenixClient.connect(nginx, nginx.keys.admin_token(), ADMIN_PATH)
    client.heartbeat()


@pytest.mark.parametrize("text", ["not json", "[", "{}", "[null,", "", "\"heartbeat\"", "[1,2,3]", "null"])
def test_malformed_json_without_readable_ref_leaves_socket_alive(shopper_client, text):
    shopper_client.send_raw_text(text)
    # Whatever comes back before the next heartbeat's reply can only be an error reply.
    for message in replies_until_heartbeat(shopper_client):
        assert message[3] == "phx_reply", message
        assert_error_reply(message[4]["status"], message[4]["response"])


@pytest.mark.parametrize(
    "message",
    [
        '[null,"7","phoenix","heartbeat"]',  # four elements
        '[null,"7","phoenix","heartbeat",{},{}]',  # six elements
        '[null,"7",42,"heartbeat",{}]',  # topic not a string
        '[null,"7","phoenix",42,{}]',  # event not a string
        '[null,"7","cart:cart-1","phx_join","page"]',  # payload not an object
    ],
)
def test_malformed_message_with_readable_ref_gets_error_reply(shopper_client, message):
    shopper_client.send_raw_text(message)
    status, response = shopper_client.reply("7")
    assert_error_reply(status, response)
    shopper_client.heartbeat()


def test_unknown_event_on_phoenix_topic_gets_error_reply(shopper_client):
    status, response = shopper_client.call("phoenix", "dance", {}, None)
    assert_error_reply(status, response)
    shopper_client.heartbeat()


def test_unknown_event_on_joined_channel_gets_error_reply_and_channel_lives(nginx):
    shopper = Shopper(nginx, "cart-1", {"page": "/"})
    status, response = shopper.client.call(shopper.topic, "teleport", {}, shopper.join_ref)
    assert_error_reply(status, response)
    shopper.update({"page": "/after"})
    shopper.client.heartbeat()


def test_event_on_topic_not_joined_gets_error_reply(shopper_client):
    status, response = shopper_client.call("cart:cart-1", "update", {"page": "/"}, "99")
    assert_error_reply(status, response)
    shopper_client.heartbeat()


@pytest.mark.parametrize("topic", ["lobby", "cart", "cart:", "room:lobby", "phoenix", ""])
def test_unknown_topic_join_gets_error_reply(shopper_client, topic):
    status, response, _ = shopper_client.join(topic)
    assert_error_reply(status, response)
    shopper_client.heartbeat()


def test_unknown_admin_topic_join_gets_error_reply(nginx):
    client = PhoenixClient.connect(nginx, nginx.keys.admin_token(), ADMIN_PATH)
    status, response, _ = client.join("admin:everything")
    assert_error_reply(status, response)
    client.heartbeat()


def admin_client(server):
    return PhoenixClient.connect(server, server.keys.admin_token(), ADMIN_PATH)


def test_joins_up_to_max_channels_succeed(nginx_factory):
    server = nginx_factory(overrides={"presence_max_channels": "2"})
    client = admin_client(server)
    assert client.join("admin:cart_tracker")[0] == "ok"
    assert client.join("admin:stats")[0] == "ok"


def test_join_past_max_channels_gets_error_reply(nginx_factory):
    server = nginx_factory(overrides={"presence_max_channels": "1"})
    client = admin_client(server)
    assert client.join("admin:cart_tracker")[0] == "ok"
    status, response, _ = client.join("admin:stats")
    assert_error_reply(status, response)
    client.heartbeat()
    # The refused join did not take the first channel down.
    client.wait_for(lambda m: m[2] == "admin:cart_tracker" and m[3] == "presence_state")


def test_channel_slot_is_freed_by_leave(nginx_factory):
    server = nginx_factory(overrides={"presence_max_channels": "1"})
    client = admin_client(server)
    status, _, join_ref = client.join("admin:cart_tracker")
    assert status == "ok"
    assert client.call("admin:cart_tracker", "phx_leave", {}, join_ref)[0] == "ok"
    assert client.join("admin:stats")[0] == "ok"


def test_second_join_of_same_topic_replaces_the_first(nginx):
    admin = AdminView(nginx)
    shopper = Shopper(nginx, "cart-1", {"page": "/first"})
    admin.wait_until(lambda v: [m["page"] for m in v.metas("cart-1")] == ["/first"], what="/first")
    old_join_ref = shopper.join_ref

    status, _, new_join_ref = shopper.client.join(shopper.topic, {"page": "/second"})
    assert status == "ok"
    shopper.client.wait_for(
        lambda m: m[0] == old_join_ref and m[2] == shopper.topic and m[3] == "phx_close",
        what=f"phx_close for the old join_ref {old_join_ref}",
    )
    admin.wait_until(lambda v: [m["page"] for m in v.metas("cart-1")] == ["/second"], what="only /second")
    # The new channel is the live one.
    assert shopper.client.call(shopper.topic, "update", {"page": "/third"}, new_join_ref)[0] == "ok"
    admin.wait_until(lambda v: [m["page"] for m in v.metas("cart-1")] == ["/third"], what="/third")


def test_leave_gets_ok_reply_and_removes_the_meta(nginx):
    admin = AdminView(nginx)
    shopper = Shopper(nginx, "cart-1", {"page": "/"})
    admin.wait_for_counts({"cart-1": 1})
    shopper.leave()
    admin.wait_for_counts({})
    shopper.client.heartbeat()


def test_push_after_leave_gets_error_reply(nginx):
    shopper = Shopper(nginx, "cart-1", {"page": "/"})
    shopper.leave()
    status, response = shopper.client.call(shopper.topic, "update", {"page": "/x"}, shopper.join_ref)
    assert_error_reply(status, response)


def test_rejoin_after_leave_tracks_again(nginx):
    admin = AdminView(nginx)
    shopper = Shopper(nginx, "cart-1", {"page": "/"})
    admin.wait_for_counts({"cart-1": 1})
    shopper.leave()
    admin.wait_for_counts({})
    assert shopper.client.join(shopper.topic, {"page": "/back"})[0] == "ok"
    admin.wait_until(lambda v: [m["page"] for m in v.metas("cart-1")] == ["/back"], what="/back")
