"""A full zone refuses new shoppers ("server full") and never the ones
already online: they keep changing page and filling their carts, up to the
bounds, from the room the zone keeps in reserve for them."""

import re
import urllib.request

from helpers import PhoenixClient

SMALL_ZONE = "presence:1m node=store-a"  # the smallest presence_zone


def fat_payload(tag, items=20):
    """A page and items no other shopper has: as much new room as a shopper takes."""
    return {
        "page": f"/{tag}/" + "p" * 200,
        "items": [{"product": f"{tag}-{j}".ljust(64, "x"), "size": "s" * 16, "qty": 1} for j in range(items)],
    }


def maximal_payload(tag):
    return {
        "page": f"/{tag}".ljust(256, "p"),
        "items": [{"product": f"{tag}-{j}".ljust(64, "x"), "size": "s" * 16, "qty": 99} for j in range(100)],
    }


def metric(server, name):
    text = urllib.request.urlopen(server.metrics_url + "/metrics", timeout=5).read().decode()
    match = re.search(rf"^{name} (\d+)$", text, re.M)
    assert match, text
    return int(match.group(1))


def test_a_full_zone_refuses_newcomers_and_lets_shoppers_online_update(nginx_factory):
    # The example keeps an hour of per-second history; a 1m zone has room for a
    # minute. Every shopper here brings strings of its own: the cap on distinct
    # strings is lifted so that the zone's room, not the cap, runs out.
    server = nginx_factory(
        workers=1, overrides={"presence_zone": SMALL_ZONE, "presence_history": "1m 1h"},
        extra_http="presence_max_strings 1000000;")
    online = []
    refusal = None
    for i in range(2000):
        sub = f"cart-{i}"
        client = PhoenixClient.connect(server, server.keys.shopper_token(sub))
        status, response, join_ref = client.join(f"cart:{sub}", fat_payload(sub))
        if status != "ok":
            refusal = response
            client.close()
            break
        online.append((client, sub, join_ref))
    assert refusal == {"reason": "server full"}, refusal
    assert len(online) >= 10
    refused = metric(server, "presence_track_refused_total")
    assert refused == 1

    # Shoppers online change page and fill their carts to the bound.
    for n, (client, sub, join_ref) in enumerate(online[:3]):
        status, response = client.call(f"cart:{sub}", "update", maximal_payload(f"{sub}-max"), join_ref)
        assert (status, response) == ("ok", {}), (n, response)
        status, response = client.call(f"cart:{sub}", "update", {"page": "/checkout", "items": []}, join_ref)
        assert (status, response) == ("ok", {}), (n, response)
    assert metric(server, "presence_track_refused_total") == refused

    # Newcomers are still refused.
    client = PhoenixClient.connect(server, server.keys.shopper_token("late"))
    status, response, _ = client.join("cart:late", {"page": "/"})
    assert (status, response) == ("error", {"reason": "server full"})
