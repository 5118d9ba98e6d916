"""The engine with a dialect it has never heard of: a tiny one defined here, reading
`fake_requests_total{src_ns,src,dst_ns,dst,code}` from a real, backfilled Prometheus, goes
through the same build, health and JSON as Istio. The engine knows no Istio.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from django.test import Client

from graph import sources, traffic
from graph.appenders import Appender
from graph.build import build_graph, plan
from graph.cytoscape import to_config
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import Prometheus, PrometheusSettings, Query, Row, read
from graph.promql import any_of, label_list
from graph.sources.dialect import Discovery, NodeTarget
from tests import graph_elements
from tests.mesh import CLUSTER, Workload, request_edge
from tests.support.prometheus import PrometheusPool

QUERY_TIME = 1700000000
METRIC = "fake_requests_total"


class FakeLabels(NamedTuple):
    src_ns: str
    src: str
    dst_ns: str
    dst: str
    code: str


@dataclass(frozen=True)
class FakeQuery:
    metric: str
    kind: str
    query: Query


class FakeTraffic:
    """Every row goes to its destination's namespace map (and its source's, if requested)."""

    def __init__(self, options: GraphOptions, namespaces: Sequence[str] | None = None) -> None:
        self.graph_type = options.graph_type
        self.by_namespace = {ns: traffic.TrafficMap()
                             for ns in (options.namespaces if namespaces is None else namespaces)}

    def apply(self, query: FakeQuery, rows: Iterable[Row]) -> None:
        for key, value in rows:
            row = read(FakeLabels, key)
            assert row is not None
            for ns in {row.dst_ns, row.src_ns} & self.by_namespace.keys():
                self.add(self.by_namespace[ns], row, value)

    def add(self, g: traffic.TrafficMap, row: FakeLabels, value: float) -> None:
        source = traffic.add_node(g, CLUSTER, row.src_ns, "", row.src_ns, row.src, row.src, "",
                                  self.graph_type)
        dest = traffic.add_node(g, CLUSTER, row.dst_ns, "", row.dst_ns, row.dst, row.dst, "",
                                self.graph_type)
        out_key, dest_keys, edge_keys = traffic.rate_keys(traffic.HTTP, row.code)
        edge_md = g.edge_data(source, dest, traffic.HTTP)["md"]
        traffic.add_value(g.nodes[source]["md"], out_key, value)
        for k in dest_keys:
            traffic.add_value(g.nodes[dest]["md"], k, value)
        for k in edge_keys:
            traffic.add_value(edge_md, k, value)
        # Health counts responses by flag, as Kiali does: "-" is Istio's "no flag".
        traffic.add_response(edge_md, traffic.HTTP, row.code, "-", "", value)

    def maps(self) -> dict[str, traffic.TrafficMap]:
        return self.by_namespace


class FakeDialect:
    name = "fake"
    discovery = Discovery(metrics=(METRIC,), labels=("src_ns", "dst_ns"))

    def namespace_queries(self, options: GraphOptions, mesh: MeshConfig) -> list[FakeQuery]:
        ns = options.namespaces
        selector = mesh.scope().selector(METRIC, any_of("dst_ns", ns))
        promql = (f"sum by ({label_list(FakeLabels._fields)}) "
                  f"(rate({selector}[{options.duration}s])) > 0")
        return [FakeQuery(METRIC, "all", Query(promql, FakeLabels._fields))]

    def node_queries(self, options: GraphOptions, target: NodeTarget,
                     mesh: MeshConfig) -> list[FakeQuery]:
        return []  # these tests draw namespace graphs only: a node graph here is empty

    def namespace_traffic(self, options: GraphOptions,
                          namespaces: Sequence[str] | None = None) -> FakeTraffic:
        return FakeTraffic(options, namespaces)

    def appenders(self, options: GraphOptions) -> list[Appender]:
        return []


def fake_edge(src: str, dst: str, codes: dict[str, float]) -> list[dict[str, Any]]:
    return [{"metric": METRIC, "rate": rate,
             "labels": {"src_ns": "shop", "src": src, "dst_ns": "shop", "dst": dst, "code": code}}
            for code, rate in codes.items()]


# web -> api (7/s 200, 3/s 503: 30 % 5xx) -> db (5/s 200)
FAKE_SERIES = fake_edge("web", "api", {"200": 7.0, "503": 3.0}) + fake_edge("api", "db",
                                                                             {"200": 5.0})
# Istio sees another caller of the same api workload: cron -> api (2/s 200).
API = Workload("shop", "api", "api", service="api")
CRON = Workload("shop", "cron", "cron")
ISTIO_SERIES = request_edge(CRON, API, {"200": 2.0})


@pytest.fixture
def fake_dialect(monkeypatch: pytest.MonkeyPatch) -> FakeDialect:
    dialect = FakeDialect()
    monkeypatch.setitem(sources.DIALECTS, dialect.name, dialect)
    return dialect


@pytest.fixture(scope="module")
def prom(prometheus_with: PrometheusPool) -> Prometheus:
    server = prometheus_with(FAKE_SERIES + ISTIO_SERIES, QUERY_TIME)
    return Prometheus(PrometheusSettings(url=server.url))


OPTIONS = GraphOptions(namespaces=("shop",), query_time=QUERY_TIME, duration=600)


# Nodes by workload name, edges by (source, target) workload names.
elements = partial(graph_elements.elements, name="workload", protocol=False)


def test_it_builds_a_graph_from_a_dialect_the_engine_does_not_know(
        prom: Prometheus, fake_dialect: FakeDialect) -> None:
    """web -> api (30 % 5xx: Failure) -> db"""
    mesh = MeshConfig(dialects=("fake",))
    assert all("istio" not in q.promql for q in plan(OPTIONS, mesh).batch())
    body = to_config(build_graph(prom, OPTIONS, mesh))
    nodes, edges = elements(body)
    assert set(nodes) == {"web", "api", "db"}
    assert set(edges) == {("web", "api"), ("api", "db")}
    failing = edges[("web", "api")]
    assert failing["traffic"]["rates"]["http"] == "10.00"
    assert failing["traffic"]["rates"]["http5xx"] == "3.00"
    assert failing["traffic"]["rates"]["httpPercentErr"] == "30.0"
    assert failing["healthStatus"] == "Failure"
    assert edges[("api", "db")]["traffic"]["rates"]["http"] == "5.00"
    assert edges[("api", "db")]["healthStatus"] == "Healthy"
    assert nodes["api"]["healthStatus"] == "Failure"
    assert nodes["web"].get("isRoot") is True
    assert body["graphType"] == "workload"


def test_it_merges_the_graphs_of_two_dialects_by_node_id(
        prom: Prometheus, fake_dialect: FakeDialect) -> None:
    """cron -> api (Istio); web -> api -> db (fake): one api node"""
    options = replace(OPTIONS, inject_service_nodes=False)
    body = to_config(build_graph(prom, options, MeshConfig(dialects=("istio", "fake")),
                                 with_appenders=False))
    nodes, edges = elements(body)
    assert len(body["elements"]["nodes"]) == len(nodes) == 4
    assert set(nodes) == {"cron", "web", "api", "db"}
    assert set(edges) == {("cron", "api"), ("web", "api"), ("api", "db")}
    assert edges[("cron", "api")]["traffic"]["rates"]["http"] == "2.00"
    assert edges[("web", "api")]["healthStatus"] == "Failure"
    # Health is judged again over the merged edges: api's inbound now holds web's 5xx.
    assert nodes["api"]["healthStatus"] == "Failure"
    assert nodes["cron"]["isRoot"] is True and nodes["web"]["isRoot"] is True
    assert "isRoot" not in nodes["api"]


def test_it_names_an_unknown_dialect() -> None:
    with pytest.raises(sources.UnknownDialect, match="'nosuchmesh'.*istio"):
        sources.dialect_named("nosuchmesh")


@pytest.mark.parametrize("module", ["build", "traffic", "health", "cytoscape", "appenders",
                                    "appender_context", "options"])
def test_it_keeps_istio_out_of_the_engine(module: str) -> None:
    source = (Path(__file__).resolve().parent.parent / "graph" / f"{module}.py").read_text()
    assert "sources.istio" not in source and "sources import istio" not in source


@pytest.mark.django_db
def test_it_reads_the_configured_dialects_but_kialis_route_reads_istio(
        prom: Prometheus, fake_dialect: FakeDialect, settings: Any) -> None:
    """cron -> api (Istio); web -> api -> db (fake)"""
    settings.PROMETHEUS_URL = prom.settings.url
    settings.MESHLENS_DIALECTS = ["istio", "fake"]
    ours = Client().get(f"/api/v1/graph?namespaces=shop&query_time={QUERY_TIME}&duration=600s"
                        "&inject_service_nodes=false").json()
    assert set(elements(ours)[0]) == {"cron", "web", "api", "db"}
    kialis = Client().get(f"/api/namespaces/graph?namespaces=shop&queryTime={QUERY_TIME}"
                          "&duration=10m&graphType=workload").json()
    assert set(elements(kialis)[0]) == {"cron", "api"}


@pytest.mark.django_db
def test_it_lists_the_namespaces_of_every_configured_dialect(
        prometheus_with: PrometheusPool, fake_dialect: FakeDialect, settings: Any) -> None:
    """cron -> api in shop (Istio); web -> api -> db in shop, mirrored into fakens (fake),
    recorded until a minute ago"""
    mirrored = [{**s, "labels": {**s["labels"], "src_ns": "fakens", "dst_ns": "fakens"}}
                for s in FAKE_SERIES]
    server = prometheus_with(ISTIO_SERIES + mirrored, int(time.time()) - 60)
    settings.PROMETHEUS_URL = server.url
    settings.MESHLENS_DIALECTS = ["istio"]
    assert Client().get("/api/v1/namespaces").json() == {"namespaces": ["shop"]}
    settings.MESHLENS_DIALECTS = ["istio", "fake"]
    assert Client().get("/api/v1/namespaces").json() == {"namespaces": ["fakens", "shop"]}
