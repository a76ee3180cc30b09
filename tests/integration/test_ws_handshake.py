"""The WebSocket upgrade (RFC 6455 section 4) on both endpoints: what is
refused with 400 (or 426), what is answered with 101, and that bytes glued to
the request are not lost (docs/PROTOCOL.md section 2)."""

import asyncio
import base64
import json
import socket

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


def test_426_answer_has_a_reason_phrase(nginx):
    raw = upgrade_request(shopper_path(nginx), headers={"Sec-WebSocket-Version": "8"})
    with socket.create_connection(("127.0.0.1", nginx.port), timeout=5) as sock:
        sock.sendall(raw)
        head = b""
        while b"\r\n" not in head:
            chunk = sock.recv(4096)
            assert chunk, head
            head += chunk
    assert head.split(b"\r\n")[0] == b"HTTP/1.1 426 Upgrade Required", head


def origin_status(server, base, origin, host=None, **request_args):
    token = server.keys.admin_token() if base == ADMIN_PATH else server.keys.shopper_token("cart-1")
    headers = request_args.pop("headers", {})
    if origin is not None:
        headers["Origin"] = origin
    request = upgrade_request(
        socket_path(base, token), host=host or f"127.0.0.1:{server.port}", headers=headers, **request_args
    )
    return http_exchange(server.port, request).status


@pytest.mark.parametrize("base", [SHOPPER_PATH, ADMIN_PATH])
def test_foreign_origin_is_403_on_both_endpoints(nginx, base):
    assert origin_status(nginx, base, "https://evil.example") == 403
    assert origin_status(nginx, base, "null") == 403
    # Same host, another port: another origin.
    assert origin_status(nginx, base, f"http://127.0.0.1:{nginx.port + 1}") == 403


@pytest.mark.parametrize("base", [SHOPPER_PATH, ADMIN_PATH])
def test_own_origin_and_no_origin_are_accepted(nginx, base):
    assert origin_status(nginx, base, f"http://127.0.0.1:{nginx.port}") == 101
    assert origin_status(nginx, base, f"http://localhost:{nginx.port}", host=f"localhost:{nginx.port}") == 101
    # A native client sends no Origin and is not refused for it.
    assert origin_status(nginx, base, None) == 101


def test_upgrade_is_checked_before_the_origin(nginx):
    assert origin_status(nginx, SHOPPER_PATH, "https://evil.example", omit=("Sec-WebSocket-Key",)) == 400


def test_two_origin_headers_are_403(nginx):
    raw = upgrade_request(shopper_path(nginx), host=f"127.0.0.1:{nginx.port}",
                          headers={"Origin": f"http://127.0.0.1:{nginx.port}"})
    raw = raw.replace(b"\r\n\r\n", b"\r\nOrigin: https://evil.example\r\n\r\n")
    assert http_exchange(nginx.port, raw).status == 403


def test_allowed_origins_are_configurable(nginx_factory):
    server = nginx_factory(overrides={"presence_allowed_origins": "self https://shop.example //*.brand.example"})
    assert origin_status(server, SHOPPER_PATH, "https://shop.example") == 101
    assert origin_status(server, SHOPPER_PATH, "http://shop.example") == 403
    assert origin_status(server, SHOPPER_PATH, "http://eu.brand.example:3000") == 101
    assert origin_status(server, SHOPPER_PATH, "https://evil.example") == 403
    assert origin_status(server, SHOPPER_PATH, f"http://127.0.0.1:{server.port}") == 101


def test_star_allows_any_origin(nginx_factory):
    server = nginx_factory(overrides={"presence_allowed_origins": "*"})
    assert origin_status(server, ADMIN_PATH, "https://evil.example") == 101


@pytest.mark.parametrize("value, message", [
    ("shop.example", 'invalid origin "shop.example": expected self, * or [scheme:]//host[:port]'),
    ("https://shop.example/path", 'invalid origin "https://shop.example/path"'),
])
def test_invalid_allowed_origin_fails_nginx_t(tmp_path, value, message):
    from conftest import Nginx

    result = Nginx(tmp_path, overrides={"presence_allowed_origins": value}).test_config()
    assert result.returncode != 0
    assert f'"presence_allowed_origins" directive {message}' in result.stderr, result.stderr
