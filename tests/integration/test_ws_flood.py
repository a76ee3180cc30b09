"""Floods from a client that sends and never reads: pings, close frames, and
messages each answered by an error reply. Every byte the server queues for a
socket counts against its bound (presence_send_buffer): past it the server
stops reading that socket (back-pressure, as nginx's own proxying does) and
resumes once the client reads, so the worker's memory stays bounded and no
answer is lost; a client that reads nothing for its idle timeout is closed
with 1008."""

import json
import socket
import threading
import time
import urllib.request

import pytest

from helpers import PhoenixClient
from test_ws_backpressure import SLOW_READER_RCVBUF, private_bytes
from wsclient import OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, close_payload, encode_frame

SEND_BUFFER = 64 * 1024
FLOOD_SECONDS = 8
# The worker may grow by its queue's bound, kernel-side buffers aside, and
# the allocator's slack; an unbounded queue grows by hundreds of MB here.
GROWTH_LIMIT = 16 * 1024 * 1024
# The client's own send buffer: small, so that it blocks soon after nginx
# stops reading, and what it sent can be answered in a few seconds.
CLIENT_SNDBUF = 16 * 1024


def flood_server(nginx_factory, idle_timeout="60s"):
    """nginx whose sockets have small kernel buffers both ways (listen ...
    sndbuf= rcvbuf= stop their autotuning), so what a client neither reads
    nor lets nginx read piles up where the test can see it."""
    server = nginx_factory(
        overrides={
            "presence_max_message": "4k",
            "presence_send_buffer": f"{SEND_BUFFER // 1024}k",
            "presence_idle_timeout": idle_timeout,
        },
        start=False,
    )
    listen = f"listen 127.0.0.1:{server.port};"
    conf = server.conf.read_text()
    assert listen in conf
    server.conf.write_text(conf.replace(listen, f"listen 127.0.0.1:{server.port} sndbuf=16k rcvbuf=16k;"))
    server.start()
    return server


def non_reader(server):
    client = PhoenixClient.connect(server, server.keys.shopper_token("flood"), rcvbuf=SLOW_READER_RCVBUF)
    client.ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CLIENT_SNDBUF)
    return client


def flood(client, batch, seconds=FLOOD_SECONDS):
    """Sends `batch` over and over without reading, for up to `seconds`.
    Returns (outcome, batches begun, the unsent rest of the last one):
    outcome is "blocked" when the server stopped reading, "closed" when it
    closed, "still reading" otherwise."""
    sock = client.ws.sock
    sock.settimeout(2.0)
    view = memoryview(batch)
    begun, offset = 0, 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if offset == 0:
                begun += 1
            offset += sock.send(view[offset:])
        except socket.timeout:
            return "blocked", begun, bytes(view[offset:])
        except (BrokenPipeError, ConnectionResetError):
            return "closed", begun, b""
        offset %= len(batch)
    return "still reading", begun, bytes(view[offset:]) if offset else b""


def answers_after_reading(client, rest):
    """Starts reading: sends the rest of the flood's last batch and a
    heartbeat (from a thread, as nginx reads again only once the client
    reads), and returns every frame up to the heartbeat's reply."""
    ref = "after-the-flood"
    heartbeat = encode_frame(OP_TEXT, json.dumps([None, ref, "phoenix", "heartbeat", {}]))
    client.ws.sock.settimeout(30)
    sender = threading.Thread(target=client.ws.sock.sendall, args=(rest + heartbeat,), daemon=True)
    sender.start()
    frames = read_until(client, lambda f: f.opcode == OP_TEXT and json.loads(f.payload)[1] == ref)
    sender.join(10)
    return frames


def growth_during(server, run):
    [worker] = server.worker_pids()
    before = private_bytes(worker)
    result = run()
    return result, private_bytes(worker) - before


def read_until(client, predicate, timeout=30):
    """Reads frames until predicate(frame) holds; returns the frames read."""
    frames = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = client.ws.recv_frame(deadline - time.monotonic())
        assert frame is not None, f"the socket ended after {len(frames)} frames"
        frames.append(frame)
        if predicate(frame):
            return frames
    raise AssertionError(f"not seen in {timeout} s ({len(frames)} frames read)")


