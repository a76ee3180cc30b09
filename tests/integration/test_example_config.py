"""What nginx.conf.example promises an operator beyond the endpoints: no
version in the Server header, /metrics only on a loopback-only listener (not
on the public port a reverse proxy forwards to), and handshakes rate-limited
per client address with a 429 (loopback, where the simulator runs, exempt)."""

import socket
import urllib.error
import urllib.request

from helpers import ADMIN_PATH, SHOPPER_PATH, socket_path
from wsclient import http_exchange, read_response_head, upgrade_request

LOOPBACK_EXEMPT = "127.0.0.0/8 0;"


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_metrics_only_on_the_loopback_listener(nginx):
    status, _, body = get(f"{nginx.metrics_url}/metrics")
    assert status == 200 and b"presence_" in body
    assert get(f"{nginx.url}/metrics")[0] == 404
    assert get(f"{nginx.metrics_url}/admin/")[0] == 404


def test_server_header_carries_no_version(nginx):
    _, headers, _ = get(f"{nginx.url}/nothing-here")
    assert headers["Server"] == "nginx", headers


def handshakes(server, base, token, count):
    return [http_exchange(server.port, upgrade_request(socket_path(base, token))).status
            for _ in range(count)]


def remote_client_server(nginx_factory):
    server = nginx_factory(start=False)
    text = server.conf.read_text()
    assert LOOPBACK_EXEMPT in text
    server.conf.write_text(text.replace(LOOPBACK_EXEMPT, ""))  # the test is a remote client here
    return server.start()


def test_shopper_handshakes_past_the_burst_get_429(nginx_factory):
    server = remote_client_server(nginx_factory)
    shopper = handshakes(server, SHOPPER_PATH, server.keys.shopper_token("cart-1"), 130)
    # burst=100 at 20 r/s: the first 100 pass at once, then most are refused.
    assert shopper[:100] == [101] * 100, shopper
    assert shopper.count(429) >= 10, shopper
    # The limit is per address: another client is not held by this one's.
    with socket.create_connection(("127.0.0.1", server.port), timeout=5,
                                  source_address=("127.0.0.2", 0)) as sock:
        sock.sendall(upgrade_request(socket_path(SHOPPER_PATH, server.keys.shopper_token("cart-2"))))
        assert read_response_head(sock)[0] == 101


def test_admin_handshakes_past_the_burst_get_429(nginx_factory):
    server = remote_client_server(nginx_factory)
    admin = handshakes(server, ADMIN_PATH, server.keys.admin_token(), 40)
    assert admin[:20] == [101] * 20 and admin.count(429) >= 10, admin


def test_loopback_is_not_rate_limited(nginx):
    statuses = handshakes(nginx, SHOPPER_PATH, nginx.keys.shopper_token("cart-1"), 130)
    assert statuses == [101] * 130
