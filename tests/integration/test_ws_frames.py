"""RFC 6455 framing on a real socket (docs/PROTOCOL.md sections 4 and 11): masking, opcodes,
RSV bits, fragmentation, control frames, the close handshake, UTF-8, the
message size limit and the idle timeout, each with the close code that fits."""

import json
import time

import pytest

from helpers import SHOPPER_PATH, AdminView, PhoenixClient, Shopper, socket_path
from wsclient import (
    CLOSE_INVALID_PAYLOAD,
    CLOSE_MESSAGE_TOO_BIG,
    CLOSE_NORMAL,
    CLOSE_PROTOCOL_ERROR,
    CLOSE_UNSUPPORTED_DATA,
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    PeerClosed,
    WsConnection,
    close_payload,
)

MAX_MESSAGE = 4096  # presence_max_message 4k in the tests that override it


def open_ws(server, sub="cart-1"):
    return WsConnection.open(server.port, socket_path(SHOPPER_PATH, server.keys.shopper_token(sub)))


@pytest.fixture
def ws(nginx):
    conn = open_ws(nginx)
    yield conn
    conn.close()


def heartbeat_text(ref="1", pad=""):
    payload = {"pad": pad} if pad else {}
    return json.dumps([None, ref, "phoenix", "heartbeat", payload], separators=(",", ":"))


def heartbeat_of_size(size, ref="1"):
    """A heartbeat message of exactly `size` bytes."""
    text = heartbeat_text(ref, pad="x")
    text = heartbeat_text(ref, pad="x" * (size - len(text) + 1))
    assert len(text.encode()) == size
    return text


def assert_heartbeat_reply(ws, ref="1"):
    client = PhoenixClient(ws)
    assert client.reply(ref) == ("ok", {})


def test_unmasked_frame_is_closed_with_1002(ws):
    ws.send_frame(OP_TEXT, heartbeat_text(), mask=False)
    assert ws.expect_close() == CLOSE_PROTOCOL_ERROR


@pytest.mark.parametrize("opcode", [0x3, 0x7, 0xB, 0xF])
def test_reserved_opcode_is_closed_with_1002(ws, opcode):
    ws.send_frame(opcode, b"x")
    assert ws.expect_close() == CLOSE_PROTOCOL_ERROR


@pytest.mark.parametrize("rsv", [0b100, 0b010, 0b001])
def test_rsv_bits_without_extension_are_closed_with_1002(ws, rsv):
    ws.send_frame(OP_TEXT, heartbeat_text(), rsv=rsv)
    assert ws.expect_close() == CLOSE_PROTOCOL_ERROR


def test_binary_frame_is_closed_with_1003(ws):
    ws.send_frame(OP_BINARY, heartbeat_text().encode())
    assert ws.expect_close() == CLOSE_UNSUPPORTED_DATA


def test_fragmented_message_is_reassembled(ws):
    text = heartbeat_text("7")
    ws.send_frame(OP_TEXT, text[:5], fin=False)
    ws.send_frame(OP_CONTINUATION, text[5:20], fin=False)
    ws.send_frame(OP_CONTINUATION, text[20:], fin=True)
    assert_heartbeat_reply(ws, "7")


def test_empty_fragments_are_allowed(ws):
    text = heartbeat_text("8")
    ws.send_frame(OP_TEXT, text, fin=False)
    ws.send_frame(OP_CONTINUATION, b"", fin=False)
    ws.send_frame(OP_CONTINUATION, b"", fin=True)
    assert_heartbeat_reply(ws, "8")


def test_utf8_character_split_across_fragments_is_valid(ws):
    data = json.dumps([None, "9", "phoenix", "heartbeat", {"note": "\u00e9t\u00e9 \u2603"}], ensure_ascii=False).encode()
    cut = data.index("\u00e9".encode()) + 1  # inside the two-byte sequence
    ws.send_frame(OP_TEXT, data[:cut], fin=False)
    ws.send_frame(OP_CONTINUATION, data[cut:], fin=True)
    assert_heartbeat_reply(ws, "9")