PINGS_PER_BATCH = 500


def test_ping_flood_is_held_to_the_readers_pace(nginx_factory):
    server = flood_server(nginx_factory)
    client = non_reader(server)
    pings = b"".join(encode_frame(OP_PING, b"p" * 125) for _ in range(PINGS_PER_BATCH))
    (outcome, batches, rest), growth = growth_during(server, lambda: flood(client, pings))
    assert outcome == "blocked", f"{batches} batches of pings: the server {outcome} (grew {growth} bytes)"
    assert growth < GROWTH_LIMIT, f"the worker grew {growth} bytes under {batches} batches of pings"
    # Nothing was dropped: once it reads, every ping it sent is answered, in
    # order, and then the socket serves it as before.
    frames = answers_after_reading(client, rest)
    pongs = sum(1 for f in frames if f.opcode == OP_PONG)
    assert pongs == batches * PINGS_PER_BATCH and len(frames) == pongs + 1


MESSAGES_PER_BATCH = 1000


def test_error_reply_flood_is_held_and_every_message_is_answered(nginx_factory):
    server = flood_server(nginx_factory)
    client = non_reader(server)
    # Not JSON and an unknown event: each answered by an error phx_reply.
    messages = [encode_frame(OP_TEXT, b"not json"), encode_frame(OP_TEXT, b'[null,"1","phoenix","nope",{}]')]
    batch = b"".join(messages * (MESSAGES_PER_BATCH // 2))
    (outcome, batches, rest), growth = growth_during(server, lambda: flood(client, batch))
    assert outcome == "blocked", f"{batches} batches of bad messages: the server {outcome} (grew {growth} bytes)"
    assert growth < GROWTH_LIMIT, f"the worker grew {growth} bytes under {batches} batches of bad messages"
    frames = answers_after_reading(client, rest)
    errors = [json.loads(f.payload) for f in frames[:-1]]
    assert all(m[3] == "phx_reply" and m[4]["status"] == "error" for m in errors)
    assert len(errors) == batches * MESSAGES_PER_BATCH
    assert json.loads(frames[-1].payload)[4]["status"] == "ok"


def test_close_flood_is_answered_once_and_ended(nginx_factory):
    server = flood_server(nginx_factory)
    client = non_reader(server)
    closes = b"".join(encode_frame(OP_CLOSE, close_payload(1000, b"bye")) for _ in range(2000))
    (outcome, batches, _), growth = growth_during(server, lambda: flood(client, closes))
    assert outcome in ("blocked", "closed"), f"{batches} batches of close frames: the server {outcome}"
    assert growth < GROWTH_LIMIT, f"the worker grew {growth} bytes under {batches} batches of close frames"
    # One close frame answers them all, and the server ends the socket.
    frame = client.ws.recv_frame(10)
    assert frame is not None and frame.opcode == OP_CLOSE and frame.close_code == 1000
    assert client.ws.wait_eof(10)


def slow_reader_closes(server):
    text = urllib.request.urlopen(f"{server.metrics_url}/metrics", timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith('presence_closes_total{reason="slow_reader"}'):
            return int(line.split()[-1])
    raise AssertionError("no slow_reader count in /metrics")


def test_a_flooder_that_reads_nothing_is_closed_for_it(nginx_factory):
    server = flood_server(nginx_factory, idle_timeout="2s")
    client = non_reader(server)
    pings = b"".join(encode_frame(OP_PING, b"p" * 125) for _ in range(500))
    outcome, _, _ = flood(client, pings, seconds=4)
    assert outcome == "blocked"
    # It reads nothing: past its idle timeout it is closed (with 1008, which
    # it cannot read behind the answers it left), then the connection ends.
    deadline = time.monotonic() + 15
    while slow_reader_closes(server) == 0:
        assert time.monotonic() < deadline, "the non-reading flooder was never closed"
        time.sleep(0.2)
    assert client.ws.wait_eof(10)
