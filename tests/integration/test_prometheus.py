"""/metrics as Prometheus sees it: `promtool check metrics` accepts the
exposition (with the cluster's section, rendered for a sample cluster, after
it), and a real Prometheus (Debian's package) on loopback scrapes the test's
nginx and answers queries for the shoppers and connections the test
created."""

import json
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import BUILD, free_port, wait_for_port
from helpers import Shopper

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
# Prints the cluster families for a sample cluster (tests/tools/).
CLUSTER_SAMPLE = BUILD / "tests" / "cluster-metrics-sample"
SCRAPE_INTERVAL_S = 1


def scrape(server):
    with urllib.request.urlopen(server.metrics_url + "/metrics", timeout=5) as resp:
        return resp.headers["Content-Type"], resp.read().decode()


def test_exposition_passes_promtool_check_metrics(nginx):
    shoppers = [Shopper(nginx, f"cart-{i}") for i in range(2)]
    content_type, body = scrape(nginx)
    # What Prometheus's own client libraries send for format 0.0.4.
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    result = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True,
                            text=True)
    # promtool prints one line per problem (lint included) and exits non-zero.
    assert result.returncode == 0 and result.stdout + result.stderr == "", (
        result.stdout + result.stderr)
    for shopper in shoppers:
        shopper.close()


def promtool_check_metrics(body):
    result = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True,
                            text=True)
    return result.returncode, result.stdout + result.stderr


def cluster_sample():
    if not CLUSTER_SAMPLE.is_file():
        pytest.fail(f"{CLUSTER_SAMPLE} is not built: cmake --build {BUILD} "
                    "--target cluster-metrics-sample")
    return subprocess.run([str(CLUSTER_SAMPLE)], capture_output=True, text=True,
                          check=True).stdout


def test_cluster_section_passes_promtool_next_to_a_node_scrape(nginx):
    """A single test node shows no cluster families: the section is rendered
    for a sample cluster (nodes up, down and permdown, every counter set)
    and checked on its own and after a live scrape, as /metrics puts it."""
    sample = cluster_sample()
    assert 'presence_cluster_replica_up{node="store-c",generation="1",local="false"} 0' in sample
    assert 'presence_cluster_messages_dropped_total{reason="bad_mac"} 2' in sample
    assert "presence_cluster_" not in scrape(nginx)[1]
    assert promtool_check_metrics(sample) == (0, "")
    assert promtool_check_metrics(scrape(nginx)[1] + sample) == (0, "")
    # promtool does see a broken section: a family declared twice.
    assert promtool_check_metrics(sample + sample)[0] != 0


def test_every_family_has_help_and_type_once(nginx):
    _, body = scrape(nginx)
    helps, types, samples = [], [], set()
    for line in body.splitlines():
        if line.startswith("# HELP "):
            helps.append(line.split()[2])
        elif line.startswith("# TYPE "):
            types.append(line.split()[2])
        elif line:
            samples.add(line.split("{")[0].split()[0])
    assert len(helps) == len(set(helps)) and len(types) == len(set(types))
    assert set(helps) == set(types) == samples


class Prometheus:
    """A Prometheus on a free loopback port with its own configuration and
    a scratch storage folder, stopped by its pid."""

    def __init__(self, folder: Path, target_port: int):
        self.folder = folder
        self.port = free_port()
        config = folder / "prometheus.yml"
        config.write_text(
            "global:\n"
            f"  scrape_interval: {SCRAPE_INTERVAL_S}s\n"
            f"  evaluation_interval: {SCRAPE_INTERVAL_S}s\n"
            "scrape_configs:\n"
            "  - job_name: nginx-presence\n"
            "    static_configs:\n"
            f"      - targets: ['127.0.0.1:{target_port}']\n"
        )
        self.log = open(folder / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={folder / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.proc, timeout=30)

    def query(self, expr):
        url = (f"http://127.0.0.1:{self.port}/api/v1/query?"
               + urllib.parse.urlencode({"query": expr}))
        with urllib.request.urlopen(url, timeout=5) as resp:
            answer = json.load(resp)
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def wait_for_value(self, expr, expected, timeout=30.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = self.query(expr)
            except (urllib.error.URLError, ConnectionError):
                last = "not ready"
            if isinstance(last, list) and len(last) == 1 and float(last[0]["value"][1]) == expected:
                return last[0]
            time.sleep(0.2)
        log = (self.folder / "prometheus.log").read_text(errors="replace")[-3000:]
        raise AssertionError(f"{expr} never became {expected}: last {last}\n{log}")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture
def prometheus_for():
    started = []

    def start(server):
        folder = Path(tempfile.mkdtemp(prefix="presence-prometheus-"))
        started.append(Prometheus(folder, server.metrics_port))
        return started[-1]

    yield start
    for prom in started:
        prom.stop()
        shutil.rmtree(prom.folder, ignore_errors=True)


def test_prometheus_scrapes_the_shoppers_and_connections_created(nginx, prometheus_for):
    # Three carts, one of them open in two tabs: 3 shoppers, 4 connections.
    tabs = [Shopper(nginx, sub) for sub in ("cart-1", "cart-2", "cart-3", "cart-3")]
    prom = prometheus_for(nginx)
    target = f"127.0.0.1:{nginx.metrics_port}"
    prom.wait_for_value(f'up{{job="nginx-presence",instance="{target}"}}', 1)
    sample = prom.wait_for_value("presence_shoppers", 3)
    assert sample["metric"]["instance"] == target
    prom.wait_for_value("presence_connections", 4)
    prom.wait_for_value('presence_handshakes_total{result="accepted"}', 4)
    # And Prometheus follows them leaving.
    tabs[3].close()
    prom.wait_for_value("presence_connections", 3)
    prom.wait_for_value("presence_shoppers", 3)
    tabs[0].close()
    prom.wait_for_value("presence_shoppers", 2)
    for tab in tabs[1:3]:
        tab.close()
