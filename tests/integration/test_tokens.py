"""JWT checks at the handshake (docs/PROTOCOL.md sections 2 and 3): every bad token
is a 403 and never an upgrade; good tokens from python3-jwt and from npm's
`jose` are accepted; roles are per endpoint; the leeway is the configured
30 s."""

import base64
import json
import subprocess
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from helpers import ADMIN_PATH, SHOPPER_PATH, socket_path
from wsclient import http_exchange, upgrade_request

JS = Path(__file__).resolve().parent / "js"


def handshake_status(server, base, token):
    return http_exchange(server.port, upgrade_request(socket_path(base, token))).status


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256(server, claims, headers=None, key=None, algorithm="HS256"):
    return jwt.encode(
        claims, key or server.keys.hs256_secret, algorithm=algorithm, headers=headers or {"kid": "shop-1"}
    )


def eddsa(server, claims, headers=None, key=None):
    return jwt.encode(
        claims, key or server.keys.ed25519_private, algorithm="EdDSA", headers=headers or {"kid": "admin-1"}
    )


def shopper_claims(**changes):
    claims = {"sub": "cart-1", "role": "shopper", "exp": int(time.time()) + 300}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def admin_claims(**changes):
    claims = {"sub": "ops", "role": "admin", "exp": int(time.time()) + 300}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def test_hs256_shopper_token_is_accepted(nginx):
    assert handshake_status(nginx, SHOPPER_PATH, nginx.keys.shopper_token("cart-1")) == 101


def test_eddsa_admin_token_is_accepted(nginx):
    assert handshake_status(nginx, ADMIN_PATH, nginx.keys.admin_token("ops")) == 101


def test_eddsa_shopper_token_is_accepted(nginx_factory):
    # Roles come from the claim and the key's roles=, not from the key's algorithm.
    server = nginx_factory(start=False)
    line = "kid=admin-1 roles=admin;"
    assert line in server.conf.read_text()
    server.conf.write_text(server.conf.read_text().replace(line, "kid=admin-1 roles=shopper,admin;"))
    server.start()
    assert handshake_status(server, SHOPPER_PATH, eddsa(server, shopper_claims())) == 101


def test_missing_token_is_403(nginx):
    assert handshake_status(nginx, SHOPPER_PATH, None) == 403
    assert handshake_status(nginx, ADMIN_PATH, None) == 403


def test_empty_token_is_403(nginx):
    assert handshake_status(nginx, SHOPPER_PATH, "") == 403


@pytest.mark.parametrize("token", ["garbage", "a.b", "a.b.c.d", "..", "e30.e30.", "e30.e30"])
def test_malformed_token_is_403(nginx, token):
    assert handshake_status(nginx, SHOPPER_PATH, token) == 403


def test_non_base64_token_is_403(nginx):
    header, payload, signature = nginx.keys.shopper_token("cart-1").split(".")
    for bad in (f"{header}!.{payload}.{signature}", f"{header}.{payload}.*{signature[1:]}"):
        assert handshake_status(nginx, SHOPPER_PATH, bad) == 403, bad


