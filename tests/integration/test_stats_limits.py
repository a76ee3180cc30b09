"""What shoppers may put in the zone: a cap on distinct strings
(`presence_max_strings`) and an optional catalogue of products and sizes
(`presence_catalog`), each refusing a join or update with a phx_reply error
that says why and leaving what is stored as it was; their `nginx -t`
messages; and the dashboard's tables showing the stats' other-buckets."""

import json
import subprocess
import urllib.request

import pytest

from conftest import EXAMPLE, REPO, Nginx
from helpers import AdminView, Crowd, PhoenixClient, Shopper

STRINGS_FULL = "too many distinct pages and products on the server"
NOT_IN_CATALOGUE = "product or size not in the catalogue"
ESBUILD = REPO / "node_modules" / ".bin" / "esbuild"


def item(product, size, qty=1):
    return {"product": product, "size": size, "qty": qty}


def join_reply(server, sub, payload):
    """Joins cart:<sub>; returns (status, response, client, join_ref)."""
    client = PhoenixClient.connect(server, server.keys.shopper_token(sub))
    status, response, join_ref = client.join(f"cart:{sub}", payload)
    return status, response, client, join_ref


def test_a_join_one_past_the_string_cap_is_refused(nginx_factory):
    server = nginx_factory(extra_http="presence_max_strings 10;")
    view = AdminView(server)
    # A page and four items: five strings a shopper, two fill the cap.
    def payload(who, page=None):
        return {"page": page or f"/{who}", "items": [item(f"{who}-shoe", str(8 + i)) for i in range(4)]}

    crowd = Crowd(server)
    a = crowd.join("cart-a", payload("a"))
    crowd.join("cart-b", payload("b"))
    view.wait_until(lambda v: v.stats and v.stats["connections"] == 2, what="two shoppers")
    before = dict(view.stats)

    status, response, late, _ = join_reply(server, "cart-c", payload("a", page="/one-more"))
    assert (status, response) == ("error", {"reason": STRINGS_FULL})
    late.heartbeat()  # the socket lives on
    # An update bringing a new string is refused too; the old meta stays.
    status, response = a.client.call(a.topic, "update", {"page": "/moved"}, a.join_ref)
    assert (status, response) == ("error", {"reason": STRINGS_FULL})
    # Strings already held are shared: this join brings none.
    status, _, kept, _ = join_reply(server, "cart-c", payload("b"))
    assert status == "ok"
    kept.heartbeat()
    view.wait_until(lambda v: v.stats["connections"] == 3, what="cart-c joined")
    assert view.stats["pages"] == {"/a": 1, "/b": 2}
    assert view.stats["shoppers"] == before["shoppers"] + 1
    assert view.metas("cart-a")[0]["page"] == "/a"
    metrics = metric_values(server)
    assert metrics["presence_strings"] == 10 and metrics["presence_strings_max"] == 10
    assert metrics["presence_strings_refused_total"] == 2
    view.close()


def metric_values(server):
    with urllib.request.urlopen(server.metrics_url + "/metrics", timeout=5) as resp:
        lines = resp.read().decode().splitlines()
    return {
        name: float(value)
        for name, value in (line.rsplit(" ", 1) for line in lines if line and not line.startswith("#"))
    }


def write_catalogue(server, text):
    (server.prefix / "catalog.json").write_text(text)


def test_the_catalogue_refuses_unknown_products_and_sizes(nginx_factory):
    server = nginx_factory(extra_http="presence_catalog catalog.json;", start=False)
    write_catalogue(server, json.dumps({"air-max-90": ["9", "10"], "pegasus": ["8"]}))
    server.start()
    view = AdminView(server)
    crowd = Crowd(server)
    shopper = crowd.join("cart-a", {"page": "/any/page/at/all", "items": [item("air-max-90", "10", 2)]})

    status, response, _, _ = join_reply(server, "cart-b", {"items": [item("my-own-shoe", "10")]})
    assert (status, response) == ("error", {"reason": NOT_IN_CATALOGUE})
    status, response, _, _ = join_reply(server, "cart-c", {"items": [item("pegasus", "10")]})
    assert (status, response) == ("error", {"reason": NOT_IN_CATALOGUE})
    status, response = shopper.client.call(
        shopper.topic, "update", {"items": [item("air-max-90", "11")]}, shopper.join_ref
    )
    assert (status, response) == ("error", {"reason": NOT_IN_CATALOGUE})
    shopper.update({"items": [item("pegasus", "8"), item("air-max-90", "9", 3)]})
    view.wait_until(
        lambda v: v.stats and v.stats["carts"] == {"pegasus": {"8": 1}, "air-max-90": {"9": 3}},
        what="the catalogued cart",
    )
    assert view.stats["connections"] == 1
    view.close()


