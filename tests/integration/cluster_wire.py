"""The cluster's sealed envelope read and written in Python, so that tests
can forge what an attacker holding (or not holding) the secret could send:
magic "PC", version, kind, sender (u8-length name, u64 generation), seq,
sent_ms, target (u8-length name), u32 payload length, payload, then
crypto_auth (HMAC-SHA-512-256) over all of it with a key that is the
secret file's trimmed contents hashed by keyed BLAKE2b-256."""

import hashlib
import hmac
import struct
from dataclasses import dataclass, replace

KEY_CONTEXT = b"nginx-presence cluster mac key v1"
MAC_BYTES = 32
KINDS = {"heartbeat": 1, "delta": 2, "transfer_req": 3, "transfer_ack": 4, "pointer": 5, "permdown": 6}


def derive_key(secret_file_contents: bytes) -> bytes:
    return hashlib.blake2b(secret_file_contents.strip(), digest_size=32, key=KEY_CONTEXT).digest()


def mac(key: bytes, signed: bytes) -> bytes:
    return hmac.new(key, signed, hashlib.sha512).digest()[:MAC_BYTES]


@dataclass(frozen=True)
class Envelope:
    kind: int
    node: bytes
    generation: int
    seq: int
    sent_ms: int
    target: bytes
    payload: bytes
    version: int = 1

    def with_(self, **changes):
        return replace(self, **changes)


def parse(sealed: bytes) -> Envelope:
    """The envelope of a sealed message (the MAC is not checked)."""
    assert sealed[:2] == b"PC", sealed[:8]
    version, kind, name_len = sealed[2], sealed[3], sealed[4]
    at = 5
    node = sealed[at:at + name_len]
    at += name_len
    generation, seq, sent_ms = struct.unpack_from("<QQQ", sealed, at)
    at += 24
    target_len = sealed[at]
    at += 1
    target = sealed[at:at + target_len]
    at += target_len
    (payload_len,) = struct.unpack_from("<I", sealed, at)
    at += 4
    payload = sealed[at:at + payload_len]
    assert len(sealed) == at + payload_len + MAC_BYTES, "not one whole sealed message"
    return Envelope(kind, node, generation, seq, sent_ms, target, payload, version)


def seal(envelope: Envelope, key: bytes) -> bytes:
    e = envelope
    signed = (
        b"PC" + bytes([e.version, e.kind, len(e.node)]) + e.node
        + struct.pack("<QQQ", e.generation, e.seq, e.sent_ms)
        + bytes([len(e.target)]) + e.target
        + struct.pack("<I", len(e.payload)) + e.payload
    )
    return signed + mac(key, signed)


def verify(sealed: bytes, key: bytes) -> bool:
    return hmac.compare_digest(sealed[-MAC_BYTES:], mac(key, sealed[:-MAC_BYTES]))