def test_truncated_token_is_403(nginx):
    token = nginx.keys.shopper_token("cart-1")
    for cut in (1, 10, len(token.split(".")[2]), len(token) // 2):
        assert handshake_status(nginx, SHOPPER_PATH, token[:-cut]) == 403, cut


def test_hs256_signed_with_another_secret_is_403(nginx):
    token = hs256(nginx, shopper_claims(), key=b"another secret of thirty-two+ bytes!!")
    assert handshake_status(nginx, SHOPPER_PATH, token) == 403


def test_eddsa_signed_with_another_key_is_403(nginx):
    token = eddsa(nginx, admin_claims(), key=Ed25519PrivateKey.generate())
    assert handshake_status(nginx, ADMIN_PATH, token) == 403


def test_tampered_payload_is_403(nginx):
    header, _, signature = nginx.keys.shopper_token("cart-1").split(".")
    forged = b64url(json.dumps(shopper_claims(sub="cart-2")).encode())
    assert handshake_status(nginx, SHOPPER_PATH, f"{header}.{forged}.{signature}") == 403


def test_alg_none_is_403(nginx):
    header = b64url(json.dumps({"alg": "none", "typ": "JWT", "kid": "shop-1"}).encode())
    payload = b64url(json.dumps(shopper_claims()).encode())
    assert handshake_status(nginx, SHOPPER_PATH, f"{header}.{payload}.") == 403
    assert handshake_status(nginx, SHOPPER_PATH, f"{header}.{payload}") == 403


def test_hs512_with_the_right_secret_is_403(nginx):
    token = hs256(nginx, shopper_claims(), algorithm="HS512")
    assert handshake_status(nginx, SHOPPER_PATH, token) == 403


def test_hs256_under_the_eddsa_kid_is_403(nginx):
    # An HMAC keyed with the Ed25519 public key must not verify (alg confusion).
    token = hs256(nginx, shopper_claims(), headers={"kid": "admin-1"})
    assert handshake_status(nginx, SHOPPER_PATH, token) == 403


def test_eddsa_under_the_hs256_kid_is_403(nginx):
    token = eddsa(nginx, shopper_claims(), headers={"kid": "shop-1"})
    assert handshake_status(nginx, SHOPPER_PATH, token) == 403


def test_unknown_kid_is_403(nginx):
    token = hs256(nginx, shopper_claims(), headers={"kid": "shop-2"})
    assert handshake_status(nginx, SHOPPER_PATH, token) == 403


def test_shopper_token_on_admin_socket_is_403(nginx):
    assert handshake_status(nginx, ADMIN_PATH, nginx.keys.shopper_token("cart-1")) == 403


def test_admin_token_on_shopper_socket_is_403(nginx):
    assert handshake_status(nginx, SHOPPER_PATH, nginx.keys.admin_token("ops")) == 403


@pytest.mark.parametrize("role", [None, "", "Admin", "superuser", 1])
def test_missing_or_unknown_role_is_403(nginx, role):
    assert handshake_status(nginx, SHOPPER_PATH, hs256(nginx, shopper_claims(role=role))) == 403
    assert handshake_status(nginx, ADMIN_PATH, eddsa(nginx, admin_claims(role=role))) == 403


def test_missing_exp_is_403(nginx):
    assert handshake_status(nginx, SHOPPER_PATH, hs256(nginx, shopper_claims(exp=None))) == 403


def test_token_expired_within_leeway_is_accepted(nginx):
    token = hs256(nginx, shopper_claims(exp=int(time.time()) - 5))
    assert handshake_status(nginx, SHOPPER_PATH, token) == 101


def test_token_expired_past_leeway_is_403(nginx):
    token = hs256(nginx, shopper_claims(exp=int(time.time()) - 60))
    assert handshake_status(nginx, SHOPPER_PATH, token) == 403


def test_token_not_yet_valid_within_leeway_is_accepted(nginx):
    token = hs256(nginx, shopper_claims(nbf=int(time.time()) + 5))
    assert handshake_status(nginx, SHOPPER_PATH, token) == 101


def test_token_not_yet_valid_past_leeway_is_403(nginx):
    token = hs256(nginx, shopper_claims(nbf=int(time.time()) + 60))
    assert handshake_status(nginx, SHOPPER_PATH, token) == 403


def test_iat_in_the_past_is_accepted(nginx):
    token = hs256(nginx, shopper_claims(iat=int(time.time()) - 10))
    assert handshake_status(nginx, SHOPPER_PATH, token) == 101


def test_shorter_leeway_is_configurable(nginx_factory):
    server = nginx_factory(overrides={"presence_jwt_leeway": "2s"})
    token = hs256(server, shopper_claims(exp=int(time.time()) - 10))
    assert handshake_status(server, SHOPPER_PATH, token) == 403


@pytest.mark.parametrize("sub", ["a", "A.b_c-d:9", "x" * 128])
def test_subject_within_bounds_is_accepted(nginx, sub):
    assert handshake_status(nginx, SHOPPER_PATH, hs256(nginx, shopper_claims(sub=sub))) == 101


@pytest.mark.parametrize("sub", [None, "", "x" * 129, "a/b", "a b", "caf\u00e9", "a\"b", 42])
def test_subject_out_of_bounds_is_403(nginx, sub):
    assert handshake_status(nginx, SHOPPER_PATH, hs256(nginx, shopper_claims(sub=sub))) == 403


def test_second_configured_key_verifies_by_kid(nginx_factory):
    # Rotation: a second HS256 key next to the first; each kid picks its key.
    server = nginx_factory(start=False)
    second = server.prefix / ".run" / "keys" / "shopper-next.key"
    second.write_bytes(b"n" * 32 + server.keys.hs256_secret)
    conf = server.conf.read_text()
    first_line = "presence_jwt_key .run/keys/shopper-hs256.key alg=hs256 kid=shop-1 roles=shopper;"
    assert first_line in conf
    server.conf.write_text(
        conf.replace(first_line, first_line + "\n    presence_jwt_key .run/keys/shopper-next.key alg=hs256 kid=shop-2 roles=shopper;")
    )
    server.start()
    claims = shopper_claims()
    assert handshake_status(server, SHOPPER_PATH, hs256(server, claims, headers={"kid": "shop-2"}, key=second.read_bytes())) == 101
    assert handshake_status(server, SHOPPER_PATH, hs256(server, claims, headers={"kid": "shop-1"})) == 101
    # Each kid verifies only with its own key.
    assert handshake_status(server, SHOPPER_PATH, hs256(server, claims, headers={"kid": "shop-2"})) == 403


def jose_token(node_env, alg, key_path, kid, claims):
    result = subprocess.run(
        ["node", str(JS / "mint_jose.mjs"), alg, str(key_path), kid, json.dumps(claims)],
        capture_output=True,
        text=True,
        timeout=30,
        env=node_env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_hs256_token_from_npm_jose_is_accepted(nginx, node_env):
    token = jose_token(node_env, "HS256", nginx.keys.hs256_path, "shop-1", shopper_claims())
    assert handshake_status(nginx, SHOPPER_PATH, token) == 101


def test_eddsa_token_from_npm_jose_is_accepted(nginx, node_env):
    token = jose_token(node_env, "EdDSA", nginx.keys.ed25519_path, "admin-1", admin_claims())
    assert handshake_status(nginx, ADMIN_PATH, token) == 101


def test_claims_other_libraries_add_are_ignored(nginx):
    # Issuers commonly add iss, jti and their own claims (RFC 7519 4: claims
    # not understood are ignored).
    claims = shopper_claims(iss="store.example", jti="4f1c", iat=int(time.time()), email="a@example.com")
    assert handshake_status(nginx, SHOPPER_PATH, hs256(nginx, claims)) == 101


def test_fractional_exp_is_accepted(nginx):
    # NumericDate may be non-integer (RFC 7519 2).
    assert handshake_status(nginx, SHOPPER_PATH, hs256(nginx, shopper_claims(exp=time.time() + 300.5))) == 101


def test_exp_of_wrong_type_is_403(nginx):
    token = hs256(nginx, shopper_claims(exp=str(int(time.time()) + 300)))
    assert handshake_status(nginx, SHOPPER_PATH, token) == 403


def test_unknown_crit_header_is_403(nginx):
    # RFC 7515 4.1.11: a critical extension the server does not know refuses the token.
    token = hs256(nginx, shopper_claims(), headers={"kid": "shop-1", "crit": ["x-bound"], "x-bound": 1})
    assert handshake_status(nginx, SHOPPER_PATH, token) == 403


def demo_token(server, cookie=None):
    """GET /demo/token as a browser would: (body, the Set-Cookie value or None)."""
    cookie_line = f"Cookie: presence_cart={cookie}\r\n" if cookie is not None else ""
    raw = f"GET /demo/token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{cookie_line}\r\n"
    response = http_exchange(server.port, raw.encode())
    assert response.status == 200, response
    return json.loads(response.body), response.headers.get("set-cookie")


def cookie_value(set_cookie):
    first = set_cookie.split(";")[0]
    assert first.startswith("presence_cart="), set_cookie
    return first[len("presence_cart="):]


def test_demo_makes_the_cart_id_and_seals_it_in_the_cookie(nginx):
    body, set_cookie = demo_token(nginx)
    assert set_cookie is not None
    attributes = [a.strip() for a in set_cookie.split(";")]
    assert {"Path=/", "HttpOnly", "SameSite=Lax"} <= set(attributes), set_cookie
    assert "Secure" not in attributes  # plain http here; see test_tls.py
    cookie = cookie_value(set_cookie)
    cart_id = body["cart_id"]
    assert cookie.startswith(cart_id + ".") and len(cookie) > len(cart_id) + 40, cookie
    # Signed with the demo's own key, never the store's shopper key.
    assert jwt.get_unverified_header(body["token"])["kid"] == "demo-1"
    claims = jwt.decode(body["token"], nginx.keys.demo_secret, algorithms=["HS256"])
    assert claims["sub"] == cart_id and claims["role"] == "shopper"
    assert handshake_status(nginx, SHOPPER_PATH, body["token"]) == 101
    assert handshake_status(nginx, ADMIN_PATH, body["token"]) == 403
    # The cookie brings the same cart back, without a new cookie.
    again, set_again = demo_token(nginx, cookie)
    assert again["cart_id"] == cart_id and set_again is None


@pytest.mark.parametrize("forge", [
    lambda cookie: "cart-victim",
    lambda cookie: "cart-victim" + cookie[cookie.index("."):],
    lambda cookie: cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"),
    lambda cookie: cookie.split(".")[0],
])
def test_demo_ignores_a_cart_cookie_it_did_not_seal(nginx, forge):
    _, set_cookie = demo_token(nginx)
    forged = forge(cookie_value(set_cookie))
    body, fresh = demo_token(nginx, forged)
    assert body["cart_id"] not in ("cart-victim", forged.split(".")[0]), body
    assert fresh is not None and cookie_value(fresh).startswith(body["cart_id"] + ".")
    assert jwt.decode(body["token"], nginx.keys.demo_secret, algorithms=["HS256"])["sub"] == body["cart_id"]
