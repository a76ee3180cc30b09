"""Redis behind `requirepass` and behind an ACL user (the default user off):
nodes given the password (or user and password) in an auth file replicate.
A wrong password is logged without the password and retried with backoff,
not in a tight loop; the right one, after a reload, works."""

import re
import time

from cluster import (
    Shoppers,
    wait_converged,
    wait_for,
)

PASSWORD = "launch-day-redis-pass"
WRONG = "not-the-launch-password"
WATCH_S = 6.0
# Reconnecting in a loop would try hundreds of times in WATCH_S; a backoff
# that starts near 100 ms and doubles tries a handful.
MAX_ATTEMPTS = 12


def replicate(cluster, auth_text):
    auth = cluster.auth_file(auth_text)
    a = cluster.node("store-a", auth_path=auth)
    b = cluster.node("store-b", auth_path=auth)
    shoppers = Shoppers()
    shoppers.join(a, "store-a-0", "/a")
    shoppers.join(b, "store-b-0", "/b")
    wait_converged([a, b], shoppers.counts(), check=shoppers.holds)
    for node in (a, b):
        assert PASSWORD not in node.error_log


def test_requirepass(cluster):
    other = cluster.another(redis_password=PASSWORD)
    other.start_redis()
    replicate(other, PASSWORD)


def test_acl_user(cluster):
    other = cluster.another(acl_user=("presence", PASSWORD))
    other.start_redis()
    replicate(other, f"presence {PASSWORD}")


def connections_received(client):
    return int(client.info("stats")["total_connections_received"])


def test_a_wrong_password_is_logged_without_it_and_retried_with_backoff(cluster):
    other = cluster.another(redis_password=PASSWORD)
    redis = other.start_redis()
    auth = other.auth_file(WRONG)
    watcher = redis.client()  # one connection of ours, counted once, before
    before = connections_received(watcher)
    a = other.node("store-a", auth_path=auth)
    started = time.monotonic()
    wait_for(lambda: connections_received(watcher) > before, "a first attempt", timeout=5)
    wait_for(lambda: re.search(r"\[(error|warn|crit)\].*(auth|AUTH|WRONGPASS|password)", a.error_log),
             "the refusal in the error log", timeout=5)
    time.sleep(max(0.0, WATCH_S - (time.monotonic() - started)))
    # A node's link is two connections (commands, subscriber): up to two an attempt.
    connections = connections_received(watcher) - before
    watcher.close()
    assert 2 <= connections <= 2 * MAX_ATTEMPTS, f"{connections} connections in {WATCH_S}s"
    log = a.error_log
    assert WRONG not in log and PASSWORD not in log, "a password in the error log"
    refusals = re.findall(r"^.*(?:WRONGPASS|invalid username-password|auth).*$", log, re.M | re.I)
    assert refusals, log[-2000:]
    # Logged with a rate limit too: not one line per attempt forever.
    assert len(refusals) <= MAX_ATTEMPTS, len(refusals)

    # The operator fixes the file and reloads: the node links.
    auth.write_text(PASSWORD + "\n")
    a.reload()
    b = other.node("store-b", auth_path=auth)
    shoppers = Shoppers()
    shoppers.join(a, "store-a-0", "/a")
    shoppers.join(b, "store-b-0", "/b")
    wait_converged([a, b], shoppers.counts(), timeout=20, check=shoppers.holds)