def test_ping_between_fragments_is_answered_and_message_completes(ws):
    text = heartbeat_text("3")
    ws.send_frame(OP_TEXT, text[:10], fin=False)
    ws.send_frame(OP_PING, b"between")
    ws.send_frame(OP_CONTINUATION, text[10:], fin=True)
    frame = ws.recv_frame()
    assert frame is not None and frame.opcode == OP_PONG and frame.payload == b"between", frame
    assert_heartbeat_reply(ws, "3")


def test_continuation_without_start_is_closed_with_1002(ws):
    ws.send_frame(OP_CONTINUATION, heartbeat_text(), fin=True)
    assert ws.expect_close() == CLOSE_PROTOCOL_ERROR


def test_new_message_inside_fragmented_one_is_closed_with_1002(ws):
    ws.send_frame(OP_TEXT, heartbeat_text()[:10], fin=False)
    ws.send_frame(OP_TEXT, heartbeat_text(), fin=True)
    assert ws.expect_close() == CLOSE_PROTOCOL_ERROR


@pytest.mark.parametrize("payload", [b"", b"hello", bytes(range(125))])
def test_ping_gets_pong_with_same_payload(ws, payload):
    ws.send_frame(OP_PING, payload)
    frame = ws.recv_frame()
    assert frame is not None and frame.fin and frame.opcode == OP_PONG, frame
    assert frame.payload == payload


def test_ping_over_125_bytes_is_closed_with_1002(ws):
    ws.send_frame(OP_PING, bytes(126))
    assert ws.expect_close() == CLOSE_PROTOCOL_ERROR


def test_fragmented_ping_is_closed_with_1002(ws):
    ws.send_frame(OP_PING, b"abc", fin=False)
    assert ws.expect_close() == CLOSE_PROTOCOL_ERROR


def test_unsolicited_pong_is_ignored(ws):
    ws.send_frame(OP_PONG, b"nobody asked")
    ws.send_text(heartbeat_text("4"))
    assert_heartbeat_reply(ws, "4")


def test_close_handshake_is_echoed_then_tcp_closed(ws):
    ws.send_frame(OP_CLOSE, close_payload(CLOSE_NORMAL, b"bye"))
    assert ws.expect_close() == CLOSE_NORMAL
    assert ws.wait_eof()


def test_empty_close_is_answered(ws):
    ws.send_frame(OP_CLOSE, b"")
    code = ws.expect_close()
    assert code in (None, CLOSE_NORMAL), code
    assert ws.wait_eof()


@pytest.mark.parametrize(
    "payload",
    [
        b"\x03",  # one byte: no room for a code
        close_payload(999),
        close_payload(1005),  # reserved: never on the wire
        close_payload(1006),
        close_payload(1015),
        close_payload(5000),
    ],
)
def test_invalid_close_payload_is_closed_with_1002(ws, payload):
    ws.send_frame(OP_CLOSE, payload)
    assert ws.expect_close() == CLOSE_PROTOCOL_ERROR


def test_close_reason_with_invalid_utf8_is_refused(ws):
    ws.send_frame(OP_CLOSE, close_payload(CLOSE_NORMAL, b"\xff\xfe"))
    assert ws.expect_close() in (CLOSE_PROTOCOL_ERROR, CLOSE_INVALID_PAYLOAD)


@pytest.mark.parametrize(
    "bad",
    [
        b"\xff",
        b"\xc0\xaf",  # overlong '/'
        b"\xed\xa0\x80",  # UTF-16 surrogate
        b"\xf4\x90\x80\x80",  # past U+10FFFF
        b"\xe2\x82",  # truncated at the end
    ],
)
def test_invalid_utf8_text_is_closed_with_1007(ws, bad):
    ws.send_frame(OP_TEXT, b'[null,"1","phoenix","heartbeat",{"x":"' + bad + b'"}]')
    assert ws.expect_close() == CLOSE_INVALID_PAYLOAD


