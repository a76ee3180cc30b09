"""The cluster harness's own parts against the real redis-server: the
fixture's persistence is off, passwords and ACL users are enforced, and the
pausable proxy holds, releases and cuts traffic."""

import socket
import time

import pytest

from cluster import RespClient, RespError


def test_redis_runs_on_loopback_with_persistence_off(cluster):
    redis = cluster.start_redis()
    client = redis.client()
    assert client.command("PING") == "PONG"
    assert client.command("CONFIG", "GET", "save") == [b"save", b""]
    assert client.command("CONFIG", "GET", "appendonly") == [b"appendonly", b"no"]
    assert client.command("CONFIG", "GET", "bind")[1] == b"127.0.0.1"
    client.close()
    redis.kill()
    with pytest.raises(OSError):
        RespClient(redis.port, timeout=1)
    redis.start()
    assert redis.client().command("PING") == "PONG"


def test_requirepass_and_acl_user_are_enforced(cluster):
    with_password = cluster.another(redis_password="s3cret-pass").start_redis()
    with pytest.raises(RespError, match="NOAUTH"):
        RespClient(with_password.port).command("PING")
    assert with_password.client().command("PING") == "PONG"
    with pytest.raises(RespError):
        RespClient(with_password.port, password="wrong")

    with_user = cluster.another(acl_user=("presence", "user-pass")).start_redis()
    client = with_user.client()
    assert client.command("PUBLISH", "presence-test:all", "x") == 0
    with pytest.raises(RespError, match="NOPERM"):
        client.command("PUBLISH", "other:all", "x")
    with pytest.raises(RespError):
        RespClient(with_user.port, password="user-pass")  # the default user is off


def test_proxy_pauses_resumes_and_cuts(cluster):
    redis = cluster.start_redis()
    proxy = cluster.proxy()
    client = RespClient(proxy.port, timeout=5)
    assert client.command("PING") == "PONG"
    proxy.pause()
    time.sleep(0.3)  # let the proxy's loop stop reading
    client.send("PING")
    with pytest.raises((TimeoutError, socket.timeout)):
        client.read(timeout=0.5)
    # A connection made while paused waits too.
    late = RespClient(proxy.port, timeout=5)
    late.send("PING")
    with pytest.raises((TimeoutError, socket.timeout)):
        late.read(timeout=0.3)
    proxy.resume()
    assert client.read(timeout=5) == "PONG"
    assert late.read(timeout=5) == "PONG"
    proxy.cut()
    with pytest.raises((ConnectionError, OSError)):
        client.command("PING", timeout=2)
    proxy.refuse(True)
    with pytest.raises((ConnectionError, OSError)):
        RespClient(proxy.port, timeout=2).command("PING", timeout=2)
    proxy.refuse(False)
    assert RespClient(proxy.port).command("PING") == "PONG"
    assert redis.proc.poll() is None
