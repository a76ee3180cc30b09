"""The module loads into Debian's nginx, answers on its locations, and
`nginx -t` names the directive and the file:line of a bad value."""

import urllib.error
import urllib.request

import pytest

from conftest import Nginx


def http_status(url, method="GET", headers=None):
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def test_plain_get_on_socket_locations_is_400(nginx):
    assert http_status(nginx.url + "/socket/websocket?vsn=2.0.0") == 400
    assert http_status(nginx.url + "/admin_socket/websocket?vsn=2.0.0") == 400


def test_example_config_passes_nginx_t(tmp_path):
    server = Nginx(tmp_path)
    result = server.test_config()
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def line_of(text, needle):
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    "directive,bad",
    [
        ("presence_socket", "customer"),
        ("presence_zone", "presence:10k"),
        ("presence_zone", "presence"),
        ("presence_zone", "presence:64m node=bad/name"),
        ("presence_max_channels", "0"),
        ("presence_max_channels", "1025"),
        ("presence_max_message", "100"),
        ("presence_idle_timeout", "0"),
        ("presence_send_buffer", "1k"),
        ("presence_broadcast_interval", "soon"),
    ],
)
def test_bad_directive_value_names_directive_and_line(tmp_path, directive, bad):
    server = Nginx(tmp_path, overrides={directive: bad})
    result = server.test_config()
    assert result.returncode != 0
    conf = server.conf.read_text()
    line = line_of(conf, f"{directive} {bad};")
    assert f"\"{directive}\" directive" in result.stderr, result.stderr
    assert f"{server.conf}:{line}" in result.stderr, result.stderr


def test_missing_key_file_fails_nginx_t_naming_directive_and_file(tmp_path):
    server = Nginx(tmp_path, overrides={"presence_jwt_key": ".run/keys/missing.key alg=hs256 roles=shopper"})
    result = server.test_config()
    assert result.returncode != 0
    assert '"presence_jwt_key" directive' in result.stderr, result.stderr
    assert "missing.key" in result.stderr, result.stderr


def test_short_hs256_secret_fails_nginx_t(tmp_path):
    server = Nginx(tmp_path)
    (tmp_path / ".run" / "keys" / "shopper-hs256.key").write_bytes(b"x" * 31)
    result = server.test_config()
    assert result.returncode != 0
    assert '"presence_jwt_key" directive' in result.stderr, result.stderr
    assert "32" in result.stderr, result.stderr


def test_token_key_that_cannot_sign_fails_nginx_t(tmp_path):
    server = Nginx(tmp_path, overrides={"presence_token_key": "no-such-kid"})
    result = server.test_config()
    assert result.returncode != 0
    assert '"presence_token_key" "no-such-kid" names no key that can sign' in result.stderr


def test_socket_location_without_zone_fails_nginx_t(tmp_path):
    server = Nginx(tmp_path)
    text = server.conf.read_text().replace("presence_zone presence:64m node=store-a;", "")
    server.conf.write_text(text)
    result = server.test_config()
    assert result.returncode != 0
    assert "need a \"presence_zone\"" in result.stderr, result.stderr
