"""bench/shopper-sim against the real module: a small multi-process run ends
with exact counts, an admin of the test's own sees the simulator's shoppers,
and the JSON report holds every field; bad plans and refused tokens are
reported, not hidden."""

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BUILD
from helpers import AdminView

SIM = Path(os.environ.get("PRESENCE_BUILD_DIR", BUILD)) / "bench" / "shopper-sim"

SHOPPERS = 200
DURATION_S = 10
DRAIN_S = 6  # half of it waits for the last acknowledgements, even on a loaded machine

# Every field of the report, by section; a missing or an unexpected one fails.
REPORT_FIELDS = {
    "config": {"url", "urls", "shoppers", "processes", "source_ips", "ramp_per_s", "duration_s",
               "drain_s", "update_rate", "tabs_fraction", "churn_per_min", "heartbeat_s",
               "timeout_s", "gentle"},
    "run": {"id", "wall_s", "errors"},
    "connections": {"planned", "attempted", "joined", "failed", "failed_by_reason", "dropped",
                    "dropped_by_reason", "closed_by_sim", "joined_at_drain", "peak_concurrent"},
    "shoppers": {"total", "with_tabs", "joined_once", "peak_concurrent", "left", "returned"},
    "join": {"ramp_s", "ramp_joined", "rate_per_s", "peak_rate_per_s", "latency_ms"},
    "updates": {"target_per_s", "sent", "acked", "refused", "errors", "unacked", "skipped",
                "acked_per_s", "acked_per_s_after_ramp", "after_ramp_s", "latency_ms"},
    "heartbeats": {"sent", "acked", "latency_ms"},
    "admin": {"joined", "error", "topics", "stats_latency_ms", "probes_sent", "probes_seen",
              "probes_timed_out", "last_stats", "max_stats_shoppers", "tracker_metas",
              "max_tracker_metas", "tracker_states", "tracker_unreadable", "probe_connections"},
    "nginx": {"pid", "before", "at_peak", "after", "per_connection", "cpu_s", "cpu_percent"},
    "sim": {"cpu_user_s", "cpu_system_s", "cpu_s", "cpu_percent", "max_worker_rss_kb"},
}
LATENCY_FIELDS = {"count", "p50", "p90", "p99", "max", "mean"}
SAMPLE_FIELDS = {"processes", "connections", "vm_rss_kb", "rss_anon_kb", "rss_shmem_kb", "pss_kb",
                 "cpu_s", "zone_used_bytes"}
PER_CONNECTION_FIELDS = {"connections", "vm_rss_growth_bytes", "private_rss_growth_bytes",
                         "pss_growth_bytes", "zone_growth_bytes", "private_plus_zone_bytes"}


def sim_command(server, *extra):
    keys = server.keys
    return [
        str(SIM),
        "--url", f"{server.ws_url}/socket/websocket",
        "--key", str(keys.hs256_path), "--alg", "hs256", "--kid", "shop-1",
        *extra,
    ]


def assert_latency(summary, count):
    assert set(summary) == LATENCY_FIELDS, summary
    assert summary["count"] == count
    if count:
        assert 0 < summary["p50"] <= summary["p90"] <= summary["p99"] <= summary["max"], summary


@pytest.fixture(scope="module", autouse=True)
def built_simulator():
    if not SIM.exists():
        pytest.fail(f"{SIM} is not built: cmake --build <build> --target shopper-sim")


