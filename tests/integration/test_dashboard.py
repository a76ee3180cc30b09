"""The admin dashboard, shopper.js and the demo store in headless Chromium
against the real nginx and module: the admin signs in with the example's
basic-auth user, shoppers connected by the test (stock phoenix clients in
node) show with the right counts, changes show within a second, a demo store
tab moves the size counts, a wrong password gets nothing, and the dashboard
renews its short-lived token without losing the view.

The browser is driven by node scripts under browser/ that report what the
page showed; the assertions are here."""

import base64
import csv
import io
import json
import random
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from conftest import ADMIN_PASSWORD, ADMIN_USER, BUILD, REPO
from helpers import Crowd
from test_history import HistoryAdmin, wait_for_a_sample_after

BROWSER_SCRIPTS = Path(__file__).resolve().parent / "browser"
ARTIFACTS = REPO / "artifacts"
SCRIPT_TIMEOUT_S = 120
# The bound for a change to reach the dashboard.
SHOWN_WITHIN_MS = 1000
# What the dashboard lists before summing the rest (dashboard/src/views.js).
TOP_PAGES = 10
TOP_PRODUCTS = 12
MAX_SIZE_COLUMNS = 16
# Carts the recent carts view lists (dashboard/src/recent_carts.js).
RECENT_CARTS = 20
# Time the views of one big stats message may take, in ms (best of runs):
# one frame at 60 Hz.
FRAME_BUDGET_MS = 16
ESBUILD = REPO / "node_modules" / ".bin" / "esbuild"
# The demo store's catalog and sizes (dashboard/src/demo/store.js).
DEMO_PRODUCT = "trail-hawk"
DEMO_SIZE = "10"
SIZES = ["7", "7.5", "8", "8.5", "9", "9.5", "10", "10.5", "11", "12"]
PRODUCTS = ["air-max-90", "court-classic", "apex-runner", "retro-high", "cloud-glide"]


@pytest.fixture(autouse=True)
def dashboard_built():
    if not (BUILD / "dashboard" / "app.js").is_file():
        pytest.fail(f"{BUILD}/dashboard is not built: cmake --build {BUILD} --target dashboard")


def run_script(node_env, script, scenario):
    result = subprocess.run(
        ["node", str(BROWSER_SCRIPTS / script)],
        input=json.dumps(scenario),
        capture_output=True,
        text=True,
        env=node_env,
        timeout=SCRIPT_TIMEOUT_S,
    )
    assert result.returncode == 0, f"{script} failed:\n{result.stderr[-4000:]}"
    return json.loads(result.stdout)


def scenario(server, steps, password=ADMIN_PASSWORD, **extra):
    return {
        "url": server.url,
        "ws_url": server.ws_url,
        "user": ADMIN_USER,
        "password": password,
        "steps": steps,
        **extra,
    }


def shopper(server, sub, page, items=(), tab=None):
    return {
        "id": tab or sub,
        "sub": sub,
        "token": server.keys.shopper_token(sub),
        "page": page,
        "items": [dict(item) for item in items],
    }


def item(product, size, qty=1):
    return {"product": product, "size": size, "qty": qty}


