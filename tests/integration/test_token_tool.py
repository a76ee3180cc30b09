"""tools/presence-token against python3-jwt (PyJWT): its tokens verify in a
standard library, a standard library's tokens verify with our verifier, and
its keys are what the usual tools read."""

import stat
import subprocess
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from conftest import BUILD

TOOL = BUILD / "tools" / "presence-token"
MAX_TTL = 366 * 24 * 3600  # kMaxTtlSeconds in tools/presence-token.cpp


def run(*args):
    return subprocess.run([str(TOOL), *map(str, args)], capture_output=True, text=True,
                          timeout=10)


def mint(key, alg, *extra, sub="cart-7", role="shopper"):
    done = run("--key", key, "--alg", alg, "--sub", sub, "--role", role, *extra)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout.strip()


def hs_secret(path):
    """The secret as any JWT library reads a key file: its text less one newline."""
    return path.read_bytes().removesuffix(b"\n")


@pytest.fixture
def hs_key(tmp_path):
    path = tmp_path / "hs256.key"
    done = run("genkey", "--alg", "hs256", "--out", path)
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture
def ed_keys(tmp_path):
    private, public = tmp_path / "ed.pem", tmp_path / "ed.pub.pem"
    done = run("genkey", "--alg", "eddsa", "--out", private, "--pub", public)
    assert done.returncode == 0, done.stderr
    return private, public


def test_genkey_hs256_writes_a_private_256_bit_secret(hs_key):
    assert stat.S_IMODE(hs_key.stat().st_mode) == 0o600
    text = hs_key.read_text()
    assert text.endswith("\n") and len(text) == 44  # 32 bytes as unpadded base64url
    assert jwt.utils.base64url_decode(text.strip()) != bytes(32)


def test_genkey_eddsa_writes_pem_that_cryptography_reads(ed_keys):
    private, public = ed_keys
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    key = serialization.load_pem_private_key(private.read_bytes(), None)
    pub = serialization.load_pem_public_key(public.read_bytes())
    assert key.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw) == \
        pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_genkey_never_overwrites_a_key(hs_key, ed_keys):
    before = hs_key.read_bytes()
    done = run("genkey", "--alg", "hs256", "--out", hs_key)
    assert done.returncode == 2 and "File exists" in done.stderr
    assert hs_key.read_bytes() == before
    private, public = ed_keys
    fresh = public.parent / "fresh.pem"
    done = run("genkey", "--alg", "eddsa", "--out", fresh, "--pub", public)
    assert done.returncode == 2 and not fresh.exists()


def test_hs256_tokens_verify_in_pyjwt(hs_key):
    before = int(time.time())
    token = mint(hs_key, "hs256", "--ttl", 120, "--iat", "--kid", "k2026")
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT", "kid": "k2026"}
    claims = jwt.decode(token, hs_secret(hs_key), algorithms=["HS256"])
    assert claims["sub"] == "cart-7" and claims["role"] == "shopper"
    assert before + 120 <= claims["exp"] <= int(time.time()) + 120
    assert before <= claims["iat"] <= claims["exp"] - 120
    assert "nbf" not in claims


def test_eddsa_tokens_verify_in_pyjwt(ed_keys):
    private, public = ed_keys
    token = mint(private, "eddsa", "--nbf", -30, sub="alice", role="admin")
    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "typ": "JWT"}
    claims = jwt.decode(token, public.read_bytes(), algorithms=["EdDSA"])
    assert claims["sub"] == "alice" and claims["role"] == "admin"
    assert claims["exp"] - claims["nbf"] == 300 + 30


def test_pyjwt_tokens_verify_with_the_tool(hs_key, ed_keys):
    private, public = ed_keys
    now = int(time.time())
    claims = {"sub": "cart-9", "role": "shopper", "exp": now + 60, "iat": now, "jti": "x"}
    hs = jwt.encode(claims, hs_secret(hs_key), algorithm="HS256")
    signing_key = serialization.load_pem_private_key(private.read_bytes(), None)
    ed = jwt.encode(claims, signing_key, algorithm="EdDSA", headers={"kid": "ed1"})
    done = run("verify", "--key", public, "--alg", "eddsa", "--role", "shopper", ed)
    assert done.returncode == 1 and "unknown_kid" in done.stderr  # a kid must name the key
    for key, alg, kid, token in ((hs_key, "hs256", [], hs), (public, "eddsa", ["--kid", "ed1"], ed)):
        done = run("verify", "--key", key, "--alg", alg, *kid, "--role", "shopper", token)
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"ok sub=cart-9 role=shopper exp={now + 60}\n"


def test_keys_made_by_python_cryptography_work(tmp_path):
    key = Ed25519PrivateKey.generate()
    private = tmp_path / "py.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    token = mint(private, "eddsa")
    assert jwt.decode(token, key.public_key(), algorithms=["EdDSA"])["sub"] == "cart-7"