def test_small_run_counts_exactly_and_reports_every_field(nginx_factory, tmp_path):
    server = nginx_factory(workers=2)
    view = AdminView(server, topics=("admin:stats",))
    report_path = tmp_path / "report.json"
    command = sim_command(
        server,
        "--shoppers", str(SHOPPERS), "--processes", "2", "--source-ips", "127.0.0.2-127.0.0.3",
        "--ramp", "200/s", "--duration", str(DURATION_S), "--drain", str(DRAIN_S),
        "--update-rate", "100", "--tabs-fraction", "0.2", "--heartbeat", "2",
        "--admin-key", str(server.keys.ed25519_path), "--admin-alg", "eddsa",
        "--admin-kid", "admin-1",
        "--nginx-pid", str(server.proc.pid), "--metrics-url", f"{server.metrics_url}/metrics",
        "--report", str(report_path),
    )
    sim = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen = set()  # (shoppers, connections) as the test's own admin saw them
    deadline = time.monotonic() + DURATION_S + DRAIN_S + 30
    try:
        while sim.poll() is None:
            assert time.monotonic() < deadline, "shopper-sim did not stop by itself"
            view.client.pump(0.2)
            view.absorb()
            if view.stats is not None:
                seen.add((view.stats["shoppers"], view.stats["connections"]))
    finally:
        if sim.poll() is None:
            sim.kill()
        progress = sim.stderr.read()
    assert sim.returncode == 0, progress[-3000:]
    assert "joins/s" in progress  # the progress line was printed

    report = json.loads(report_path.read_text())
    assert set(report) == set(REPORT_FIELDS), set(report) ^ set(REPORT_FIELDS)
    for section, fields in REPORT_FIELDS.items():
        assert set(report[section]) == fields, (section, set(report[section]) ^ fields)

    conns = report["connections"]
    shoppers = report["shoppers"]
    assert report["run"]["errors"] == []
    assert shoppers["total"] == SHOPPERS
    assert shoppers["joined_once"] == SHOPPERS
    assert shoppers["peak_concurrent"] == SHOPPERS
    assert shoppers["with_tabs"] > 0 and conns["planned"] > SHOPPERS  # some shoppers have tabs
    assert conns["attempted"] == conns["planned"] == conns["joined"]
    assert conns["failed"] == 0 and conns["failed_by_reason"] == {}
    assert conns["dropped"] == 0 and conns["dropped_by_reason"] == {}
    assert conns["peak_concurrent"] == conns["planned"]
    assert conns["joined_at_drain"] == conns["planned"]
    assert conns["closed_by_sim"] == conns["planned"]  # the drain closed every one

    admin = report["admin"]
    probe = admin["probe_connections"]
    assert probe == 1
    # The server's own count matched the simulator's at some moment (the probe is a shopper too).
    assert (shoppers["peak_concurrent"] + probe, conns["peak_concurrent"] + probe) in seen, seen
    assert admin["max_stats_shoppers"] == SHOPPERS + probe
    # The batched presence_state / presence_diff feed described every connection at its peak.
    assert admin["max_tracker_metas"] == conns["planned"] + probe
    assert admin["tracker_states"] >= 1 and admin["tracker_unreadable"] == 0
    assert admin["joined"] is True and admin["error"] == ""
    assert admin["probes_seen"] > 0 and admin["probes_timed_out"] == 0
    assert admin["probes_sent"] - admin["probes_seen"] <= 1  # one may be in flight at the drain
    assert_latency(admin["stats_latency_ms"], admin["probes_seen"])
    for topic in ("admin:stats", "admin:cart_tracker"):
        assert admin["topics"][topic]["messages"] > 0, topic
        assert admin["topics"][topic]["bytes"] > admin["topics"][topic]["messages"], topic

    join = report["join"]
    assert join["ramp_joined"] == conns["planned"]
    assert join["ramp_s"] > 0 and join["rate_per_s"] > 0 and join["peak_rate_per_s"] > 0
    assert_latency(join["latency_ms"], conns["joined"])

    updates = report["updates"]
    assert updates["sent"] > 0
    assert updates["acked"] == updates["sent"]
    assert updates["refused"] == 0 and updates["errors"] == {} and updates["unacked"] == 0
    assert_latency(updates["latency_ms"], updates["acked"])
    # The rate held once every connection was in: measured over part of the run, so it accounts
    # for at most the updates acknowledged, and it is no rate at all without a span.
    assert 0 < updates["after_ramp_s"] < report["config"]["duration_s"]
    # One --url: the list of nodes the shoppers were spread over is that one.
    assert report["config"]["urls"] == [report["config"]["url"]]
    assert 0 < updates["acked_per_s_after_ramp"] * updates["after_ramp_s"] <= updates["acked"]
    heartbeats = report["heartbeats"]
    assert heartbeats["sent"] >= conns["planned"]  # every tab beat at least once in 10 s
    assert heartbeats["acked"] == heartbeats["sent"]
    assert_latency(heartbeats["latency_ms"], heartbeats["acked"])

    nginx = report["nginx"]
    assert nginx["pid"] == server.proc.pid
    for sample in ("before", "at_peak", "after"):
        assert set(nginx[sample]) == SAMPLE_FIELDS, nginx[sample]
        assert nginx[sample]["processes"] == 3  # master and two workers
        assert nginx[sample]["vm_rss_kb"] >= nginx[sample]["rss_anon_kb"] > 0
        assert nginx[sample]["pss_kb"] > 0
        assert nginx[sample]["zone_used_bytes"] > 0  # read from /metrics
    assert nginx["at_peak"]["connections"] == conns["planned"]
    assert set(nginx["per_connection"]) == PER_CONNECTION_FIELDS
    assert nginx["per_connection"]["connections"] == conns["planned"]
    # 200 sockets move PSS by less than its noise: the size is BENCHMARKS.md's, the field is here.
    assert isinstance(nginx["per_connection"]["pss_growth_bytes"], (int, float))
    assert nginx["cpu_s"] > 0
    assert report["sim"]["cpu_s"] > 0

    # Everything the simulator opened it closed: the server is back to no shoppers.
    view.wait_until(lambda v: v.stats["shoppers"] == 0 and v.stats["connections"] == 0,
                    what="no shoppers after the run")
    view.close()