def test_invalid_utf8_across_fragments_is_closed_with_1007(ws):
    ws.send_frame(OP_TEXT, b'[null,"1","phoenix","heartbeat",{"x":"\xe2\x82', fin=False)
    ws.send_frame(OP_CONTINUATION, b'("}]', fin=True)
    assert ws.expect_close() == CLOSE_INVALID_PAYLOAD


@pytest.fixture
def small_limit(nginx_factory):
    return nginx_factory(overrides={"presence_max_message": "4k"})


def test_message_at_the_size_limit_is_accepted(small_limit):
    ws = open_ws(small_limit)
    ws.send_text(heartbeat_of_size(MAX_MESSAGE, "5"))
    assert_heartbeat_reply(ws, "5")


def test_message_one_past_the_size_limit_is_closed_with_1009(small_limit):
    ws = open_ws(small_limit)
    ws.send_text(heartbeat_of_size(MAX_MESSAGE + 1))
    assert ws.expect_close() == CLOSE_MESSAGE_TOO_BIG


def test_fragmented_message_at_the_size_limit_is_accepted(small_limit):
    ws = open_ws(small_limit)
    text = heartbeat_of_size(MAX_MESSAGE, "6")
    ws.send_frame(OP_TEXT, text[:3000], fin=False)
    ws.send_frame(OP_CONTINUATION, text[3000:], fin=True)
    assert_heartbeat_reply(ws, "6")


def test_fragmented_message_one_past_the_size_limit_is_closed_with_1009(small_limit):
    ws = open_ws(small_limit)
    text = heartbeat_of_size(MAX_MESSAGE + 1)
    ws.send_frame(OP_TEXT, text[:3000], fin=False)
    ws.send_frame(OP_CONTINUATION, text[3000:], fin=True)
    assert ws.expect_close() == CLOSE_MESSAGE_TOO_BIG


def test_frame_header_announcing_a_huge_payload_is_closed_with_1009(small_limit):
    # The length alone must be enough: the server may not wait for 2^40 bytes.
    ws = open_ws(small_limit)
    ws.send_frame(OP_TEXT, b"[", length_override=1 << 40)
    assert ws.expect_close() == CLOSE_MESSAGE_TOO_BIG


IDLE_TIMEOUT = 2.0


@pytest.fixture
def short_idle(nginx_factory):
    return nginx_factory(overrides={"presence_idle_timeout": "2s"})


def test_silent_socket_is_closed_after_idle_timeout(short_idle):
    ws = open_ws(short_idle)
    opened = time.monotonic()
    closed = False
    try:
        ws.expect_close(timeout=IDLE_TIMEOUT + 5)
        closed = True
    except AssertionError:
        # A bare TCP close also closes the socket; a timeout does not.
        closed = ws.wait_eof(0.1)
    assert closed, "a silent socket outlived the idle timeout by 5 s"
    assert time.monotonic() - opened >= IDLE_TIMEOUT / 2, "closed long before the idle timeout"


def test_heartbeating_socket_outlives_idle_timeout(short_idle):
    ws = open_ws(short_idle)
    client = PhoenixClient(ws)
    until = time.monotonic() + 3 * IDLE_TIMEOUT
    while time.monotonic() < until:
        client.heartbeat()
        try:
            client.pump(IDLE_TIMEOUT / 4)
        except PeerClosed:
            pytest.fail("a socket sending heartbeats was closed")
    client.heartbeat()


def test_joined_silent_shopper_is_closed_and_untracked(short_idle):
    admin = AdminView(short_idle)
    quiet = Shopper(short_idle, "quiet", {"page": "/"})
    admin.wait_for_counts({"quiet": 1})
    admin.wait_for_counts({}, timeout=IDLE_TIMEOUT + 5)
    assert quiet.client.ws.wait_eof(), "the silent shopper's socket is still open"
