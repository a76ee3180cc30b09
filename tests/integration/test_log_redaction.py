"""No token in any log, at any level (Debian's nginx is built --with-debug,
and logs every request line and header at debug level): handshakes of every
kind, the token endpoints and a 404, then every log file is searched for every
token, and for the admin's password. The example's access log format leaves
the query string out and logs what the module made of the token instead."""

import base64
import json
import time

import jwt

from conftest import ADMIN_PASSWORD, ADMIN_USER
from helpers import ADMIN_PATH, SHOPPER_PATH, PhoenixClient, socket_path
from wsclient import http_exchange, upgrade_request


def debug_server(nginx_factory, socket_access_log=None):
    server = nginx_factory(start=False)
    text = server.conf.read_text()
    assert "error_log .run/logs/error.log info;" in text
    text = text.replace("error_log .run/logs/error.log info;", "error_log .run/logs/error.log debug;")
    if socket_access_log:
        # An operator's own format on the socket locations.
        for role in ("shopper", "admin"):
            text = text.replace(f"presence_socket {role};",
                                f"presence_socket {role};\n            {socket_access_log}")
    server.conf.write_text(text)
    return server.start()


def request(server, path, token, host=None, **kwargs):
    raw = upgrade_request(socket_path(path, token) if token is not None else path,
                          host=host or f"127.0.0.1:{server.port}", **kwargs)
    return http_exchange(server.port, raw).status


def every_kind_of_handshake(server):
    """Makes each kind of handshake; returns every token it sent or received."""
    keys = server.keys
    now = int(time.time())
    sent = {
        "accepted shopper": keys.shopper_token("cart-log-1"),
        "accepted admin": keys.admin_token("ops-log"),
        "expired": keys.shopper_token("cart-log-2", ttl=-3600),
        "shopper key as admin": jwt.encode({"sub": "m", "role": "admin", "exp": now + 60},
                                           keys.hs256_secret, algorithm="HS256",
                                           headers={"kid": "shop-1"}),
        "no upgrade": keys.shopper_token("cart-log-3"),
        "version 8": keys.shopper_token("cart-log-4"),
        "bad vsn": keys.shopper_token("cart-log-5"),
        "foreign origin": keys.shopper_token("cart-log-6"),
        "not found": keys.shopper_token("cart-log-7"),
        "garbage": "not-a-jwt-but-secret-0123456789",
    }
    client = PhoenixClient.connect(server, sent["accepted shopper"])
    client.heartbeat()
    client.close()
    admin = PhoenixClient.connect(server, sent["accepted admin"], ADMIN_PATH)
    admin.heartbeat()
    admin.close()
    assert request(server, SHOPPER_PATH, sent["expired"]) == 403
    assert request(server, ADMIN_PATH, sent["shopper key as admin"]) == 403
    assert request(server, SHOPPER_PATH, sent["garbage"]) == 403
    assert request(server, SHOPPER_PATH, sent["no upgrade"], omit=("Upgrade",)) == 400
    assert request(server, SHOPPER_PATH, sent["version 8"], headers={"Sec-WebSocket-Version": "8"}) == 426
    bad_vsn = f"{SHOPPER_PATH}?vsn=1.0.0&token={sent['bad vsn']}"
    assert request(server, bad_vsn, None) == 400
    assert request(server, SHOPPER_PATH, sent["foreign origin"],
                   headers={"Origin": "https://evil.example"}) == 403
    assert request(server, "/socket/websocket/extra", sent["not found"]) == 404
    # The token endpoints: what they answer must not reach a log either.
    demo = http_exchange(server.port, b"GET /demo/token HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert demo.status == 200
    sent["demo"] = json.loads(demo.body)["token"]
    auth = base64.b64encode(f"{ADMIN_USER}:{ADMIN_PASSWORD}".encode()).decode()
    minted = http_exchange(
        server.port,
        f"POST /admin/token HTTP/1.1\r\nHost: a\r\nAuthorization: Basic {auth}\r\n"
        "Content-Length: 0\r\nConnection: close\r\n\r\n".encode(),
    )
    assert minted.status == 200
    sent["admin minted"] = json.loads(minted.body)["token"]
    return sent


def wait_for_access_log_lines(server, count, name="access.log"):
    path = server.prefix / ".run" / "logs" / name
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text().splitlines()) >= count:
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{name} has fewer than {count} lines")


def assert_no_secret_in_logs(server, sent):
    logs = {p.name: p.read_text(errors="replace") for p in (server.prefix / ".run" / "logs").iterdir()}
    assert "http request line" in logs["error.log"], "the error log is not at debug level"
    auth = base64.b64encode(f"{ADMIN_USER}:{ADMIN_PASSWORD}".encode()).decode()
    for name, text in logs.items():
        for kind, token in sent.items():
            for piece in [token] + token.split(".")[1:]:
                assert piece not in text, f"{kind} token in {name}"
        assert auth not in text, f"admin password in {name}"
    return logs


def test_no_token_in_any_log_at_debug_level(nginx_factory):
    server = debug_server(nginx_factory)
    sent = every_kind_of_handshake(server)
    wait_for_access_log_lines(server, 12)
    logs = assert_no_secret_in_logs(server, sent)
    assert "token=[redacted]" in logs["error.log"]
    # Instead of the token, what the module made of it.
    access = logs["access.log"]
    assert "role=shopper sub=cart-log-1 kid=shop-1 result=accepted" in access, access
    assert "role=admin sub=ops-log kid=admin-1 result=accepted" in access, access
    assert "role=shopper sub=cart-log-2 kid=shop-1 result=expired" in access, access
    assert "role=admin sub=m kid=shop-1 result=key_not_for_role" in access, access
    assert "result=origin" in access and "result=bad_upgrade" in access, access
    assert "role=shopper" in access and "kid=demo-1 result=minted" in access, access


def test_no_token_in_an_operators_combined_access_log(nginx_factory):
    server = debug_server(nginx_factory, "access_log .run/logs/combined.log combined;")
    sent = every_kind_of_handshake(server)
    wait_for_access_log_lines(server, 9, "combined.log")  # the handshakes on the socket locations
    logs = assert_no_secret_in_logs(server, sent)
    assert "GET /socket/websocket?vsn=2.0.0&token=[redacted] HTTP/1.1" in logs["combined.log"]