def dashboard_figures(connections):
    """What the dashboard must show for these connections: every connection
    counts on its page; a cart counts once, whatever its number of tabs (the
    tests give every tab of a cart the same items)."""
    pages = Counter(c["page"] for c in connections)
    carts = {c["sub"]: c["items"] for c in connections}
    sizes = Counter()
    cells = {}
    for items in carts.values():
        for it in items:
            sizes[it["size"]] += it["qty"]
            by_size = cells.setdefault(it["product"], {})
            by_size[it["size"]] = by_size.get(it["size"], 0) + it["qty"]
    ranked = sorted(pages.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = dict(ranked[:TOP_PAGES])
    return {
        "shoppers": len(carts),
        "connections": len(connections),
        "pages": shown,
        "otherPages": sum(n for _, n in ranked[TOP_PAGES:]) if len(ranked) > TOP_PAGES else None,
        "sizes": dict(sizes),
        "cells": cells,
        "nodes": 1,
    }


def assert_shown(step, expected, within_ms=None):
    observed = {key: step["observed"][key] for key in expected}
    assert step["matched"], f"dashboard showed {observed}, expected {expected}"
    assert observed == expected
    assert step["observed"]["state"] == "live", f"connection state {step['observed']['state']}"
    if within_ms is not None:
        assert step["elapsed_ms"] < within_ms, f"shown after {step['elapsed_ms']} ms"


def http_status(url, method="GET", user=None, password=None):
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    if user is not None:
        credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {credentials}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def jwt_claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_signed_in_admin_sees_shoppers_by_page_and_size(nginx, node_env):
    rng = random.Random(5)
    connections = []
    for n in range(8):
        items = [item(rng.choice(PRODUCTS), rng.choice(SIZES), rng.randint(1, 3)) for _ in range(n % 3)]
        connections.append(shopper(nginx, f"cart-{n}", rng.choice(["/", "/sale", "/products/air-max-90"]), items))
    # A shopper with a second tab on another page: one shopper, two connections.
    first = connections[0]
    connections.append(shopper(nginx, first["sub"], "/checkout", first["items"], tab="cart-0-tab-2"))
    expected = dashboard_figures(connections)
    assert expected["shoppers"] == 8 and expected["connections"] == 9

    result = run_script(node_env, "dashboard_scenario.js", scenario(nginx, [{"connect": connections, "expect": expected}]))

    assert result["status"] == 200
    assert result["errors"] == []
    assert result["foreign_requests"] == []
    assert_shown(result["steps"][0], expected)
    assert result["steps"][0]["observed"]["nodeNames"] == "store-a"
    assert [r["status"] for r in result["token_responses"]] == [200]
    assert result["token_responses"][0]["method"] == "POST"
    assert len(result["sockets"]) == 1 and "/admin_socket/websocket?" in result["sockets"][0]["url"]


def test_page_and_cart_changes_show_within_a_second(nginx, node_env):
    alice = shopper(nginx, "alice", "/", [item("air-max-90", "9")])
    bob = shopper(nginx, "bob", "/products/air-max-90")
    carol = shopper(nginx, "carol", "/sale", [item("court-classic", "10.5", 2)])
    online = [alice, bob, carol]

    def after(change, changed):
        return [dict(c, **change) if c is changed else c for c in online]

    moved = after({"page": "/cart"}, bob)
    bought = [dict(c, items=[item("air-max-90", "10", 3)]) if c["sub"] == "bob" else c for c in moved]
    left = [c for c in bought if c["sub"] != "carol"]
    steps = [
        {"connect": online, "expect": dashboard_figures(online)},
        {"update": [{"id": "bob", "page": "/cart"}], "expect": dashboard_figures(moved), "within_ms": 3000},
        {"update": [{"id": "bob", "items": [item("air-max-90", "10", 3)]}], "expect": dashboard_figures(bought), "within_ms": 3000},
        {"disconnect": ["carol"], "expect": dashboard_figures(left)},
    ]

    result = run_script(node_env, "dashboard_scenario.js", scenario(nginx, steps))

    assert result["status"] == 200
    first, page_change, cart_change, leave = result["steps"]
    assert_shown(first, dashboard_figures(online))
    assert_shown(page_change, dashboard_figures(moved), within_ms=SHOWN_WITHIN_MS)
    assert_shown(cart_change, dashboard_figures(bought), within_ms=SHOWN_WITHIN_MS)
    assert cart_change["observed"]["cells"]["air-max-90"] == {"9": 1, "10": 3}
    assert_shown(leave, dashboard_figures(left))
    assert result["errors"] == []


def demo_store_run(server, node_env, shoppers=(), stay_ms=0):
    return run_script(
        node_env,
        "demo_store.js",
        {
            "url": server.url,
            "ws_url": server.ws_url,
            "user": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "product": DEMO_PRODUCT,
            "size": DEMO_SIZE,
            "shoppers": list(shoppers),
            "stay_ms": stay_ms,
        },
    )


def assert_demo_store_moved_the_dashboard(result, size_before):
    assert result["dashboard_status"] == 200
    assert result["errors"] == []
    assert result["foreign_requests"] == []
    before, tabs, added = result["before"], result["after_tabs"], result["after_add"]
    assert before["sizes"].get(DEMO_SIZE, 0) == size_before
    # Two tabs, one cart: the cookie gives both the same cart id.
    cart_ids = result["tabs"]
    assert cart_ids[0] and cart_ids[0] == cart_ids[1]
    assert tabs["shoppers"] == before["shoppers"] + 1
    assert tabs["connections"] == before["connections"] + 2
    assert tabs["pages"].get("/demo/") == 2
    assert result["tab_path"] == f"/demo/products/{DEMO_PRODUCT}"
    assert added["sizes"][DEMO_SIZE] == size_before + 1
    assert added["cells"][DEMO_PRODUCT] == {DEMO_SIZE: 1}
    assert added["pages"].get(f"/demo/products/{DEMO_PRODUCT}") == 1
    assert added["pages"].get("/demo/") == 1
    assert result["add_ms"] < SHOWN_WITHIN_MS


def test_demo_store_tab_adding_size_10_moves_the_size_10_count(nginx, node_env):
    online = [shopper(nginx, "early-bird", "/", [item("air-max-90", DEMO_SIZE, 2)])]
    result = demo_store_run(nginx, node_env, online)
    assert_demo_store_moved_the_dashboard(result, size_before=2)
    assert [t["cart_id"] for t in result["demo_tokens"]] == result["tabs"]


def test_demo_store_fetches_a_new_token_before_it_expires(nginx_factory, node_env):
    ttl_s = 5
    server = nginx_factory(overrides={"presence_token_ttl": f"{ttl_s}s"})
    result = demo_store_run(server, node_env, stay_ms=ttl_s * 1000 + 2000)
    assert_demo_store_moved_the_dashboard(result, size_before=0)
    # Each tab fetched at load and again before its token expired, for the
    # same cart.
    grants = result["demo_tokens"]
    assert len(grants) >= 4
    assert {g["status"] for g in grants} == {200}
    assert {g["cart_id"] for g in grants} == {result["tabs"][0]}


def test_wrong_password_gets_no_token_and_no_data(nginx, node_env):
    for user, password in [(None, None), (ADMIN_USER, "not-" + ADMIN_PASSWORD), ("intruder", ADMIN_PASSWORD)]:
        for method, path in [("GET", "/admin/"), ("GET", "/admin/app.js"), ("POST", "/admin/token")]:
            status, body = http_status(nginx.url + path, method, user, password)
            assert status == 401, (user, password, method, path)
            assert b"token" not in body

    status, body = http_status(nginx.url + "/admin/token", "POST", ADMIN_USER, ADMIN_PASSWORD)
    assert status == 200
    grant = json.loads(body)
    claims = jwt_claims(grant["token"])
    assert claims["role"] == "admin" and claims["sub"] == ADMIN_USER
    assert claims["exp"] == grant["expires_at"]

    online = [shopper(nginx, "alice", "/")]
    result = run_script(
        node_env,
        "dashboard_scenario.js",
        scenario(nginx, [{"connect": online, "expect": {"shoppers": 1}}], password="not-" + ADMIN_PASSWORD),
    )
    assert result["status"] == 401
    assert result["sockets"] == []
    assert all(r["status"] != 200 for r in result["token_responses"])


def test_dashboard_renews_its_token_and_stays_live(nginx_factory, node_env):
    ttl_s = 5
    server = nginx_factory(overrides={"presence_token_ttl": f"{ttl_s}s"})
    online = [shopper(server, "alice", "/"), shopper(server, "bob", "/sale")]
    second = [online[0], dict(online[1], page="/cart")]
    third = [online[0], dict(second[1], items=[item("air-max-90", "10")])]
    steps = [
        {"connect": online, "expect": dashboard_figures(online)},
        # Past the first token's expiry, and then past the second's.
        {"sleep_ms": ttl_s * 1000 + 1500, "update": [{"id": "bob", "page": "/cart"}], "expect": dashboard_figures(second), "within_ms": 3000},
        {"sleep_ms": ttl_s * 1000, "update": [{"id": "bob", "items": [item("air-max-90", "10")]}], "expect": dashboard_figures(third), "within_ms": 3000},
    ]

    result = run_script(node_env, "dashboard_scenario.js", scenario(server, steps))
    # Shown by pytest when an assertion below fails.
    print("states", result["states"], "sockets", result["sockets"], "grants", result["token_responses"])

    assert result["status"] == 200
    assert result["errors"] == []
    assert_shown(result["steps"][0], dashboard_figures(online))
    assert_shown(result["steps"][1], dashboard_figures(second), within_ms=SHOWN_WITHIN_MS)
    assert_shown(result["steps"][2], dashboard_figures(third), within_ms=SHOWN_WITHIN_MS)

    grants = result["token_responses"]
    assert len(grants) >= 3 and all(g["status"] == 200 and g["method"] == "POST" for g in grants)
    sockets = result["sockets"]
    tokens = [s["url"].split("token=")[1].split("&")[0] for s in sockets]
    assert len(set(tokens)) == len(tokens) >= 3, "one socket per token"
    # No gap: each socket closes only after the next one opened, and the
    # renewal happens before the token it replaces expires.
    for older, newer in zip(sockets, sockets[1:]):
        assert older["closedMs"] is not None and older["closedMs"] >= newer["openedMs"]
        assert newer["openedMs"] - older["openedMs"] < ttl_s * 1000
    assert sockets[-1]["closedMs"] is None
    shown = [state for _, state in result["states"]]
    assert "live" in shown
    assert shown[shown.index("live"):] == ["live"], f"connection state went {shown}"


def test_recent_carts_lists_the_most_recent_only(nginx, node_env):
    """The optional view over admin:cart_tracker (Presence syncState and
    syncDiff in the page) lists the carts with the latest page loads, at
    most RECENT_CARTS of them, and counts the rest."""
    early = [shopper(nginx, f"early-{n:02d}", "/") for n in range(RECENT_CARTS)]
    late = [shopper(nginx, f"late-{n}", "/sale") for n in range(5)]
    steps = [
        {"click": "#recent-toggle", "connect": early, "expect": {"recentOf": len(early)}},
        {"connect": late, "sleep_ms": 50, "expect": {"recentOf": len(early) + len(late)}},
        {
            "update": [{"id": "early-07", "page": "/checkout"}],
            "expect": {"mostRecentCart": "early-07", "pages": {"/": len(early) - 1, "/sale": len(late), "/checkout": 1}},
        },
    ]

    result = run_script(node_env, "dashboard_scenario.js", scenario(nginx, steps))

    assert result["status"] == 200
    assert result["errors"] == []
    for step in result["steps"]:
        assert step["matched"], step["observed"]
    listed = result["steps"][1]["observed"]["recentCarts"]
    assert len(listed) == RECENT_CARTS
    assert set(listed[: len(late)]) == {c["sub"] for c in late}
    # A page change makes a cart the most recent one.
    final = result["steps"][2]["observed"]
    assert final["recentCarts"][0] == "early-07"
    assert final["recentOf"] == len(early) + len(late)
    assert len(final["recentCarts"]) == RECENT_CARTS


def test_dashboard_under_load_screenshot(nginx, node_env):
    rng = random.Random(100_000)
    pages = ["/", "/sale", "/cart", "/checkout"] + [f"/products/{p}" for p in PRODUCTS] + [f"/collections/drop-{n}" for n in range(35)]
    weights = [1 / (rank + 1) for rank in range(len(pages))]
    connections = []
    for n in range(300):
        items = [item(rng.choice(PRODUCTS), rng.choice(SIZES), rng.randint(1, 2)) for _ in range(rng.choice([0, 0, 1, 1, 2, 3]))]
        connections.append(shopper(nginx, f"cart-{n:04d}", rng.choices(pages, weights)[0], items))
    # Shoppers arrive in waves, so the chart has a history to draw.
    waves = [connections[i : i + 50] for i in range(0, len(connections), 50)]
    steps = [{"connect": wave, "sleep_ms": 1000} for wave in waves[:-1]]
    steps[0]["click"] = "#recent-toggle"
    ARTIFACTS.mkdir(exist_ok=True)
    laptop, phone = ARTIFACTS / "dashboard.png", ARTIFACTS / "dashboard-phone.png"
    expected = dashboard_figures(connections)
    steps.append({"connect": waves[-1], "sleep_ms": 1500, "expect": expected, "screenshot": str(laptop)})
    steps.append({"expect": expected, "screenshot": str(phone), "viewport": {"width": 390, "height": 844}})

    result = run_script(node_env, "dashboard_scenario.js", scenario(nginx, steps))

    assert result["status"] == 200
    assert result["errors"] == []
    assert expected["otherPages"] > 0
    assert_shown(result["steps"][-2], expected)
    assert_shown(result["steps"][-1], expected)
    assert len(result["steps"][-1]["observed"]["recentCarts"]) == RECENT_CARTS
    for png in (laptop, phone):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def ranked(counts):
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def size_order(size):
    numeric = re.fullmatch(r"\s*\d+(?:[.,]\d+)?\s*", size)
    return (0, float(size.replace(",", ".")), size) if numeric else (1, 0.0, size)


def reference_pages_view(pages):
    order = ranked(pages)
    top, rest = order[:TOP_PAGES], order[TOP_PAGES:]
    return {
        "rows": [{"page": page, "count": count} for page, count in top],
        "otherKeys": len(rest),
        "otherSum": sum(n for _, n in rest),
        "total": sum(pages.values()),
        "max": top[0][1] if top else 0,
    }


def reference_carts_view(carts):
    size_totals = Counter()
    for by_size in carts.values():
        size_totals.update(by_size)
    size_order_ranked = ranked(dict(size_totals))
    sizes = sorted((s for s, _ in size_order_ranked[:MAX_SIZE_COLUMNS]), key=size_order)
    products = ranked({p: sum(by_size.values()) for p, by_size in carts.items()})

    def cells(by_size):
        return [by_size.get(size, 0) for size in sizes], sum(n for s, n in by_size.items() if s not in sizes)

    rows = []
    for product, total in products[:TOP_PRODUCTS]:
        row_cells, other = cells(carts[product])
        rows.append({"product": product, "total": total, "cells": row_cells, "other": other})
    other_row = {"products": 0, "total": 0, "cells": [0] * len(sizes), "other": 0}
    for product, total in products[TOP_PRODUCTS:]:
        row_cells, other = cells(carts[product])
        other_row["products"] += 1
        other_row["total"] += total
        other_row["cells"] = [a + b for a, b in zip(other_row["cells"], row_cells)]
        other_row["other"] += other
    return {
        "sizes": sizes,
        "rows": rows,
        "otherRow": other_row,
        "otherSizes": len(size_order_ranked) - len(sizes),
        "sizeTotals": [size_totals[s] for s in sizes],
        "otherSizesTotal": sum(n for _, n in size_order_ranked[MAX_SIZE_COLUMNS:]),
        "total": sum(size_totals.values()),
    }


def random_stats(rng, pages, products, sizes):
    size_pool = SIZES + ["4", "13", "14", "10.0", "9,5", "S", "M", "L", "XL", "one-size"]
    return {
        "pages": {f"/p/{n}": rng.randint(1, 5) for n in rng.sample(range(pages * 2), pages)},
        "carts": {
            f"shoe-{n}": {size: rng.randint(1, 4) for size in rng.sample(size_pool, rng.randint(1, sizes))}
            for n in rng.sample(range(products * 2), products)
        },
    }


def bundle_for_node(source, tmp_path):
    """A dashboard source file as a CommonJS module node can require."""
    bundle = tmp_path / (Path(source).stem + ".cjs")
    build = subprocess.run(
        [str(ESBUILD), str(REPO / "dashboard" / "src" / source), "--bundle", "--platform=node", f"--outfile={bundle}"],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    return bundle


def test_views_are_bounded_top_n_and_fast_enough_for_a_big_launch(tmp_path, node_env):
    """The dashboard's views match a plain reference (sort everything, take
    the top) on random stats full of ties, and stay well inside a frame for
    the stats of a launch with thousands of pages and products."""
    bundle = bundle_for_node("views.js", tmp_path)
    rng = random.Random(2026)
    cases = [random_stats(rng, rng.randint(0, 30), rng.randint(0, 20), rng.randint(1, 20)) for _ in range(300)]
    launch = random_stats(rng, 5000, 2000, 10)
    cases.append(launch)

    result = run_script(node_env, "views_check.js", {"views": str(bundle), "cases": cases, "timed": launch, "runs": 20})

    assert len(result["results"]) == len(cases)
    for stats, views in zip(cases, result["results"]):
        assert views["pages"] == reference_pages_view(stats["pages"])
        assert views["carts"] == reference_carts_view(stats["carts"])
    shown = result["results"][-1]
    assert len(shown["pages"]["rows"]) == TOP_PAGES and shown["pages"]["otherKeys"] == 5000 - TOP_PAGES
    assert len(shown["carts"]["rows"]) == TOP_PRODUCTS and len(shown["carts"]["sizes"]) <= MAX_SIZE_COLUMNS
    assert result["pages_ms"] < FRAME_BUDGET_MS, result["pages_ms"]
    assert result["carts_ms"] < FRAME_BUDGET_MS, result["carts_ms"]


# The bounds on a presence (docs/PROTOCOL.md section 6).
MAX_PAGE_BYTES = 256
MAX_ITEMS = 100
MAX_PRODUCT_BYTES = 64
MAX_SIZE_BYTES = 16
MAX_QTY = 99


def test_shopper_js_sends_only_what_the_contract_accepts(tmp_path, node_env):
    """shopper.js cuts the page to its bound, leaves out the items the server
    would refuse (so one bad item never gets a whole update refused) and
    counts more than 99 shoes as 99: every bound holds at its limit and gives
    one past it."""
    bundle = bundle_for_node("shopper.js", tmp_path)
    page_at_limit = "/" + "p" * (MAX_PAGE_BYTES - 1)
    # Two-byte characters: one past the limit must not be cut inside one.
    wide_page = "/" + "é" * MAX_PAGE_BYTES
    items_at_limit = [item(f"shoe-{n}", "10") for n in range(MAX_ITEMS)]
    product_at_limit, size_at_limit = "p" * MAX_PRODUCT_BYTES, "s" * MAX_SIZE_BYTES
    calls = [
        {"fn": "normalizePage", "args": [page_at_limit]},
        {"fn": "normalizePage", "args": [page_at_limit + "x"]},
        {"fn": "normalizePage", "args": [wide_page]},
        {"fn": "normalizeItems", "args": [items_at_limit]},
        {"fn": "normalizeItems", "args": [items_at_limit + [item("one-too-many", "10")]]},
        {
            "fn": "normalizeItems",
            "args": [
                [
                    item(product_at_limit, size_at_limit),
                    item(product_at_limit + "p", "10"),
                    item("ok", size_at_limit + "s"),
                    item("", "10"),
                    {"product": "no-qty", "size": 9},
                    item("max", "10", MAX_QTY),
                    item("over", "10", MAX_QTY + 1),
                    item("none", "10", 0),
                    item("a-few", "10", 2.7),
                    {"product": "what", "size": "10", "qty": "many"},
                ]
            ],
        },
    ]

    results = run_script(node_env, "call_exports.js", {"bundle": str(bundle), "calls": calls})["results"]

    assert results[0] == page_at_limit
    assert results[1] == page_at_limit
    assert wide_page.startswith(results[2])
    assert len(results[2].encode()) <= MAX_PAGE_BYTES < len(results[2].encode()) + len("é".encode())
    assert results[3] == items_at_limit
    assert results[4] == items_at_limit
    assert results[5] == [
        item(product_at_limit, size_at_limit),
        item("no-qty", "9"),
        item("max", "10", MAX_QTY),
        item("over", "10", MAX_QTY),
        item("a-few", "10", 2),
    ]


AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
TIMELINE_SHOTS = {
    "desktop-light": {"width": 1280, "height": 900, "dark": False},
    "desktop-dark": {"width": 1280, "height": 900, "dark": True},
    "phone-light": {"width": 390, "height": 844, "dark": False},
    "phone-dark": {"width": 390, "height": 844, "dark": True},
}


def parse_csv(text):
    return list(csv.reader(io.StringIO(text)))


def test_timeline_shows_a_ramp_from_before_the_page_opened_and_downloads_csv(nginx, node_env):
    """Shoppers ramp up before the dashboard opens: its chart still shows the
    ramp and its peak, the zoom changes the span (by mouse and keyboard), the
    CSVs match the stats and the timeline, the page never scrolls sideways at
    a phone's width, in light and dark mode, and axe finds nothing on the
    dashboard or the demo store."""
    admin = HistoryAdmin(nginx)
    crowd = Crowd(nginx)
    ramp_start_s = int(time.time())
    carts = {}
    for wave in range(4):
        for n in range(5):
            sub = f"cart-{wave}{n}"
            items = [item(PRODUCTS[n], SIZES[wave], 1 + n % 2)]
            crowd.join(sub, {"page": "/", "items": items})
            carts.setdefault(PRODUCTS[n], Counter())[SIZES[wave]] += 1 + n % 2
        wait_for_a_sample_after(admin, int(time.time() * 1000))
    admin.wait(lambda a: a.seconds[max(a.seconds)]["shoppers"] == 20, "the ramp's top")
    ARTIFACTS.mkdir(exist_ok=True)

    result = run_script(
        node_env,
        "timeline_check.js",
        {
            "url": nginx.url,
            "user": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "demo_url": f"{nginx.url}/demo/",
            "shots": TIMELINE_SHOTS,
            "artifacts": str(ARTIFACTS),
            "axe": str(AXE),
            "expect_max": 20,
            "zooms": {"5m": 300, "24h": 86400, "1h": 3600},
        },
    )
    admin.read()

    assert result["status"] == 200
    assert result["errors"] == []
    assert result["drawn"], result["chart"]
    chart = result["chart"]
    assert int(chart["max"]) == 20 and int(chart["peak"]) == 20
    assert float(chart["from"]) <= ramp_start_s, "the chart starts before the ramp"
    assert result["zoom"] == {"5m": 300, "24h": 86400, "1h": 3600}
    assert result["keyboard_zoom"] == 300

    rows = parse_csv(result["carts_csv"]["text"])
    header, body = rows[0], rows[1:]
    assert header[0] == "product" and header[-1] == "total"
    shown = {}
    for row in body[:-1]:
        shown[row[0]] = {size: int(n) for size, n in zip(header[1:-1], row[1:-1]) if int(n) > 0}
        assert int(row[-1]) == sum(shown[row[0]].values())
    assert shown == {product: dict(sizes) for product, sizes in carts.items()}
    assert body[-1][0] == "all products" and int(body[-1][-1]) == sum(sum(s.values()) for s in carts.values())
    assert result["carts_csv"]["name"].endswith(".csv")

    timeline = parse_csv(result["timeline_csv"]["text"])
    assert timeline[0] == ["time", "resolution", "shoppers", "shoppers_max", "connections", "joins", "leaves", "updates", "cart_added", "cart_removed"]
    csv_seconds = {
        int(datetime.fromisoformat(row[0].replace("Z", "+00:00")).timestamp() * 1000): [int(v) for v in row[2:]]
        for row in timeline[1:]
        if row[1] == "second"
    }
    compared = 0
    for at, sample in admin.seconds.items():
        if at in csv_seconds:
            assert csv_seconds[at] == [sample[f] for f in ("shoppers", "shoppers_max", "connections", "joins", "leaves", "updates", "cart_added", "cart_removed")]
            compared += 1
    assert compared >= 4
    assert max(v[0] for v in csv_seconds.values()) == 20

    assert result["overflow"] == {name: 0 for name in TIMELINE_SHOTS}
    for png in result["shots"]:
        assert Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result["axe"] == {"dashboard": [], "dashboard_dark": [], "demo_store": [], "demo_store_dark": []}, json.dumps(result["axe"], indent=1)
    admin.close()


def test_timeline_and_moving_now_models(tmp_path, node_env):
    """Two nodes' samples sum per second; minutes fill in only before the
    first second held; a malformed push is refused; "moving now" ranks the
    rises over its window, not the quantities."""
    minute = lambda at, shoppers, joins: [at, shoppers, shoppers, shoppers, joins, 0, 0, 0, 0]
    second = lambda at, shoppers: [at, shoppers, shoppers, shoppers, 1, 0, 0, 0, 0]
    pushes = [
        {"node": "a", "resolution": "minute", "peak": {"shoppers": 7, "at": 121000}, "more": True, "samples": [minute(0, 3, 60), minute(60000, 5, 120), minute(120000, 7, 60)]},
        {"node": "a", "resolution": "second", "peak": {"shoppers": 7, "at": 121000}, "more": False, "samples": [second(120000, 6), second(121000, 7)]},
        {"node": "b", "resolution": "second", "peak": {"shoppers": 2, "at": 121000}, "more": False, "samples": [second(120000, 1), second(121000, 2)]},
        {"node": "a", "resolution": "hour", "samples": []},
        {"node": "a", "resolution": "second", "samples": [[122000, -1, 0, 0, 0, 0, 0, 0, 0]]},
    ]
    window = 5 * 60 * 1000
    stats = [
        [0, {"old": {"9": 50}}],
        [window - 10_000, {"old": {"9": 50}, "slow": {"10": 1}}],
        [window + 1000, {"old": {"9": 49}, "slow": {"10": 2}, "hot": {"10": 5, "11": 3}}],
    ]
    result = run_script(
        node_env,
        "timeline_model_check.js",
        {
            "timeline": str(bundle_for_node("timeline.js", tmp_path)),
            "moving": str(bundle_for_node("moving.js", tmp_path)),
            "pushes": pushes,
            "stats": stats,
            "now_ms": window + 1000,
        },
    )
    assert result["accepted"] == [True, True, True, False, True]
    assert result["rows"]["second"] == [[120000, 7, 7, 7, 2, 0, 0, 0, 0], [121000, 9, 9, 9, 2, 0, 0, 0, 0]]
    series = result["series"]
    assert series["t"] == [0, 60, 120, 121]  # the minute of 120 s is replaced by its seconds
    assert series["shoppers"] == [3, 5, 7, 9]
    assert series["joins"] == [1, 2, 2, 2]  # a minute's count per second
    assert series["peak"] == {"shoppers": 9, "at": 121000}  # the sum's peak, not one node's
    assert result["moving"] == [
        {"product": "hot", "size": "10", "rise": 5, "qty": 5},
        {"product": "hot", "size": "11", "rise": 3, "qty": 3},
        {"product": "slow", "size": "10", "rise": 2, "qty": 2},  # against the snapshot at the window's start
    ]
    assert result["span_ms"] == window


# Nodes the panel lists at most (dashboard/src/views.js; the server's kMaxReplicas).
MAX_NODES = 64


def nodes_run(server, node_env, subs, inject=None, screenshot=None, expect_panel=None):
    """The dashboard of `server` once `subs` joined it (nodes_check.js)."""
    return run_script(
        node_env,
        "nodes_check.js",
        {
            "url": server.url,
            "ws_url": server.ws_url,
            "user": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "shoppers": [shopper(server, sub, "/") for sub in subs],
            "inject": inject,
            "expect_panel": bool(inject) if expect_panel is None else expect_panel,
            "axe": str(AXE),
            "screenshot": screenshot,
        },
    )


def test_a_single_node_shows_no_shoppers_per_node_panel(nginx, node_env):
    """One node up: the totals say it all, the panel stays hidden, the
    timeline draws, and axe finds nothing."""
    result = nodes_run(nginx, node_env, ["cart-1", "cart-2", "cart-3"])
    assert result["status"] == 200 and result["errors"] == []
    observed = result["observed"]
    assert observed["connections"] == 3 and observed["nodes"] == 1
    assert observed["nodesPanel"] is None
    assert result["charted"], result["chart"]
    assert result["axe"] == {"light": [], "dark": []}, json.dumps(result["axe"], indent=1)


def test_shoppers_per_node_marks_a_down_node_in_words(nginx, node_env):
    """The server's stats pushes reach the page with two more nodes, one of
    them down (what a cluster sends): the panel lists every node in name order
    with its connections, says "down" in words for the one down, and the
    timeline still draws; axe finds nothing in light and dark mode."""
    ARTIFACTS.mkdir(exist_ok=True)
    inject = [
        {"node": "store-zz", "state": "down", "connections": 7},
        {"node": "store-0", "state": "up", "connections": 2},
    ]
    result = nodes_run(nginx, node_env, ["cart-1", "cart-2"], inject,
                       screenshot=str(ARTIFACTS / "dashboard-nodes.png"))
    assert result["status"] == 200 and result["errors"] == []
    assert result["stats_rewritten"] >= 1
    observed = result["observed"]
    local = observed["nodeNames"]
    assert local and observed["nodes"] == 1  # the counted nodes are the server's
    panel = observed["nodesPanel"]
    assert panel is not None, observed
    assert panel["rows"] == sorted(
        [
            {"node": local, "state": "up", "connections": 2},
            {"node": "store-0", "state": "up", "connections": 2},
            {"node": "store-zz", "state": "down, not counted", "connections": 7},
        ],
        key=lambda row: row["node"],
    )
    assert panel["summary"] == "3 nodes, 1 down"
    assert result["charted"], result["chart"]
    assert result["axe"] == {"light": [], "dark": []}, json.dumps(result["axe"], indent=1)


def test_nodes_view_is_bounded_and_hides_a_lone_node_up(tmp_path, node_env):
    bundle = bundle_for_node("views.js", tmp_path)
    many = [{"node": f"n{i:03}", "state": "up", "connections": i} for i in range(MAX_NODES + 1)]
    calls = [
        {"fn": "nodesView", "args": [[{"node": "a", "state": "up", "connections": 4}], ["a"]]},
        {"fn": "nodesView", "args": [[{"node": "a", "state": "down", "connections": 4}], []]},
        {"fn": "nodesView", "args": [None, ["b", "a"]]},
        {"fn": "nodesView", "args": [[None, {"state": "up"}, {"node": "c", "connections": -3}], None]},
        {"fn": "nodesView", "args": [many[:MAX_NODES], None]},
        {"fn": "nodesView", "args": [many, None]},
    ]
    results = run_script(node_env, "call_exports.js", {"bundle": str(bundle), "calls": calls})["results"]
    assert results[0] == {"rows": [{"node": "a", "up": True, "connections": 4}], "down": 0, "max": 4, "shown": False}
    assert results[1] == {"rows": [{"node": "a", "up": False, "connections": 4}], "down": 1, "max": 0, "shown": True}
    assert results[2]["rows"] == [{"node": "a", "up": True, "connections": None}, {"node": "b", "up": True, "connections": None}]
    assert results[2]["shown"] is True
    assert results[3]["rows"] == [{"node": "c", "up": True, "connections": 0}]
    assert len(results[4]["rows"]) == MAX_NODES
    assert len(results[5]["rows"]) == MAX_NODES and results[5]["rows"][-1]["node"] == f"n{MAX_NODES - 1:03}"
