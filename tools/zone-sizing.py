#!/usr/bin/env python3
"""Measures how many bytes of the presence zone a presence, a distinct page
and a distinct product take: for each shape of join payload it starts the
test nginx (tests/integration/conftest.py, the built module), joins N
shoppers, and divides the growth of presence_zone_used_bytes by N.
docs/OPERATIONS.md's sizing figures come from it.

Usage: tools/zone-sizing.py [N]   (default 1000; about five seconds)"""

import os
import resource
import shutil
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
from conftest import Nginx  # noqa: E402
from helpers import Shopper  # noqa: E402


def zone_used(server):
    with urllib.request.urlopen(server.url + "/metrics", timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith("presence_zone_used_bytes "):
                return int(line.split()[1])
    raise RuntimeError("no presence_zone_used_bytes in /metrics")


def measure(label, payload_of, n):
    prefix = Path(tempfile.mkdtemp(prefix="presence-sizing-"))
    os.chmod(prefix, 0o755)
    server = Nginx(prefix).start()
    try:
        before = zone_used(server)
        tabs = [Shopper(server, f"cart-{i:06d}", payload_of(i)) for i in range(n)]
        grown = zone_used(server) - before
        print(f"{grown / n:6.0f} B per presence  {label}")
        for tab in tabs:
            tab.close()
    finally:
        server.stop()
        shutil.rmtree(prefix, ignore_errors=True)


def item(product, size="10"):
    return {"product": product, "size": size, "qty": 1}


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 256)), hard))
    page = "/products/air-max-90"
    measure("one page for all, empty cart", lambda i: {"page": page, "items": []}, n)
    measure("a distinct 21-byte page each", lambda i: {"page": f"/products/shoe-{i:06d}", "items": []}, n)
    measure("a distinct 101-byte page each",
            lambda i: {"page": f"/products/{i:06d}" + "x" * 85, "items": []}, n)
    measure("one item of a product all share", lambda i: {"page": page, "items": [item("air-max-90")]}, n)
    measure("one item of a distinct product each",
            lambda i: {"page": page, "items": [item(f"shoe-{i:06d}")]}, n)
    measure("20 items of products all share",
            lambda i: {"page": page, "items": [item(f"shoe-{k:02d}") for k in range(20)]}, n)
    measure("100 items of products all share",
            lambda i: {"page": page, "items": [item(f"shoe-{k:02d}") for k in range(100)]}, n)


if __name__ == "__main__":
    main()