@pytest.mark.parametrize("claims, role, reason", [
    ({"exp": -60}, "shopper", "expired"),
    ({"exp": 60, "nbf": 30}, "shopper", "not_yet_valid"),
    ({"exp": 60}, "admin", "wrong_role"),
    ({"exp": 60, "sub": "cart 9"}, "shopper", "bad_claims"),
])
def test_the_tool_refuses_bad_pyjwt_tokens(hs_key, claims, role, reason):
    now = int(time.time())
    payload = {"sub": "cart-9", "role": "shopper"}
    payload.update({k: now + v if k in ("exp", "nbf") else v for k, v in claims.items()})
    token = jwt.encode(payload, hs_secret(hs_key), algorithm="HS256")
    done = run("verify", "--key", hs_key, "--alg", "hs256", "--role", role, token)
    assert done.returncode == 1
    assert done.stderr.startswith(f"refused: {reason}: ")


def test_the_tool_refuses_alg_none_and_a_foreign_key(hs_key, tmp_path):
    unsigned = jwt.encode({"sub": "c", "role": "shopper", "exp": int(time.time()) + 60}, None,
                          algorithm="none")
    done = run("verify", "--key", hs_key, "--alg", "hs256", "--role", "shopper", unsigned + "AA")
    assert done.returncode == 1 and "unsupported_alg" in done.stderr
    other = tmp_path / "other.key"
    other.write_text("another-secret-that-is-long-enough-for-hs256\n")
    done = run("verify", "--key", other, "--alg", "hs256", "--role", "shopper", mint(hs_key, "hs256"))
    assert done.returncode == 1 and "bad_signature" in done.stderr


def test_ttl_is_bounded(hs_key):
    token = mint(hs_key, "hs256", "--ttl", MAX_TTL)
    assert jwt.decode(token, hs_secret(hs_key), algorithms=["HS256"])["exp"] <= \
        int(time.time()) + MAX_TTL
    for ttl in (MAX_TTL + 1, 0, -5, "5m"):
        done = run("--key", hs_key, "--alg", "hs256", "--sub", "a", "--role", "admin", "--ttl", ttl)
        assert done.returncode == 2 and "--ttl must be" in done.stderr and done.stdout == ""


@pytest.mark.parametrize("args, message", [
    (["--alg", "hs512"], "--alg must be hs256 or eddsa"),
    (["--alg", "hs256", "--sub", "cart/1"], "--sub must be"),
    (["--alg", "hs256", "--sub", "a" * 129], "--sub must be"),
    (["--alg", "hs256", "--role", "root"], "--role must be shopper or admin"),
    (["--alg", "hs256", "--color"], "unknown option --color"),
    (["--alg", "hs256", "--nbf", "400"], "--nbf must be"),
])
def test_bad_usage_exits_2_with_a_reason(hs_key, args, message):
    base = {"--key": str(hs_key), "--sub": "cart-1", "--role": "shopper"}
    for name in args[::2]:
        base.pop(name, None)
    flat = [x for pair in base.items() for x in pair] + args
    done = run(*flat)
    assert done.returncode == 2 and message in done.stderr and done.stdout == ""


def test_key_problems_exit_2_with_a_reason(tmp_path, ed_keys):
    private, public = ed_keys
    done = run("--key", tmp_path / "missing.key", "--alg", "hs256", "--sub", "a", "--role", "admin")
    assert done.returncode == 2
    assert f"cannot open {tmp_path / 'missing.key'}: No such file or directory" in done.stderr
    short = tmp_path / "short.key"
    short.write_text("x" * 31 + "\n")
    done = run("--key", short, "--alg", "hs256", "--sub", "a", "--role", "admin")
    assert done.returncode == 2 and "HS256 secret shorter than 32 bytes" in done.stderr
    done = run("--key", public, "--alg", "eddsa", "--sub", "a", "--role", "admin")
    assert done.returncode == 2 and "only a public key" in done.stderr
    done = run("--key", public, "--alg", "hs256", "--sub", "a", "--role", "admin")
    assert done.returncode == 2 and "PEM" in done.stderr


def test_verify_applies_the_roles_the_key_is_configured_for(hs_key):
    admin = mint(hs_key, "hs256", sub="mallory", role="admin")
    done = run("verify", "--key", hs_key, "--alg", "hs256", "--role", "admin", "--roles", "shopper", admin)
    assert done.returncode == 1
    assert done.stderr.startswith("refused: key_not_for_role: "), done.stderr
    done = run("verify", "--key", hs_key, "--alg", "hs256", "--role", "admin", "--roles", "admin", admin)
    assert done.returncode == 0, done.stderr
    done = run("verify", "--key", hs_key, "--alg", "hs256", "--role", "admin", "--roles", "root", admin)
    assert done.returncode == 2 and "--roles must be shopper, admin or shopper,admin" in done.stderr
