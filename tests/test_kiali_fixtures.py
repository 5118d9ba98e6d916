"""Kiali's own golden graph tests, replayed against a real Prometheus.

Each fixture's series are backfilled into Prometheus; Meshlens builds the graph that the
fixture's request asks for, and the whole JSON must equal Kiali's expected output.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from graph.build import build_graph
from graph.cytoscape import to_config
from graph.options import GraphOptions, MeshConfig, Rates
from graph.prometheus import Prometheus, PrometheusSettings
from tests import kiali

NAMESPACE_GRAPHS = [n for n in kiali.names()
                    if kiali.load(n, "request")["handler"] == "graphNamespacesIstio"
                    and n != "test_ambient_graph"]


def options_of(request: dict[str, Any]) -> tuple[GraphOptions, MeshConfig]:
    eo, config = request["effective_options"], request["kiali_config"]
    options = GraphOptions(
        namespaces=tuple(request["params"]["namespaces"].split(",")),
        graph_type=eo["graphType"], duration=eo["duration_s"], query_time=eo["queryTime"],
        inject_service_nodes=eo["injectServiceNodes"], include_idle_edges=eo["includeIdleEdges"],
        rates=Rates(http=eo["rates"]["http"], grpc=eo["rates"]["grpc"], tcp=eo["rates"]["tcp"]),
    )
    mesh = MeshConfig(
        cluster_name=config["home_cluster"],
        accessible=frozenset((a["cluster"], a["name"]) for a in config["accessible_namespaces"]),
        query_scope=tuple(config["prometheus_query_scope"].items()),
    )
    return options, mesh


def test_it_finds_the_fixtures() -> None:
    kiali.require()
    assert len(NAMESPACE_GRAPHS) >= 10, f"kiali fixtures missing under {kiali.FIXTURES}"


def remote_reads(url: str) -> float:
    """How many remote reads the Prometheus at `url` has answered (its own /metrics)."""
    text = requests.get(f"{url}/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("prometheus_http_requests_total{")
               and 'handler="/api/v1/read"' in line)


@pytest.mark.parametrize("remote_read", ["on", "off"])
@pytest.mark.parametrize("name", NAMESPACE_GRAPHS)
def test_it_draws_kiali_namespace_graph(name: str, remote_read: str,
                                        prometheus_with: Any) -> None:
    """With MESHLENS_REMOTE_READ on (the request shares by remote read, any refusal an
    error) and off (PromQL only), the same graph: Kiali's."""
    request = kiali.load(name, "request")
    server = prometheus_with(kiali.load(name, "series"), request["query_time"])
    options, mesh = options_of(request)
    reads_before = remote_reads(server.url)
    prom = Prometheus(PrometheusSettings(url=server.url, remote_read=remote_read))
    graph = to_config(build_graph(prom, options, mesh, with_appenders=False), extras=False)
    assert graph == kiali.expected(name)
    reads = remote_reads(server.url) - reads_before
    assert reads > 0 if remote_read == "on" and "requests" in (
        options.rates.http, options.rates.grpc) else reads == 0


class ArrivingBackwards:
    """Prometheus answering the last query of a batch first and the first one last."""

    def __init__(self, prom: Prometheus) -> None:
        self.prom = prom

    def query_each(self, queries: Any, at: int) -> Any:
        return reversed(list(enumerate(self.prom.query_all(queries, at))))


@pytest.mark.parametrize("name", ["test_complex_graph", "test_workload_graph"])
def test_it_draws_the_same_graph_whatever_order_the_answers_come_in(
        name: str, prometheus_with: Any) -> None:
    """Answers are worked on as they come, but applied in Kiali's order: the inbound
    query's copy of a series wins over the outbound one's even when it comes last."""
    kiali.require()
    request = kiali.load(name, "request")
    server = prometheus_with(kiali.load(name, "series"), request["query_time"])
    options, mesh = options_of(request)
    prom = ArrivingBackwards(Prometheus(PrometheusSettings(url=server.url)))
    graph = to_config(build_graph(prom, options, mesh, with_appenders=True), extras=False)
    in_order = to_config(build_graph(Prometheus(PrometheusSettings(url=server.url)), options,
                                     mesh, with_appenders=True), extras=False)
    assert graph == in_order
    assert to_config(build_graph(prom, options, mesh, with_appenders=False),
                     extras=False) == kiali.expected(name)
