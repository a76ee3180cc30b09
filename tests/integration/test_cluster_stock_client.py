"""Three nodes replicating through Redis, shoppers spread over them on the
stock `phoenix` npm client: every node's admin sees the same presences
(phx_refs included) and the same stats after every step, an update keeps
phx_ref_prev on every node, and leaves, closes and dropped connections
propagate. The test's own raw admins then read the same state everywhere."""

import json
import subprocess
from pathlib import Path

from cluster import wait_converged

SCENARIO = Path(__file__).resolve().parent / "js" / "cluster_scenario.mjs"
NODES = ("store-a", "store-b", "store-c")


def test_stock_clients_on_three_nodes_see_one_presence(cluster, node_env):
    cluster.start_redis()
    nodes = [cluster.node(name) for name in NODES]
    config = {
        "urls": [node.ws_url for node in nodes],
        "nodes": list(NODES),
        "admin_tokens": [cluster.keys.admin_token(f"ops-{i}") for i in range(2 * len(nodes))],
        "shopper_tokens": {sub: cluster.keys.shopper_token(sub) for sub in ("cart-a", "cart-b", "cart-c", "cart-d")},
    }
    result = subprocess.run(
        ["node", str(SCENARIO)], input=json.dumps(config), capture_output=True, text=True,
        timeout=150, env=node_env,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    lines = result.stdout.strip().splitlines()
    assert "scenario: ok" in lines
    final = json.loads(lines[-1])

    # What the stock client synced equals what a raw admin is told on every node.
    presence, stats = wait_converged(nodes, {"cart-a": 2}, timeout=10)
    synced = {key: {meta["phx_ref"]: meta for meta in entry} for key, entry in final["presence"].items()}
    assert presence == synced
    assert stats["shoppers"] == 1 and stats["connections"] == 2
    assert sorted(stats["nodes"]) == sorted(NODES)
    for node in nodes:
        assert node.crashes() == []
