"""A raw RFC 6455 client over a plain socket, for tests that must put exact
bytes on the wire: unmasked frames, RSV bits, odd opcodes, split messages,
bytes glued to the handshake. Every read has a deadline; nothing blocks."""

import base64
import hashlib
import os
import socket
import struct
import time
from dataclasses import dataclass, field

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

CLOSE_NORMAL = 1000
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_INVALID_PAYLOAD = 1007
CLOSE_MESSAGE_TOO_BIG = 1009

DEFAULT_TIMEOUT = 5.0


class PeerClosed(Exception):
    """The server closed the TCP connection."""


def new_key():
    return base64.b64encode(os.urandom(16)).decode()


def accept_for(key):
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def upgrade_request(path, host="127.0.0.1", key=None, method="GET", version="HTTP/1.1",
                    headers=None, omit=()):
    """The bytes of a handshake request; `headers` overrides or adds fields,
    `omit` drops the named default fields."""
    fields = {
        "Host": host,
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": key or new_key(),
        "Sec-WebSocket-Version": "13",
    }
    fields.update(headers or {})
    lines = [f"{method} {path} {version}"]
    lines += [f"{name}: {value}" for name, value in fields.items() if name not in omit]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass
class HttpResponse:
    status: int
    headers: dict = field(default_factory=dict)  # lower-cased names
    body: bytes = b""
    rest: bytes = b""  # bytes after the header block of a 101


def read_response_head(sock, timeout=DEFAULT_TIMEOUT):
    """Reads one HTTP response head; returns (status, headers, bytes after)."""
    deadline = time.monotonic() + timeout
    data = b""
    while b"\r\n\r\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no complete response head within {timeout}s: {data!r}")
        sock.settimeout(remaining)
        chunk = sock.recv(65536)
        if not chunk:
            raise PeerClosed(f"connection closed before a response head: {data!r}")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, rest


def http_exchange(port, raw, timeout=DEFAULT_TIMEOUT):
    """Sends raw request bytes and reads the answer; the body is read by
    Content-Length (refusals are small), or up to the server closing."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        status, headers, rest = read_response_head(sock, timeout)
        if status == 101:
            return HttpResponse(status, headers, b"", rest)
        body = rest
        length = int(headers.get("content-length", "-1"))
        deadline = time.monotonic() + timeout
        while length < 0 or len(body) < length:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            body += chunk
        return HttpResponse(status, headers, body)


@dataclass
class Frame:
    fin: bool
    rsv: int
    opcode: int
    payload: bytes

    @property
    def close_code(self):
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else None


def encode_frame(opcode, payload=b"", fin=True, mask=True, rsv=0, length_override=None):
    """A client frame; `mask=False` and `rsv` produce deliberately bad ones."""
    if isinstance(payload, str):
        payload = payload.encode()
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    length = len(payload) if length_override is None else length_override
    mask_bit = 0x80 if mask else 0
    if length < 126:
        head = struct.pack("!BB", first, mask_bit | length)
    elif length < 65536:
        head = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, length)
    if not mask:
        return head + payload
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + masked


def close_payload(code, reason=b""):
    return struct.pack("!H", code) + reason


class WsConnection:
    """An upgraded connection: frames out, frames in, each read bounded."""

    def __init__(self, sock, buffered=b"", response_headers=None):
        self.sock = sock
        self.buffer = buffered
        self.bytes_received = len(buffered)
        self.response_headers = response_headers or {}

    @classmethod
    def open(cls, port, path, timeout=DEFAULT_TIMEOUT, after_request=b"", rcvbuf=None, **request_args):
        """Performs the handshake; `after_request` goes out in the same write
        as the request; `rcvbuf` shrinks the receive buffer to make a slow
        reader. Raises AssertionError unless the answer is a correct 101."""
        key = request_args.pop("key", None) or new_key()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if rcvbuf:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            sock.settimeout(timeout)
            sock.connect(("127.0.0.1", port))
            sock.sendall(upgrade_request(path, key=key, **request_args) + after_request)
            status, headers, rest = read_response_head(sock, timeout)
        except BaseException:
            sock.close()
            raise
        if status != 101:
            sock.close()
            raise AssertionError(f"handshake answered {status}, expected 101 ({headers})")
        assert headers.get("sec-websocket-accept") == accept_for(key), headers
        return cls(sock, rest, headers)

    def send_raw(self, data):
        self.sock.sendall(data)

    def send_frame(self, opcode, payload=b"", **frame_args):
        self.sock.sendall(encode_frame(opcode, payload, **frame_args))

    def send_text(self, text):
        self.send_frame(OP_TEXT, text)

    def _fill(self, count, deadline):
        while len(self.buffer) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError as err:
                raise PeerClosed("connection reset") from err
            if not chunk:
                raise PeerClosed("connection closed")
            self.bytes_received += len(chunk)
            self.buffer += chunk

    def _take(self, count, deadline):
        self._fill(count, deadline)
        out, self.buffer = self.buffer[:count], self.buffer[count:]
        return out

    def recv_frame(self, timeout=DEFAULT_TIMEOUT):
        """The next whole frame, or None when none completes in time. A
        partly received frame stays buffered for the next call."""
        deadline = time.monotonic() + timeout
        try:
            self._fill(2, deadline)
            first, second = self.buffer[0], self.buffer[1]
            length = second & 0x7F
            header = 2
            if length == 126:
                self._fill(4, deadline)
                length = struct.unpack("!H", self.buffer[2:4])[0]
                header = 4
            elif length == 127:
                self._fill(10, deadline)
                length = struct.unpack("!Q", self.buffer[2:10])[0]
                header = 10
            assert not second & 0x80, "the server masked a frame (RFC 6455 5.1 forbids it)"
            self._fill(header + length, deadline)
        except TimeoutError:
            return None
        frame = self._take(header + length, deadline)
        return Frame(bool(first & 0x80), (first >> 4) & 0x7, first & 0x0F, frame[header:])

    def expect_close(self, timeout=DEFAULT_TIMEOUT):
        """Reads until the server's close frame and returns its code (None
        for an empty close payload); data frames before it are skipped. The
        server must send a close frame, not just drop the connection."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            remaining = deadline - time.monotonic()
            try:
                frame = self.recv_frame(max(remaining, 0))
            except PeerClosed as err:
                raise AssertionError(f"connection ended without a close frame; saw {seen}") from err
            if frame is None:
                raise AssertionError(f"no close frame within {timeout}s; saw {seen}")
            if frame.opcode == OP_CLOSE:
                return frame.close_code
            seen.append(frame)

    def wait_eof(self, timeout=DEFAULT_TIMEOUT):
        """True once the server has closed the TCP connection."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.recv_frame(deadline - time.monotonic()) is None:
                    return False
            except PeerClosed:
                return True
        return False

    def close(self):
        self.sock.close()

    def reset(self):
        """Closes with a TCP RST instead of a FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()
