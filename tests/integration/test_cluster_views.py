"""What people see of a cluster, with two real nginx nodes replicating through
a real redis-server: each node's admin:stats lists both nodes with their
connections, /metrics shows both replicas up and the link up (and passes
`promtool check metrics`), and a node frozen past presence_cluster_down is
shown down, with its connections kept, in the other node's stats, metrics and
dashboard (headless Chromium), then up again when it speaks."""

import os
import re
import signal
import subprocess
import urllib.request
from pathlib import Path

from conftest import REPO
from helpers import AdminView, Shopper
from test_cluster_smoke import SECRET, redis_port, wait_for_log  # noqa: F401 (fixture)
from test_dashboard import nodes_run

PROMTOOL = "/usr/bin/promtool"
# Short, so that a frozen node is down soon; more than twice the 1 s heartbeat.
DOWN = "3s"
WITHIN_S = 15


def node(nginx_factory, name, port):
    cluster = "\n".join(
        [
            "presence_cluster views secret=.run/keys/cluster.secret;",
            f"presence_redis 127.0.0.1:{port};",
            "presence_cluster_batch 20ms;",
            f"presence_cluster_down {DOWN};",
            "presence_cluster_permdown 10m;",
        ]
    )
    server = nginx_factory(
        overrides={"presence_zone": f"presence:64m node={name}"}, extra_http=cluster, start=False
    )
    (server.prefix / ".run" / "keys" / "cluster.secret").write_text(SECRET)
    server = server.start()
    wait_for_log(server, f"redis subscriber link to 127.0.0.1:{port} is up")
    return server


def scrape(server):
    with urllib.request.urlopen(server.metrics_url + "/metrics", timeout=5) as resp:
        return resp.read().decode()


def series(body, name, **labels):
    """The value of the one sample of `name` whose labels include `labels`."""
    found = []
    for line in body.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if not match:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(1) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            found.append(float(match.group(2)))
    assert len(found) == 1, (name, labels, found)
    return found[0]


def processes_of(server):
    """The master and its workers."""
    master = server.proc.pid
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master, *map(int, children)]


def replicas(view):
    return view.stats and view.stats.get("replicas")


def test_stats_and_metrics_show_each_node_and_a_node_down(nginx_factory, redis_port):  # noqa: F811
    a = node(nginx_factory, "store-a", redis_port)
    b = node(nginx_factory, "store-b", redis_port)
    admin_a = AdminView(a, topics=("admin:stats",))
    admin_b = AdminView(b, topics=("admin:stats",))
    shoppers = [Shopper(a, "cart-1", {"page": "/"}), Shopper(a, "cart-2", {"page": "/"}),
                Shopper(b, "cart-3", {"page": "/"})]

    both_up = [{"node": "store-a", "state": "up", "connections": 2},
               {"node": "store-b", "state": "up", "connections": 1}]
    for view in (admin_a, admin_b):
        view.wait_until(lambda v: replicas(v) == both_up, timeout=WITHIN_S, what="both nodes up")
        assert view.stats["nodes"] == ["store-a", "store-b"] and view.stats["connections"] == 3

    body = scrape(a)
    assert series(body, "presence_cluster_link_up") == 1
    assert series(body, "presence_cluster_replica_up", node="store-a", local="true") == 1
    assert series(body, "presence_cluster_replica_up", node="store-b", local="false") == 1
    assert series(body, "presence_cluster_replica_connections", node="store-b") == 1
    assert series(body, "presence_cluster_replicas", state="up") == 2
    assert series(body, "presence_cluster_replication_lag_seconds", node="store-b") < WITHIN_S
    assert series(body, "presence_cluster_messages_total", direction="in") > 0
    check = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True,
                           text=True)
    assert check.returncode == 0 and check.stdout + check.stderr == "", check.stdout + check.stderr

    # b frozen: silent past DOWN, a shows it down, its shopper kept but not counted.
    frozen = processes_of(b)
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    try:
        b_down = [{"node": "store-a", "state": "up", "connections": 2},
                  {"node": "store-b", "state": "down", "connections": 1}]
        admin_a.wait_until(lambda v: replicas(v) == b_down, timeout=WITHIN_S, what="b down")
        assert admin_a.stats["nodes"] == ["store-a"] and admin_a.stats["connections"] == 2
        body = scrape(a)
        assert series(body, "presence_cluster_replica_up", node="store-b") == 0
        assert series(body, "presence_cluster_replica_connections", node="store-b") == 1
        assert series(body, "presence_cluster_replicas", state="down") == 1
        assert series(body, "presence_cluster_replica_transitions_total", to="down") >= 1
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)

    admin_a.wait_until(lambda v: replicas(v) == both_up, timeout=WITHIN_S, what="b up again")
    assert series(scrape(a), "presence_cluster_replica_up", node="store-b") == 1
    for client in (*shoppers, admin_a, admin_b):
        client.close()


def test_a_single_node_shows_no_cluster_metrics(nginx):
    body = scrape(nginx)
    assert "presence_cluster_" not in body


def test_the_dashboard_marks_a_frozen_node_down(nginx_factory, redis_port, node_env):  # noqa: F811
    a = node(nginx_factory, "store-a", redis_port)
    b = node(nginx_factory, "store-b", redis_port)
    admin_a = AdminView(a, topics=("admin:stats",))
    on_b = Shopper(b, "cart-b", {"page": "/"})
    admin_a.wait_until(lambda v: v.stats and v.stats["nodes"] == ["store-a", "store-b"]
                       and v.stats["connections"] == 1, timeout=WITHIN_S, what="b's shopper")
    frozen = processes_of(b)
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    try:
        admin_a.wait_until(lambda v: v.stats["nodes"] == ["store-a"], timeout=WITHIN_S,
                           what="b down")
        artifacts = REPO / "artifacts"
        artifacts.mkdir(exist_ok=True)
        result = nodes_run(a, node_env, ["cart-1", "cart-2"], expect_panel=True,
                           screenshot=str(artifacts / "dashboard-cluster-node-down.png"))
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    assert result["status"] == 200 and result["errors"] == []
    observed = result["observed"]
    assert observed["connections"] == 2 and observed["nodes"] == 1
    assert observed["nodesPanel"] == {
        "summary": "2 nodes, 1 down",
        "rows": [{"node": "store-a", "state": "up", "connections": 2},
                 {"node": "store-b", "state": "down, not counted", "connections": 1}],
    }
    assert result["axe"] == {"light": [], "dark": []}
    for client in (on_b, admin_a):
        client.close()
