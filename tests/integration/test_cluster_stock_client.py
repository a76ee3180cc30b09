"""Three nodes replicating through Redis, shoppers spread over them on the
stock `phoenix` npm client: every node's admin sees the same presences
(phx_refs included) and the same stats after every step, an update keeps
phx_ref_prev on every node, and leaves, closes and dropped connections
propagate. The test's own raw admins then read the same state on every node,
and once the client's sockets close, every node is empty."""

import json
import subprocess
from pathlib import Path

from cluster import stats_snapshot, wait_converged, wait_for

SCENARIO = Path(__file__).resolve().parent / "js" / "cluster_scenario.mjs"
NODES = ("store-a", "store-b", "store-c")


def test_stats_list_every_node_up_before_any_shopper(cluster):
    cluster.start_redis()
    nodes = [cluster.node(name) for name in NODES]
    wait_for(lambda: all(stats_snapshot(node)["nodes"] == sorted(NODES) for node in nodes),
             "every node listed on every node", timeout=10, step=0.2)


def test_stock_clients_on_three_nodes_see_one_presence(cluster, node_env, tmp_path):
    cluster.start_redis()
    nodes = [cluster.node(name) for name in NODES]
    config = {
        "urls": [node.ws_url for node in nodes],
        "nodes": list(NODES),
        "admin_tokens": [cluster.keys.admin_token(f"ops-{i}") for i in range(2 * len(nodes))],
        "shopper_tokens": {sub: cluster.keys.shopper_token(sub) for sub in ("cart-a", "cart-b", "cart-c", "cart-d")},
    }
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    scenario = subprocess.Popen(
        ["node", str(SCENARIO), str(config_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=node_env,
    )
    try:
        lines = []
        for line in scenario.stdout:  # the scenario's own watchdog bounds this
            lines.append(line.rstrip("\n"))
            if lines[-1].startswith("{"):
                break
        if "scenario: ok" not in lines:
            scenario.wait(timeout=150)
            raise AssertionError("\n".join(lines) + "\n" + scenario.stderr.read())
        final = json.loads(lines[-1])

        # What the stock client synced is what a raw admin is told on every node.
        presence, stats = wait_converged(nodes, {"cart-a": 2}, timeout=10)
        synced = {key: {meta["phx_ref"]: meta for meta in metas} for key, metas in final["presence"].items()}
        assert presence == synced
        assert stats["shoppers"] == 1 and stats["connections"] == 2
        assert stats["nodes"] == sorted(NODES)
        scenario.stdin.write("done\n")
        scenario.stdin.close()
        assert scenario.wait(timeout=30) == 0, scenario.stderr.read()
    finally:
        if scenario.poll() is None:
            scenario.kill()
            scenario.wait()
    # The client's sockets closed with it: every node forgets them, and
    # still counts every node, up with no shopper.
    _, stats = wait_converged(nodes, {}, timeout=10)
    assert stats["nodes"] == sorted(NODES), stats