def test_refused_tokens_are_counted_by_reason(nginx_factory, tmp_path):
    server = nginx_factory(workers=1)
    wrong_key = tmp_path / "wrong.key"
    wrong_key.write_bytes(os.urandom(32))
    command = sim_command(server, "--shoppers", "20", "--tabs-fraction", "0", "--duration", "2",
                          "--drain", "1", "--update-rate", "0")
    command[command.index(str(server.keys.hs256_path))] = str(wrong_key)
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["connections"]["attempted"] == 20
    assert report["connections"]["joined"] == 0
    assert report["connections"]["failed_by_reason"] == {"http:403": 20}
    assert report["admin"] is None and report["nginx"] is None


def machine_limits():
    """The open-files hard limit and the ephemeral ports per source address, as the
    simulator reads them, so the refusals below hold on any machine."""
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    return hard, high - low + 1


RESERVED_DESCRIPTORS = 32  # kReservedDescriptors in run_plan.hpp
ADMIN_CONNECTIONS = 2  # kAdminConnections


def plan_refusals():
    hard, ports = machine_limits()
    per_process = hard - RESERVED_DESCRIPTORS - ADMIN_CONNECTIONS
    cases = [
        (["--url", "ws://10.1.2.3:80/socket/websocket"], "refusing non-loopback host"),
        (["--source-ips", "10.0.0.2-10.0.0.3"], "not loopback"),
        (["--shoppers", "1000001"], "--shoppers 1000001 is outside"),
        (["--duration", "86401"], "--duration 86401 is outside"),
        (["--processes", "65"], "--processes 65 is outside"),
        (["--tabs-fraction", "1.5"], "--tabs-fraction 1.5 is outside"),
    ]
    # One socket past what one process may hold (the limit minus what it keeps for other files).
    over = hard - RESERVED_DESCRIPTORS + 1
    if over <= 1_000_000:
        want = -(-over // per_process)
        cases.append((["--shoppers", str(over), "--tabs-fraction", "0"],
                      f"use --processes {want} or more"))
    # Enough processes for the descriptors, but one connection more than one address has ports.
    shoppers = ports + 1
    processes = -(-shoppers // per_process)
    if shoppers <= 1_000_000 and processes <= 64:
        cases.append((["--shoppers", str(shoppers), "--processes", str(processes),
                       "--tabs-fraction", "0"], "connections need 2 source addresses"))
    return cases


@pytest.mark.parametrize("args,message", plan_refusals())
def test_plans_that_cannot_run_are_refused(tmp_path, args, message):
    key = tmp_path / "k.key"
    key.write_bytes(os.urandom(32))
    command = [str(SIM), "--url", "ws://127.0.0.1:9/socket/websocket", "--key", str(key), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert message in result.stderr, result.stderr
    assert result.stdout == ""


def test_churning_shoppers_leave_come_back_and_are_all_closed(nginx_factory):
    server = nginx_factory(workers=2)
    command = sim_command(
        server, "--shoppers", "120", "--tabs-fraction", "0.3", "--churn", "1", "--away", "1",
        "--ramp", "500", "--duration", "8", "--drain", "3", "--update-rate", "40",
        "--heartbeat", "2",
    )
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    conns, shoppers = report["connections"], report["shoppers"]
    assert conns["failed"] == 0 and conns["dropped"] == 0, conns
    assert shoppers["joined_once"] == 120
    # About 120 x 1/60 x 7 s leave; every one comes back after about a second.
    assert shoppers["left"] > 0, shoppers
    assert 0 < shoppers["returned"] <= shoppers["left"], shoppers
    assert conns["attempted"] >= conns["planned"] + shoppers["returned"]
    # Every joined connection was closed by the simulator: by a leave or by the drain.
    assert conns["closed_by_sim"] == conns["joined"]
    # A tab may leave with an update unanswered (a browser closes when it likes): unacked.
    updates = report["updates"]
    assert updates["acked"] > 0 and updates["refused"] == 0
    assert updates["acked"] + updates["unacked"] == updates["sent"]
    view = AdminView(server, topics=("admin:stats",))
    view.wait_until(lambda v: v.stats is not None and v.stats["shoppers"] == 0,
                    what="no shoppers after the run")
    view.close()
