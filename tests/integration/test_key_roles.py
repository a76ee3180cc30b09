"""Keys bound to roles (CONTRACT section 2): a token is accepted only when its
role claim is the endpoint's and the key that verified it is configured for
that role, so every store backend holding the shopper key still cannot open
the admin socket; `nginx -t` refuses a key without roles and one key under
two role sets; optional iss / aud checks per endpoint."""

import subprocess
import time

import jwt
import pytest

from conftest import BUILD, Nginx
from helpers import ADMIN_PATH, SHOPPER_PATH, socket_path
from wsclient import http_exchange, upgrade_request

TOOL = BUILD / "tools" / "presence-token"
KEY_LINES = (
    "presence_jwt_key .run/keys/shopper-hs256.key alg=hs256 kid=shop-1 roles=shopper;",
    "presence_jwt_key .run/keys/admin-ed25519.pem alg=eddsa kid=admin-1 roles=admin;",
)


def status(server, base, token):
    return http_exchange(server.port, upgrade_request(socket_path(base, token))).status


def claims(role, sub="mallory", **extra):
    out = {"sub": sub, "role": role, "exp": int(time.time()) + 300}
    out.update(extra)
    return out


def shopper_key_token(server, role, **extra):
    return jwt.encode(claims(role, **extra), server.keys.hs256_secret, algorithm="HS256",
                      headers={"kid": "shop-1"})


def admin_key_token(server, role, **extra):
    return jwt.encode(claims(role, **extra), server.keys.ed25519_private, algorithm="EdDSA",
                      headers={"kid": "admin-1"})


def demo_key_token(server, role):
    return jwt.encode(claims(role), server.keys.demo_secret, algorithm="HS256",
                      headers={"kid": "demo-1"})


def edited(tmp_path, old, new):
    server = Nginx(tmp_path)
    text = server.conf.read_text()
    assert old in text, old
    server.conf.write_text(text.replace(old, new))
    return server


def test_the_shopper_key_cannot_open_the_admin_socket(nginx):
    # As the attacker holding the shopper secret does it: the product's own token tool.
    done = subprocess.run(
        [str(TOOL), "--key", str(nginx.keys.hs256_path), "--alg", "hs256", "--kid", "shop-1",
         "--role", "admin", "--sub", "mallory"],
        capture_output=True, text=True, timeout=10,
    )
    assert done.returncode == 0, done.stderr
    assert status(nginx, ADMIN_PATH, done.stdout.strip()) == 403
    assert status(nginx, ADMIN_PATH, shopper_key_token(nginx, "admin")) == 403
    # Without a kid the sole HS256 key is picked: still the shopper key, still refused.
    no_kid = jwt.encode(claims("admin"), nginx.keys.hs256_secret, algorithm="HS256")
    assert status(nginx, ADMIN_PATH, no_kid) == 403
    assert "key_not_for_role" in nginx.error_log or "roles=shopper" in nginx.error_log


def test_each_key_opens_only_its_roles_endpoint(nginx):
    assert status(nginx, SHOPPER_PATH, shopper_key_token(nginx, "shopper")) == 101
    assert status(nginx, ADMIN_PATH, admin_key_token(nginx, "admin")) == 101
    # The admin key is not a shopper key either.
    assert status(nginx, SHOPPER_PATH, admin_key_token(nginx, "shopper")) == 403
    # The demo store's key signs shoppers only.
    assert status(nginx, SHOPPER_PATH, demo_key_token(nginx, "shopper")) == 101
    assert status(nginx, ADMIN_PATH, demo_key_token(nginx, "admin")) == 403


def test_a_key_for_both_roles_must_say_so_and_then_serves_both(nginx_factory):
    server = nginx_factory(start=False)
    text = server.conf.read_text()
    assert KEY_LINES[0] in text
    server.conf.write_text(text.replace("kid=shop-1 roles=shopper;", "kid=shop-1 roles=shopper,admin;"))
    server.start()
    assert status(server, SHOPPER_PATH, shopper_key_token(server, "shopper")) == 101
    assert status(server, ADMIN_PATH, shopper_key_token(server, "admin")) == 101


@pytest.mark.parametrize("line, message", [
    (KEY_LINES[0].replace(" roles=shopper", ""),
     '"presence_jwt_key" directive needs roles=shopper, roles=admin or roles=shopper,admin'),
    (KEY_LINES[0].replace("roles=shopper", "roles=root"),
     '"presence_jwt_key" directive invalid "roles=root": expected roles=shopper, roles=admin or '
     'roles=shopper,admin'),
    (KEY_LINES[0].replace("roles=shopper", "roles=shopper,shopper"),
     'invalid "roles=shopper,shopper"'),
    (KEY_LINES[0].replace("roles=shopper", "roles="), 'invalid "roles="'),
])
def test_nginx_t_refuses_a_key_without_valid_roles(tmp_path, line, message):
    result = edited(tmp_path, KEY_LINES[0], line).test_config()
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


def test_nginx_t_refuses_the_shopper_secret_configured_again_for_admins(tmp_path):
    second = "presence_jwt_key .run/keys/shopper-hs256.key alg=hs256 kid=admin-2 roles=admin;"
    result = edited(tmp_path, KEY_LINES[0], KEY_LINES[0] + "\n    " + second).test_config()
    assert result.returncode != 0
    assert ('the same key as kid "shop-1" (roles=shopper) under roles=admin: one key serving both '
            'roles must be configured once, with roles=shopper,admin') in result.stderr, result.stderr


@pytest.mark.parametrize("location, key, role", [
    ("presence_admin_token;\n            presence_token_key admin-1;", "shop-1", "admin"),
    ("presence_demo_token;\n            presence_token_key demo-1;", "admin-1", "shopper"),
])
def test_nginx_t_refuses_a_token_endpoint_whose_key_cannot_sign_its_role(tmp_path, location, key, role):
    new = location.replace(location.split()[-1], f"{key};")
    result = edited(tmp_path, location, new).test_config()
    assert result.returncode != 0
    assert f'"presence_token_key" "{key}" cannot sign {role} tokens' in result.stderr, result.stderr


def test_issuer_and_audience_are_checked_per_endpoint(nginx_factory):
    server = nginx_factory(
        start=False,
        extra_http="presence_jwt_issuer https://store.example;\npresence_jwt_audience presence;",
    )
    server.start()
    good = {"iss": "https://store.example", "aud": ["presence", "other"]}
    assert status(server, SHOPPER_PATH, shopper_key_token(server, "shopper", **good)) == 101
    assert status(server, SHOPPER_PATH,
                  shopper_key_token(server, "shopper", iss="https://store.example", aud="presence")) == 101
    for bad in ({"aud": "presence"}, {"iss": "https://store.example"},
                {"iss": "https://evil.example", "aud": "presence"},
                {"iss": "https://store.example", "aud": "other"}):
        assert status(server, SHOPPER_PATH, shopper_key_token(server, "shopper", **bad)) == 403, bad


def test_without_an_audience_a_token_naming_one_is_refused(nginx):
    assert status(nginx, SHOPPER_PATH, shopper_key_token(nginx, "shopper", aud="presence")) == 403
    assert status(nginx, SHOPPER_PATH, shopper_key_token(nginx, "shopper", iss="anyone")) == 101
