"""The WebSocket upgrade (RFC 6455 section 4) on both endpoints: what is
refused with 400 (or 426), what is answered with 101, and that bytes glued to
the request are not lost (docs/PROTOCOL.md section 2)."""

import asyncio
import base64
import json

import pytest
import websockets

from helpers import ADMIN_PATH, SHOPPER_PATH, PhoenixClient, socket_path
from wsclient import WsConnection, accept_for, http_exchange, new_key, encode_frame, OP_TEXT, upgrade_request


def shopper_path(server, **kwargs):
    return socket_path(SHOPPER_PATH, server.keys.shopper_token("cart-1"), **kwargs)


def status_of(server, path, **request_args):
    return http_exchange(server.port, upgrade_request(path, **request_args)).status


@pytest.mark.parametrize("base", [SHOPPER_PATH, ADMIN_PATH])
def test_plain_get_without_upgrade_is_400(nginx, base):
    token = nginx.keys.admin_token() if base == ADMIN_PATH else nginx.keys.shopper_token("cart-1")
    raw = f"GET {socket_path(base, token)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    assert http_exchange(nginx.port, raw).status == 400


def test_missing_upgrade_header_is_400(nginx):
    assert status_of(nginx, shopper_path(nginx), omit=("Upgrade",)) == 400


def test_upgrade_to_other_protocol_is_400(nginx):
    assert status_of(nginx, shopper_path(nginx), headers={"Upgrade": "h2c"}) == 400


def test_connection_header_without_upgrade_token_is_400(nginx):
    assert status_of(nginx, shopper_path(nginx), headers={"Connection": "keep-alive"}) == 400


def test_missing_key_is_400(nginx):
    assert status_of(nginx, shopper_path(nginx), omit=("Sec-WebSocket-Key",)) == 400


@pytest.mark.parametrize(
    "key",
    [
        "",
        "not base64!!",
        base64.b64encode(b"fifteen bytes!!").decode(),  # 15 bytes, one short
        base64.b64encode(b"seventeen bytes!!").decode(),  # 17 bytes, one past
    ],
)
def test_invalid_key_is_400(nginx, key):
    assert status_of(nginx, shopper_path(nginx), headers={"Sec-WebSocket-Key": key}) == 400


@pytest.mark.parametrize("version", ["8", "12", "14", ""])
def test_wrong_version_is_refused(nginx, version):
    response = http_exchange(
        nginx.port,
        upgrade_request(shopper_path(nginx), headers={"Sec-WebSocket-Version": version}),
    )
    assert response.status in (400, 426), response
    if response.status == 426:
        assert response.headers.get("sec-websocket-version") == "13", response.headers


def test_missing_version_is_refused(nginx):
    response = http_exchange(
        nginx.port, upgrade_request(shopper_path(nginx), omit=("Sec-WebSocket-Version",))
    )
    assert response.status in (400, 426), response


def test_post_is_400(nginx):
    assert status_of(nginx, shopper_path(nginx), method="POST", headers={"Content-Length": "0"}) == 400


def test_http_1_0_is_400(nginx):
    assert status_of(nginx, shopper_path(nginx), version="HTTP/1.0") == 400


def test_missing_vsn_is_400(nginx):
    assert status_of(nginx, shopper_path(nginx, vsn=None)) == 400


@pytest.mark.parametrize("vsn", ["1.0.0", "2.0", "2.0.1", ""])
def test_wrong_vsn_is_400(nginx, vsn):
    assert status_of(nginx, shopper_path(nginx, vsn=vsn)) == 400


@pytest.mark.parametrize("token", [None, "garbage"])
def test_upgrade_is_checked_before_the_token(nginx, token):
    path = socket_path(SHOPPER_PATH, token)
    assert status_of(nginx, path, omit=("Sec-WebSocket-Key",)) == 400
    assert status_of(nginx, path, omit=("Upgrade",)) == 400


@pytest.mark.parametrize("token", [None, "garbage"])
def test_vsn_is_checked_before_the_token(nginx, token):
    # docs/PROTOCOL.md section 2 lists a wrong vsn with the invalid upgrades, checked first.
    assert status_of(nginx, socket_path(SHOPPER_PATH, token, vsn="1.0.0")) == 400
    assert status_of(nginx, socket_path(SHOPPER_PATH, token, vsn=None)) == 400


def test_valid_handshake_answers_101_with_accept(nginx):
    key = new_key()
    response = http_exchange(nginx.port, upgrade_request(shopper_path(nginx), key=key))
    assert response.status == 101
    assert response.headers["sec-websocket-accept"] == accept_for(key)
    assert response.headers["upgrade"].lower() == "websocket"
    assert "upgrade" in response.headers["connection"].lower()


def test_admin_handshake_answers_101(nginx):
    ws = WsConnection.open(nginx.port, socket_path(ADMIN_PATH, nginx.keys.admin_token()))
    ws.close()


@pytest.mark.parametrize(
    "headers",
    [
        {"Connection": "keep-alive, Upgrade"},  # as Firefox sends it
        {"Upgrade": "WebSocket", "Connection": "upgrade"},  # tokens are case-insensitive
    ],
)
def test_handshake_accepts_header_variants(nginx, headers):
    ws = WsConnection.open(nginx.port, shopper_path(nginx), headers=headers)
    ws.close()


def test_join_sent_with_the_handshake_is_not_lost(nginx):
    join = json.dumps(["1", "1", "cart:cart-1", "phx_join", {"page": "/"}])
    heartbeat = json.dumps([None, "2", "phoenix", "heartbeat", {}])
    glued = encode_frame(OP_TEXT, join) + encode_frame(OP_TEXT, heartbeat)
    ws = WsConnection.open(nginx.port, shopper_path(nginx), after_request=glued)
    client = PhoenixClient(ws)
    assert client.reply("1") == ("ok", {})
    assert client.reply("2") == ("ok", {})
    client.close()


def test_stock_python_websockets_client_connects(nginx):
    async def heartbeat():
        async with websockets.connect(nginx.ws_url + shopper_path(nginx)) as ws:
            await ws.send(json.dumps([None, "1", "phoenix", "heartbeat", {}]))
            return json.loads(await asyncio.wait_for(ws.recv(), 5))

    reply = asyncio.run(heartbeat())
    assert reply == [None, "1", "phoenix", "phx_reply", {"status": "ok", "response": {}}]
