"""The Linkerd dialect through a real Prometheus, backfilled with the series Linkerd's
proxies write for emojivoto (tests/linkerd_mesh.py draws it)."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest
from django.test import Client

from graph import ids
from graph.build import build_graph, build_node_graph, plan
from graph.cytoscape import to_config
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import Prometheus, PrometheusSettings
from graph.sources.dialect import NodeTarget
from graph.sources.linkerd.traffic import response_of
from tests import mesh as istio
from tests.graph_elements import Edges, Nodes, elements
from tests.linkerd_mesh import WEB, emojivoto
from tests.support.prometheus import PrometheusPool

QUERY_TIME = 1700000000
LINKERD = MeshConfig(dialects=("linkerd",))
OPTIONS = GraphOptions(namespaces=("emojivoto",), query_time=QUERY_TIME, duration=600)
# Istio sees another caller of web, from a namespace of its own: cron -> web-svc -> web.
CRON = istio.Workload("batch", "cron", "cron")
ISTIO_WEB = istio.Workload("emojivoto", "web", "web-app", "v11", service="web-svc")


@pytest.fixture(scope="module")
def prom(prometheus_with: PrometheusPool) -> Prometheus:
    server = prometheus_with(emojivoto() + istio.request_edge(CRON, ISTIO_WEB, {"200": 3.0}),
                             QUERY_TIME)
    return Prometheus(PrometheusSettings(url=server.url))


def graph(prom: Prometheus, options: GraphOptions = OPTIONS,
          mesh: MeshConfig = LINKERD) -> tuple[Nodes, Edges]:
    return elements(to_config(build_graph(prom, options, mesh)))


def test_it_draws_workloads_services_and_an_unmeshed_caller(prom: Prometheus) -> None:
    """vote-bot -> web-svc -> web (10 % 500) -> emoji-svc -> emoji; unknown -> web;
    web -> voting-svc -> voting (25 % UNAVAILABLE, half without mTLS: not an unknown caller);
    vote-bot -> emoji-svc; web -> redis-svc -> redis (TCP); unknown -> redis (TCP)"""
    nodes, edges = graph(prom)
    assert {label: n["nodeType"] for label, n in nodes.items()} == {
        "vote-bot": "workload", "web": "workload", "emoji": "workload", "voting": "workload",
        "redis": "workload", "web-svc": "service", "emoji-svc": "service",
        "voting-svc": "service", "redis-svc": "service", "unknown": "unknown"}
    assert set(edges) == {
        ("vote-bot", "web-svc", "http"), ("web-svc", "web", "http"), ("unknown", "web", "http"),
        ("web", "emoji-svc", "grpc"), ("emoji-svc", "emoji", "grpc"),
        ("vote-bot", "emoji-svc", "grpc"),
        ("web", "voting-svc", "grpc"), ("voting-svc", "voting", "grpc"),
        ("web", "redis-svc", "tcp"), ("redis-svc", "redis", "tcp"), ("unknown", "redis", "tcp")}
    assert nodes["web"]["app"] == "web-app" and nodes["web"]["version"] == "v11"
    assert nodes["vote-bot"]["isRoot"] is True and nodes["web-svc"]["isInjected"] is True
    assert nodes["web"]["destServices"] == [
        {"cluster": "Kubernetes", "namespace": "emojivoto", "name": "web-svc"}]
    failing = edges[("vote-bot", "web-svc", "http")]
    assert failing["traffic"]["rates"] == {"http": "10.00", "http5xx": "1.00",
                                           "httpPercentErr": "10.0", "httpPercentReq": "100.0"}
    assert failing["traffic"]["responses"]["500"] == {"flags": {"-": "10.0"},
                                                      "hosts": {"web-svc.emojivoto": "10.0"}}
    assert failing["healthStatus"] == "Failure" and failing["isMTLS"] == "100"
    assert edges[("unknown", "web", "http")]["traffic"]["rates"]["http"] == "2.00"
    assert "isMTLS" not in edges[("unknown", "web", "http")]
    assert nodes["web"]["traffic"] == [
        {"protocol": "grpc", "rates": {"grpcOut": "9.00"}},
        {"protocol": "http", "rates": {"httpIn": "12.00", "httpIn5xx": "1.00"}},
        {"protocol": "tcp", "rates": {"tcpOut": "1000.00"}}]
    voting = edges[("web", "voting-svc", "grpc")]
    assert voting["traffic"]["rates"] == {"grpc": "4.00", "grpcErr": "1.00",
                                          "grpcPercentErr": "25.0", "grpcPercentReq": "44.4"}
    assert set(voting["traffic"]["responses"]) == {"0", "14"}
    assert voting["healthStatus"] == "Failure" and voting["isMTLS"] == "50"
    assert nodes["voting"]["healthStatus"] == "Failure"
    assert edges[("web", "emoji-svc", "grpc")]["healthStatus"] == "Healthy"
    tcp = edges[("web", "redis-svc", "tcp")]
    assert tcp["traffic"]["rates"] == {"tcp": "1000.00"} and tcp["isMTLS"] == "100"
    assert nodes["redis"]["workload"] == "redis"
    assert edges[("unknown", "redis", "tcp")]["traffic"]["rates"] == {"tcp": "200.00"}


def test_it_reads_the_tcp_bytes_asked_for(prom: Prometheus) -> None:
    """web -> redis-svc -> redis: 1000 B/s sent, 4000 received; unknown -> redis: 200, 100"""
    for tcp, web, unknown in (("received", "4000.00", "100.00"), ("total", "5000.00", "300.00")):
        _, edges = graph(prom, replace(OPTIONS, rates=replace(OPTIONS.rates, tcp=tcp)))
        assert edges[("web", "redis-svc", "tcp")]["traffic"]["rates"]["tcp"] == web
        assert edges[("unknown", "redis", "tcp")]["traffic"]["rates"]["tcp"] == unknown
    _, edges = graph(prom, replace(OPTIONS, rates=replace(OPTIONS.rates, tcp="none")))
    assert not any(protocol == "tcp" for _, _, protocol in edges)


def test_it_reads_response_times_at_the_edge_into_the_workload(prom: Prometheus) -> None:
    """vote-bot -> web-svc -> web: p95 175 ms, avg 130 ms; unknown -> web: 47.5, 20 ms"""
    _, edges = graph(prom)
    assert edges[("web-svc", "web", "http")]["responseTime"] == "175"
    assert "responseTime" not in edges[("vote-bot", "web-svc", "http")]
    assert edges[("unknown", "web", "http")]["responseTime"] == "48"
    _, edges = graph(prom, replace(OPTIONS, response_time="avg", inject_service_nodes=False))
    assert edges[("vote-bot", "web", "http")]["responseTime"] == "130"
    assert edges[("unknown", "web", "http")]["responseTime"] == "20"


def test_it_draws_callers_straight_to_workloads_without_service_nodes(
        prom: Prometheus) -> None:
    """vote-bot -> web; web -> emoji; web -> voting; vote-bot -> emoji; unknown -> web"""
    nodes, edges = graph(prom, replace(OPTIONS, inject_service_nodes=False))
    assert not any(n["nodeType"] == "service" for n in nodes.values())
    assert edges[("vote-bot", "web", "http")]["traffic"]["rates"]["http"] == "10.00"
    assert edges[("web", "emoji", "grpc")]["traffic"]["rates"]["grpc"] == "5.00"
    assert nodes["emoji"]["traffic"] == [{"protocol": "grpc", "rates": {"grpcIn": "6.00"}}]


def test_it_draws_apps_from_the_app_and_version_pod_labels(prom: Prometheus) -> None:
    """vote-bot -> web-app -> emoji-api, voting-api (app graph); redis has no app label"""
    nodes, edges = graph(prom, replace(OPTIONS, graph_type=ids.APP,
                                       inject_service_nodes=False))
    types = {label: n["nodeType"] for label, n in nodes.items() if n["nodeType"] != "box"}
    assert types == {"vote-bot": "app", "web-app": "app", "emoji-api": "app",
                     "voting-api": "app", "redis": "workload", "unknown": "unknown"}
    assert ("vote-bot", "web-app", "http") in edges and ("web-app", "redis", "tcp") in edges
    nodes, _ = graph(prom, replace(OPTIONS, graph_type=ids.VERSIONED_APP,
                                   inject_service_nodes=False))
    assert {"web-app v11", "emoji-api v11"} <= set(nodes)


def test_it_reduces_to_a_service_graph(prom: Prometheus) -> None:
    """web-svc -> emoji-svc, voting-svc, redis; vote-bot -> web-svc, emoji-svc"""
    nodes, edges = graph(prom, replace(OPTIONS, graph_type=ids.SERVICE))
    assert ("web-svc", "voting-svc", "grpc") in edges
    assert edges[("web-svc", "voting-svc", "grpc")]["isMTLS"] == "50"
    assert edges[("web-svc", "emoji-svc", "grpc")]["traffic"]["rates"]["grpc"] == "5.00"
    assert ("vote-bot", "web-svc", "http") in edges


def test_it_draws_the_neighbourhood_of_one_workload(prom: Prometheus) -> None:
    """node graph of web: vote-bot -> web-svc -> web; unknown -> web; web -> emoji-svc ->
    emoji, voting-svc -> voting, redis-svc -> redis; not vote-bot -> emoji-svc"""
    g = build_node_graph(prom, OPTIONS, NodeTarget("emojivoto", workload="web"), LINKERD)
    nodes, edges = elements(to_config(g))
    assert ("vote-bot", "emoji-svc", "grpc") not in edges
    assert {("vote-bot", "web-svc", "http"), ("unknown", "web", "http"),
            ("emoji-svc", "emoji", "grpc"), ("redis-svc", "redis", "tcp")} <= set(edges)
    assert edges[("emoji-svc", "emoji", "grpc")]["traffic"]["rates"]["grpc"] == "5.00"
    g = build_node_graph(prom, OPTIONS, NodeTarget("emojivoto", service="emoji-svc"), LINKERD)
    _, edges = elements(to_config(g))
    assert set(edges) == {("web", "emoji-svc", "grpc"), ("vote-bot", "emoji-svc", "grpc"),
                          ("emoji-svc", "emoji", "grpc")}


def test_it_adds_idle_nodes_when_asked(prom: Prometheus) -> None:
    """web -> voting-old -> voting-v0: series in the window, no traffic now"""
    nodes, edges = graph(prom)
    assert "voting-v0" not in nodes and "voting-old" not in nodes
    nodes, edges = graph(prom, replace(OPTIONS, include_idle_nodes=True))
    assert nodes["voting-v0"]["isIdle"] is True and nodes["voting-old"]["isIdle"] is True
    assert not any("voting-v0" in edge[:2] for edge in edges)
    assert "isIdle" not in nodes["web"]
    nodes, edges = graph(prom, replace(OPTIONS, include_idle_nodes=True,
                                       include_idle_edges=True))
    assert ("voting-old", "voting-v0", "grpc") in edges and nodes["voting-v0"]["isIdle"]


def test_it_merges_linkerd_and_istio_by_node_id(prom: Prometheus) -> None:
    """cron -> web-svc -> web (Istio); vote-bot -> web-svc -> web ... (Linkerd): one web"""
    options = replace(OPTIONS, namespaces=("batch", "emojivoto"))
    for dialects in (("istio", "linkerd"), ("linkerd", "istio")):
        body = to_config(build_graph(prom, options, MeshConfig(dialects=dialects)))
        nodes, edges = elements(body)
        assert [n["data"]["label"] for n in body["elements"]["nodes"]].count("web") == 1
        assert {("cron", "web-svc", "http"), ("vote-bot", "web-svc", "http"),
                ("web", "emoji-svc", "grpc")} <= set(edges)
        assert nodes["cron"]["isRoot"] is True and "isRoot" not in nodes["web"]


def test_it_sends_no_istio_query_and_reads_no_idle_edges_unless_asked() -> None:
    assert all("istio" not in q.promql for q in plan(OPTIONS, LINKERD).batch())
    traffic = [q.query.promql for q in plan(OPTIONS, LINKERD).traffic]
    assert sum(q.endswith("> 0") for q in traffic) == 4  # all but the workloads' labels
    idle = plan(replace(OPTIONS, include_idle_edges=True), LINKERD).traffic
    assert not any(q.query.promql.endswith("> 0") for q in idle)


@pytest.mark.parametrize(("labels", "expected"), [
    (("200", "", "success"), ("http", "200")),
    (("503", "", "failure"), ("http", "503")),
    (("", "", "failure"), ("http", "-")),
    (("200", "", "failure"), ("http", "-")),
    (("200", "0", "success"), ("grpc", "0")),
    (("200", "14", "failure"), ("grpc", "14")),
    (("503", "14", "failure"), ("grpc", "503")),
])
def test_it_reads_a_response_as_kiali_reads_istios(labels: tuple[str, str, str],
                                                   expected: tuple[str, str]) -> None:
    assert response_of(*labels) == expected


@pytest.mark.django_db
def test_it_serves_a_linkerd_graph_through_the_api(prom: Prometheus, settings: Any) -> None:
    """vote-bot -> web-svc -> web (10 % 500), through /api/v1/graph"""
    settings.PROMETHEUS_URL = prom.settings.url
    settings.MESHLENS_DIALECTS = ["linkerd"]
    response = Client().get(f"/api/v1/graph?namespaces=emojivoto&query_time={QUERY_TIME}"
                            "&duration=600s")
    assert response.status_code == 200
    nodes, edges = elements(response.json())
    assert "cron" not in nodes
    assert edges[("vote-bot", "web-svc", "http")]["healthStatus"] == "Failure"
    assert edges[("web-svc", "web", "http")]["responseTime"] == "175"
    failing = Client().get(f"/api/v1/edges?namespaces=emojivoto&query_time={QUERY_TIME}"
                           "&duration=600s").json()["edges"]
    assert {(e["source"]["label"], e["target"]["label"], e["errorPercent"])
            for e in failing} == {("vote-bot", "web-svc", 10.0), ("web-svc", "web", 10.0),
                                  ("web", "voting-svc", 25.0), ("voting-svc", "voting", 25.0)}


@pytest.mark.django_db
def test_it_merges_the_configured_dialects_in_the_api(prom: Prometheus, settings: Any) -> None:
    """cron -> web-svc -> web (Istio); vote-bot -> web-svc -> web (Linkerd)"""
    settings.PROMETHEUS_URL = prom.settings.url
    settings.MESHLENS_DIALECTS = ["istio", "linkerd"]
    body = Client().get(f"/api/v1/graph?namespaces=batch,emojivoto&query_time={QUERY_TIME}"
                        "&duration=600s").json()
    nodes, edges = elements(body)
    assert [n["data"]["label"] for n in body["elements"]["nodes"]].count("web-svc") == 1
    assert edges[("cron", "web-svc", "http")]["traffic"]["rates"]["http"] == "3.00"
    assert edges[("vote-bot", "web-svc", "http")]["healthStatus"] == "Failure"
    assert nodes["emoji"]["nodeType"] == "workload"


@pytest.mark.django_db
def test_it_lists_linkerd_namespaces(prometheus_with: PrometheusPool, settings: Any) -> None:
    """emojivoto (Linkerd) recorded until a minute ago"""
    server = prometheus_with(emojivoto(), int(time.time()) - 60)
    settings.PROMETHEUS_URL = server.url
    settings.MESHLENS_DIALECTS = ["linkerd"]
    assert Client().get("/api/v1/namespaces").json() == {"namespaces": ["emojivoto"]}
    assert WEB.namespace == "emojivoto"