@pytest.mark.parametrize(
    "directive,bad,message",
    [
        ("presence_stats_top", "0", "must be from 1 to 1000"),
        ("presence_stats_top", "1001", "must be from 1 to 1000"),
        ("presence_max_strings", "0", "must be from 1 to 16777216"),
        ("presence_max_strings", "16777217", "must be from 1 to 16777216"),
    ],
)
def test_bad_limits_fail_nginx_t_naming_the_directive(tmp_path, directive, bad, message):
    if directive in EXAMPLE.read_text():
        server = Nginx(tmp_path, overrides={directive: bad})
    else:
        server = Nginx(tmp_path, extra_http=f"{directive} {bad};")
    result = server.test_config()
    assert result.returncode != 0
    assert f'"{directive}" directive {message}' in result.stderr, result.stderr


@pytest.mark.parametrize(
    "text,message",
    [
        (None, "cannot open"),
        ("{", "not valid JSON"),
        ('{"air-max-90": []}', "sizes must be a non-empty array"),
        ('{"air-max-90": ["12345678901234567"]}', "every size must be a string of 1 to 16 bytes"),
    ],
)
def test_a_bad_catalogue_fails_nginx_t_naming_the_directive_and_file(tmp_path, text, message):
    server = Nginx(tmp_path, extra_http="presence_catalog catalog.json;")
    if text is not None:
        write_catalogue(server, text)
    result = server.test_config()
    assert result.returncode != 0
    assert '"presence_catalog" directive' in result.stderr, result.stderr
    assert "catalog.json" in result.stderr and message in result.stderr, result.stderr


def test_a_good_catalogue_passes_nginx_t(tmp_path):
    server = Nginx(tmp_path, extra_http="presence_catalog catalog.json;")
    write_catalogue(server, '{"air-max-90": ["9", "9.5"]}')
    result = server.test_config()
    assert result.returncode == 0, result.stderr


def test_the_dashboard_counts_what_the_server_left_out(tmp_path, node_env):
    """pagesView and cartsView add the stats' pages_other and carts_other to
    their "other" rows and totals, so the tables stay exact."""
    bundle = tmp_path / "views.cjs"
    build = subprocess.run(
        [str(ESBUILD), str(REPO / "dashboard" / "src" / "views.js"), "--bundle", "--platform=node", f"--outfile={bundle}"],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    script = f"""
const v = require({json.dumps(str(bundle))});
const stats = {{
  pages: {{"/": 5, "/sale": 2}},
  pages_other: {{pages: 950, connections: 1200}},
  carts: {{"air-max-90": {{"10": 4}}}},
  carts_other: {{products: 99, qty: 300}},
}};
const pages = v.pagesView(stats.pages, v.TOP_PAGES, stats.pages_other);
const carts = v.cartsView(stats.carts, v.TOP_PRODUCTS, v.MAX_SIZE_COLUMNS, stats.carts_other);
const plain = v.pagesView(stats.pages);
process.stdout.write(JSON.stringify({{pages, carts, plain}}));
"""
    run = subprocess.run(["node", "-e", script], capture_output=True, text=True, env=node_env)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["pages"]["otherKeys"] == 950 and out["pages"]["otherSum"] == 1200
    assert out["pages"]["total"] == 1207
    assert out["plain"]["otherKeys"] == 0 and out["plain"]["total"] == 7
    assert out["carts"]["otherRow"]["products"] == 99 and out["carts"]["otherRow"]["total"] == 300
    assert out["carts"]["total"] == 304
    assert [row["product"] for row in out["carts"]["rows"]] == ["air-max-90"]
