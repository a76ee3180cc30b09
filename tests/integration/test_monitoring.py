"""monitoring/: the alerting rules pass `promtool check rules` and their
tests (`promtool test rules`), and the Grafana dashboard and the rules name
only metrics the module exports (a live /metrics scrape, or the metrics
source for a family a test nginx does not show)."""

import json
import re
import subprocess
import urllib.request

import pytest

from conftest import REPO

MONITORING = REPO / "monitoring"
PROMTOOL = "/usr/bin/promtool"
# The module's metrics, and the cluster's (shown only with presence_cluster).
METRICS_SOURCES = [REPO / "module" / "ngx_presence_metrics.cpp",
                   REPO / "core" / "replication" / "src" / "cluster_metrics.cpp"]

PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
                "unless", "offset", "bool", "inf", "nan"}


def promtool(*args):
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=MONITORING)


def test_alert_rules_pass_promtool_check_rules():
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_alert_rules_pass_their_tests():
    result = promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_test_that_sees_it_fire():
    alerts = re.findall(r"^\s*- alert: (\w+)", (MONITORING / "alerts.yml").read_text(), re.M)
    tests = (MONITORING / "alerts_test.yml").read_text()
    assert len(alerts) == len(set(alerts)) >= 6
    for alert in alerts:
        # A test that expects it firing, i.e. with exp_labels after its name.
        assert re.search(rf"alertname: {alert}\n\s*exp_alerts:\n\s*- exp_labels", tests), alert


def metric_names(expr):
    """The metric names a PromQL expression reads: identifiers outside label
    matchers, ranges, strings and grouping clauses, that are not functions."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"\$\w+", "", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group(0)
        if text[match.end():].lstrip().startswith("("):
            continue  # a function
        if word.lower() in PROMQL_WORDS or re.fullmatch(r"\d.*", word):
            continue
        names.add(word)
    return names


def test_metric_names_helper_reads_promql():
    expr = ('sum by (result) (rate(presence_handshakes_total{instance=~"$instance"}[5m]))'
            " / on (instance) presence_zone_size_bytes > 0.25 * scalar(up)")
    assert metric_names(expr) == {"presence_handshakes_total", "presence_zone_size_bytes", "up"}


@pytest.fixture
def exported(nginx):
    with urllib.request.urlopen(nginx.metrics_url + "/metrics", timeout=5) as resp:
        scraped = {line.split("{")[0].split()[0] for line in resp.read().decode().splitlines()
                   if line and not line.startswith("#")}
    declared = {name for source in METRICS_SOURCES
                for name in re.findall(r'"(presence_\w+)"', source.read_text())}
    assert scraped  # the scrape worked
    return scraped | declared


def dashboard_queries(node):
    if isinstance(node, dict):
        if isinstance(node.get("expr"), str):
            yield node["expr"]
        for value in node.values():
            yield from dashboard_queries(value)
    elif isinstance(node, list):
        for value in node:
            yield from dashboard_queries(value)


def test_grafana_dashboard_queries_name_exported_metrics(exported):
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    assert dashboard["title"] and dashboard["uid"]
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert panels and all(p.get("targets") for p in panels)
    queries = list(dashboard_queries(dashboard["panels"]))
    assert len(queries) >= len(panels)
    for expr in queries:
        names = metric_names(expr)
        assert names, expr
        assert names <= exported, (expr, names - exported)
    variable = dashboard["templating"]["list"][1]["definition"]
    assert set(re.findall(r"presence_\w+", variable)) <= exported


def test_alert_rules_name_exported_metrics(exported):
    text = (MONITORING / "alerts.yml").read_text()
    exprs = re.findall(r"expr: \|\n((?:\s{10}.*\n)+)|expr: (.+)", text)
    assert exprs
    for block, line in exprs:
        expr = block or line
        names = metric_names(expr)
        assert names and names <= exported, (expr, names - exported)
