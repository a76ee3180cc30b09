#!/usr/bin/python3
"""Known-answer tokens minted by python3-jwt (PyJWT) with the test keys here.

Run once; the output, vectors.json, is committed so the C++ unit tests prove
that tokens from a standard library verify (or are refused) as docs/PROTOCOL.md
says, without needing Python at test time. Every vector is checked at NOW.
"""
import json
import pathlib

import jwt
from cryptography.hazmat.primitives import serialization

HERE = pathlib.Path(__file__).parent
NOW = 1764277500
HS = (HERE / "hs256.key").read_bytes().rstrip(b"\n")
HS_NEXT = (HERE / "hs256_next.key").read_bytes().rstrip(b"\n")
ED = serialization.load_pem_private_key((HERE / "ed25519_private.pem").read_bytes(), None)
ED_NEXT = serialization.load_pem_private_key((HERE / "ed25519_next_private.pem").read_bytes(), None)


def claims(**extra):
    base = {"sub": "cart-01H9Z", "role": "shopper", "exp": NOW + 300}
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def vector(name, token, expect, role="shopper"):
    return {"name": name, "token": token, "now": NOW, "role": role, "expect": expect}


vectors = [
    vector("hs256_plain", jwt.encode(claims(), HS, algorithm="HS256"), "none"),
    vector("hs256_kid_next", jwt.encode(claims(), HS_NEXT, algorithm="HS256",
                                        headers={"kid": "hs-next"}), "none"),
    vector("hs256_all_times", jwt.encode(claims(nbf=NOW - 10, iat=NOW - 10, jti="abc",
                                                iss="store"), HS, algorithm="HS256"), "none"),
    vector("hs256_admin", jwt.encode(claims(sub="alice", role="admin"), HS, algorithm="HS256"),
           "none", role="admin"),
    vector("hs256_float_exp", jwt.encode(claims(exp=NOW + 1.5), HS, algorithm="HS256"), "none"),
    # python3-jwt accepts until NOW + 0.5; we round exp down to whole seconds.
    vector("hs256_float_exp_rounded", jwt.encode(claims(exp=NOW + 0.5), HS, algorithm="HS256"),
           "expired"),
    vector("hs256_expired", jwt.encode(claims(exp=NOW - 1), HS, algorithm="HS256"), "expired"),
    vector("hs256_not_yet", jwt.encode(claims(nbf=NOW + 60), HS, algorithm="HS256"),
           "not_yet_valid"),
    vector("hs256_wrong_key", jwt.encode(claims(), b"another-secret-of-sufficient-length-32",
                                         algorithm="HS256"), "bad_signature"),
    vector("hs256_wrong_role", jwt.encode(claims(), HS, algorithm="HS256"), "wrong_role",
           role="admin"),
    vector("hs256_no_exp", jwt.encode(claims(exp=None), HS, algorithm="HS256"), "bad_claims"),
    vector("hs256_aud", jwt.encode(claims(aud="elsewhere"), HS, algorithm="HS256"), "wrong_audience"),
    vector("hs512", jwt.encode(claims(), HS, algorithm="HS512"), "unsupported_alg"),
    vector("alg_none", jwt.encode(claims(), None, algorithm="none"), "malformed"),
    vector("eddsa_plain", jwt.encode(claims(), ED, algorithm="EdDSA"), "none"),
    vector("eddsa_kid_next", jwt.encode(claims(), ED_NEXT, algorithm="EdDSA",
                                        headers={"kid": "ed-next"}), "none"),
    vector("eddsa_unknown_kid", jwt.encode(claims(), ED, algorithm="EdDSA",
                                           headers={"kid": "retired"}), "unknown_kid"),
]

(HERE / "vectors.json").write_text(json.dumps(vectors, indent=1) + "\n")
