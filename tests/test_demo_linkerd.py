"""The simulator's Linkerd namespace: emojivoto, counted as Linkerd's proxies count it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prometheus_client.samples import Sample

from demo.faults import FaultTable
from demo.server import MeshServer
from demo.simulator import Simulator
from demo.topologies import select
from graph.build import build_graph
from graph.cytoscape import to_config
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import Prometheus, PrometheusSettings
from tests.support import simulated
from tests.support.ports import wait_until
from tests.support.prometheus import PrometheusServer

MINUTE = 60.0


def scrape(*faults: str) -> list[Sample]:
    return simulated.scrape("emojivoto", *faults, seconds=MINUTE)


def total(samples: list[Sample], name: str = "response_total", **labels: str) -> float:
    return sum(s.value for s in samples
               if s.name == name and all(s.labels.get(k, "") == v for k, v in labels.items()))


def test_it_counts_each_call_at_both_proxies() -> None:
    """vote-bot -> web-svc -> web (6 rps): outbound at vote-bot, inbound at web"""
    samples = scrape()
    outbound = total(samples, direction="outbound", deployment="vote-bot",
                     dst_deployment="web", dst_service="web-svc", tls="true")
    inbound = total(samples, direction="inbound", deployment="web", tls="true")
    assert outbound / MINUTE == pytest.approx(6.0, rel=0.2)
    assert inbound == outbound
    assert total(samples, "request_total", direction="outbound", deployment="vote-bot") == (
        outbound)
    assert not any(s.name.startswith("istio_") and s.labels.get("destination_workload") == "web"
                   for s in samples)


def test_it_counts_an_unmeshed_caller_at_the_callee_only() -> None:
    """(outside the mesh) -> web: inbound, without identity"""
    samples = scrape()
    unmeshed = total(samples, direction="inbound", deployment="web", tls="no_identity")
    assert unmeshed > 0
    assert total(samples, direction="outbound", dst_deployment="web", tls="no_identity") == 0


def test_it_shows_a_fault_set_live_as_grpc_failures() -> None:
    """web -> voting-svc -> voting, 30 % UNAVAILABLE"""
    samples = scrape("web:voting=0.3:14")
    failed = total(samples, direction="outbound", dst_deployment="voting",
                   grpc_status_code="14", classification="failure")
    calls = total(samples, direction="outbound", dst_deployment="voting")
    assert failed / calls == pytest.approx(0.3, abs=0.1)
    assert total(samples, "response_latency_ms_count", direction="outbound",
                 dst_deployment="voting") == calls


def test_it_is_drawn_by_the_linkerd_dialect_from_a_scraping_prometheus(
        tmp_path: Path) -> None:
    """vote-bot -> web-svc -> web -> voting-svc -> voting (all UNAVAILABLE); unknown -> web:
    the simulator scraped every second by a real Prometheus, as `make run` does"""
    mesh = select("emojivoto")
    table = FaultTable(mesh)
    table.set("web:voting=1:14")
    server = MeshServer(Simulator(mesh, table, seed=3), "127.0.0.1", 0).start(0.2)
    target = server.url.removeprefix("http://")
    config = ("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: demo\n"
              f"    honor_labels: true\n    static_configs:\n      - targets: ['{target}']\n")
    try:
        with PrometheusServer(tmp_path / "tsdb", tmp_path, config=config) as prometheus:
            prom = Prometheus(PrometheusSettings(url=prometheus.url))
            options = GraphOptions(namespaces=("emojivoto",), duration=30)
            mesh_config = MeshConfig(dialects=("linkerd",))

            def edges() -> dict[tuple[str, str], dict[str, Any]]:
                body = to_config(build_graph(prom, options, mesh_config))
                labels = {n["data"]["id"]: n["data"]["label"] for n in body["elements"]["nodes"]}
                return {(labels[e["data"]["source"]], labels[e["data"]["target"]]): e["data"]
                        for e in body["elements"]["edges"]}

            wanted = {("vote-bot", "web-svc"), ("web-svc", "web"), ("unknown", "web"),
                      ("web", "voting-svc"), ("voting-svc", "voting"), ("web", "emoji-svc")}
            # Two scrapes make a rate: wait for every edge to show.
            assert wait_until(lambda: wanted <= edges().keys(), timeout=60, interval=0.5)
            drawn = edges()
    finally:
        server.stop()
    assert drawn[("voting-svc", "voting")]["healthStatus"] == "Failure"
    assert drawn[("voting-svc", "voting")]["traffic"]["rates"]["grpcPercentErr"] == "100.0"
    assert drawn[("vote-bot", "web-svc")]["isMTLS"] == "100"
    assert "isMTLS" not in drawn[("unknown", "web")]
