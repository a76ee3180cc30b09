"""The stock `phoenix` npm client in node (transport `ws`) against the
server: shoppers join, update, leave and drop; an admin's
Presence.syncState/syncDiff view and its stats match the model after every
step, and a fresh admin is told exactly the synced state (docs/PROTOCOL.md section 7)."""

import json
import subprocess
from pathlib import Path

import pytest

from helpers import NODE_NAME

SCENARIO = Path(__file__).resolve().parent / "js" / "presence_scenario.mjs"


def run_scenario(server, node_env, mode):
    config = {
        "url": server.ws_url,
        "admin_tokens": [server.keys.admin_token("ops-1"), server.keys.admin_token("ops-2")],
        "shopper_tokens": {sub: server.keys.shopper_token(sub) for sub in ("cart-a", "cart-b", "cart-c")},
        "node": NODE_NAME,
    }
    result = subprocess.run(
        ["node", str(SCENARIO), mode],
        input=json.dumps(config),
        capture_output=True,
        text=True,
        timeout=90,
        env=node_env,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "scenario: ok" in result.stdout


@pytest.mark.parametrize("workers", [1, 2])
def test_stock_client_presence_sync_matches_server(nginx_factory, node_env, workers):
    run_scenario(nginx_factory(workers=workers), node_env, "presence")


@pytest.mark.parametrize("workers", [1, 2])
def test_stock_client_stats_match_model(nginx_factory, node_env, workers):
    run_scenario(nginx_factory(workers=workers), node_env, "stats")
