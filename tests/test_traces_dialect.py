"""The trace-derived dialect through a real, backfilled Prometheus: service-graph series as
Tempo's metrics-generator and the OpenTelemetry Collector's servicegraph connector write
them, read into nodes, edges, rates, health and response time."""

from __future__ import annotations

import time
from dataclasses import replace
from functools import partial
from typing import Any

import pytest
from django.test import Client

from graph.build import build_graph, build_node_graph
from graph.cytoscape import to_config
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import Prometheus, PrometheusSettings
from graph.sources.dialect import NodeTarget
from tests import graph_elements
from tests.graph_elements import Edges, Nodes
from tests.mesh import Workload
from tests.mesh import request_edge as istio_edge
from tests.support.prometheus import PrometheusPool
from tests.traces_mesh import (
    CDN,
    COMPOSE,
    HOME,
    MONGODB,
    NGINX,
    Service,
    histogram,
    request_edge,
    social_network,
)

QUERY_TIME = 1700000000
TRACES = MeshConfig(dialects=("traces",), default_namespace="legacy")
OPTIONS = GraphOptions(namespaces=("social",), query_time=QUERY_TIME, duration=600,
                       inject_service_nodes=False)

# Without namespace dimensions (the default namespace): web -> api -> postgres (database).
WEB, API, POSTGRES = Service("web"), Service("api"), Service("postgres")
LEGACY = (request_edge(WEB, API, 5.0)
          + request_edge(API, POSTGRES, 2.0, connection_type="database"))
# The connector's variant in otel: checkout -> payment (5/s, 10 % failed), un-suffixed
# histogram names, a `failed` label.
CHECKOUT, PAYMENT = Service("checkout", "otel"), Service("payment", "otel")
CONNECTOR = (request_edge(CHECKOUT, PAYMENT, 5.0, failed=0.5, connector=True)
             + histogram(CHECKOUT, PAYMENT, "server", {"0.1": 5.0, "+Inf": 5.0}, 0.25,
                         connector=True))
# nginx -> compose-post: both histograms (server: p95 95 ms, avg 67 ms; client slower);
# compose-post -> post-storage-mongodb: the client's only (p95 29 ms, avg 20 ms);
# home-timeline -> media-cdn (uninstrumented): the connector's zeros on the server side,
# the client span's 39 ms (p95), 30 ms (avg).
HISTOGRAMS = (
    histogram(NGINX, COMPOSE, "server", {"0.05": 3.0, "0.1": 6.0, "+Inf": 6.0}, 0.4)
    + histogram(NGINX, COMPOSE, "client", {"0.2": 6.0, "+Inf": 6.0}, 1.2)
    + histogram(COMPOSE, MONGODB, "client", {"0.01": 0.0, "0.03": 3.0, "+Inf": 3.0}, 0.06,
                connection_type="database")
    + histogram(HOME, CDN, "server", {"0.002": 1.0, "+Inf": 1.0}, 0.0,
                connection_type="virtual_node")
    + histogram(HOME, CDN, "client", {"0.02": 0.0, "0.04": 1.0, "+Inf": 1.0}, 0.03,
                connection_type="virtual_node")
)
# In shop, Istio sees cron -> api and traces see storefront -> api: one api node.
ISTIO_API = Workload("shop", "api", "api", service="api")
MIXED = (istio_edge(Workload("shop", "cron", "cron"), ISTIO_API, {"200": 2.0})
         + request_edge(Service("storefront", "shop"), Service("api", "shop"), 3.0))
SERIES = social_network() + LEGACY + CONNECTOR + HISTOGRAMS + MIXED


@pytest.fixture(scope="module")
def prom(prometheus_with: PrometheusPool) -> Prometheus:
    server = prometheus_with(SERIES, QUERY_TIME)
    return Prometheus(PrometheusSettings(url=server.url))


# Edges by their ends only: each pair of services has one edge in these graphs.
elements = partial(graph_elements.elements, protocol=False)


def graph(prom: Prometheus, options: GraphOptions = OPTIONS,
          mesh: MeshConfig = TRACES) -> tuple[Nodes, Edges]:
    return elements(to_config(build_graph(prom, options, mesh)))


def rates(edge: dict[str, Any]) -> dict[str, str]:
    return edge["traffic"]["rates"]  # type: ignore[no-any-return]


def test_it_draws_services_databases_brokers_and_virtual_peers(prom: Prometheus) -> None:
    """user (virtual) -> nginx -> compose-post -> post-storage-mongodb (database)
                               -> home-timeline  compose-post -> rabbitmq -> write-home-timeline
    home-timeline -> home-timeline-redis (database), home-timeline -> media-cdn (virtual)"""
    nodes, edges = graph(prom)
    assert {label: n["nodeType"] for label, n in nodes.items()} == {
        "user": "virtual", "nginx-web-server": "workload", "compose-post-service": "workload",
        "home-timeline-service": "workload", "write-home-timeline-service": "workload",
        "post-storage-mongodb": "database", "home-timeline-redis": "database",
        "rabbitmq": "messaging", "media-cdn": "virtual"}
    assert set(edges) == {
        ("user", "nginx-web-server"), ("nginx-web-server", "compose-post-service"),
        ("nginx-web-server", "home-timeline-service"),
        ("compose-post-service", "post-storage-mongodb"),
        ("compose-post-service", "rabbitmq"), ("rabbitmq", "write-home-timeline-service"),
        ("home-timeline-service", "home-timeline-redis"),
        ("home-timeline-service", "media-cdn")}
    # Peers without a namespace dimension are in the namespace of the end that named them.
    assert {n["namespace"] for n in nodes.values()} == {"social"}
    assert nodes["post-storage-mongodb"]["service"] == "post-storage-mongodb"
    assert "destServices" not in nodes["post-storage-mongodb"]
    assert nodes["compose-post-service"]["destServices"] == [
        {"cluster": "Kubernetes", "namespace": "social", "name": "compose-post-service"}]
    assert nodes["user"].get("isRoot") is True
    assert rates(edges[("rabbitmq", "write-home-timeline-service")])["http"] == "2.00"
    assert rates(edges[("compose-post-service", "rabbitmq")])["http"] == "2.00"


def test_it_judges_health_from_failed_over_total_requests(prom: Prometheus) -> None:
    """nginx -> compose-post (6/s, 1.2/s failed: 20 %, Failure); nginx -> home-timeline"""
    nodes, edges = graph(prom)
    failing = edges[("nginx-web-server", "compose-post-service")]
    assert rates(failing) == {"http": "6.00", "http5xx": "1.20", "httpPercentErr": "20.0",
                              "httpPercentReq": "60.0"}
    assert failing["traffic"]["responses"] == {
        "200": {"flags": {"-": "80.0"}, "hosts": {"compose-post-service": "80.0"}},
        "500": {"flags": {"-": "20.0"}, "hosts": {"compose-post-service": "20.0"}}}
    assert failing["healthStatus"] == "Failure"
    assert nodes["compose-post-service"]["healthStatus"] == "Failure"
    assert edges[("nginx-web-server", "home-timeline-service")]["healthStatus"] == "Healthy"
    assert nodes["home-timeline-service"]["healthStatus"] == "Healthy"
    assert nodes["nginx-web-server"]["traffic"] == [{"protocol": "http", "rates": {
        "httpIn": "10.00", "httpOut": "10.00"}}]


@pytest.mark.parametrize(("response_time", "nginx_compose", "compose_mongodb", "home_cdn"), [
    ("95", "95", "29", "39"), ("avg", "67", "20", "30")])
def test_it_reads_response_time_from_the_server_histogram_else_the_clients(
        prom: Prometheus, response_time: str, nginx_compose: str, compose_mongodb: str,
        home_cdn: str) -> None:
    """nginx -> compose-post (server and client histograms: the server's wins)
    compose-post -> post-storage-mongodb (the client histogram only)
    home-timeline -> media-cdn (uninstrumented server: the client's, over the server's 0 s)"""
    _, edges = graph(prom, replace(OPTIONS, response_time=response_time))
    assert edges[("nginx-web-server", "compose-post-service")]["responseTime"] == nginx_compose
    assert edges[("compose-post-service", "post-storage-mongodb")]["responseTime"] == \
        compose_mongodb
    assert edges[("home-timeline-service", "media-cdn")]["responseTime"] == home_cdn
    assert "responseTime" not in edges[("nginx-web-server", "home-timeline-service")]


def test_it_puts_series_without_a_namespace_in_the_default_namespace(prom: Prometheus) -> None:
    """web -> api -> postgres (database), no service.namespace dimension: in legacy"""
    nodes, edges = graph(prom, replace(OPTIONS, namespaces=("legacy",)))
    assert {label: (n["nodeType"], n["namespace"]) for label, n in nodes.items()} == {
        "web": ("workload", "legacy"), "api": ("workload", "legacy"),
        "postgres": ("database", "legacy")}
    assert rates(edges[("web", "api")])["http"] == "5.00"
    assert rates(edges[("api", "postgres")])["http"] == "2.00"
    # Another default namespace: the same series are elsewhere.
    assert graph(prom, replace(OPTIONS, namespaces=("legacy",)),
                 replace(TRACES, default_namespace="other")) == ({}, {})


def test_it_reads_the_connectors_failed_label_and_unsuffixed_histograms(
        prom: Prometheus) -> None:
    """checkout -> payment (5/s, 0.5/s failed: 10 %, Failure; server histogram avg 50 ms)"""
    nodes, edges = graph(prom, replace(OPTIONS, namespaces=("otel",), response_time="avg"))
    edge = edges[("checkout", "payment")]
    assert rates(edge)["http"] == "5.00"
    assert rates(edge)["httpPercentErr"] == "10.0"
    assert edge["healthStatus"] == "Failure"
    assert edge["responseTime"] == "50"
    assert nodes["payment"]["healthStatus"] == "Failure"


def test_it_injects_service_nodes_and_reduces_to_the_service_graph(prom: Prometheus) -> None:
    """nginx -> [compose-post service] -> compose-post workload; the service graph keeps
    services only (as Kiali's): nginx -> compose-post, nginx -> home-timeline"""
    body = to_config(build_graph(prom, replace(OPTIONS, inject_service_nodes=True), TRACES))
    kinds = {(n["data"]["nodeType"], n["data"]["label"]) for n in body["elements"]["nodes"]}
    assert {("service", "compose-post-service"), ("workload", "compose-post-service"),
            ("database", "post-storage-mongodb")} <= kinds
    assert ("service", "post-storage-mongodb") not in kinds
    service_graph = to_config(build_graph(prom, replace(OPTIONS, graph_type="service"), TRACES))
    nodes, edges = elements(service_graph)
    assert nodes["compose-post-service"]["nodeType"] == "service"
    assert rates(edges[("nginx-web-server", "compose-post-service")])["http5xx"] == "1.20"
    assert ("nginx-web-server", "home-timeline-service") in edges


def test_it_keeps_databases_brokers_and_virtual_peers_in_the_service_graph(
        prom: Prometheus) -> None:
    """The service graph sees through workloads, not through peers:
    user (virtual) -> nginx -> compose-post -> post-storage-mongodb (database)
                                            -> rabbitmq (broker) -> write-home-timeline
                            -> home-timeline -> home-timeline-redis (database)
                                             -> media-cdn (virtual)"""
    nodes, edges = graph(prom, replace(OPTIONS, graph_type="service"))
    assert {label: n["nodeType"] for label, n in nodes.items()
            if n["nodeType"] != "service"} == {
        "user": "virtual", "post-storage-mongodb": "database", "rabbitmq": "messaging",
        "home-timeline-redis": "database", "media-cdn": "virtual"}
    assert rates(edges[("user", "nginx-web-server")])["http"] == "10.00"
    assert rates(edges[("compose-post-service", "post-storage-mongodb")])["http"] == "3.00"
    assert rates(edges[("compose-post-service", "rabbitmq")])["http"] == "2.00"
    assert rates(edges[("rabbitmq", "write-home-timeline-service")])["http"] == "2.00"
    assert rates(edges[("home-timeline-service", "home-timeline-redis")])["http"] == "4.00"
    assert rates(edges[("home-timeline-service", "media-cdn")])["http"] == "1.00"


def test_it_draws_the_app_graph_with_app_nodes(prom: Prometheus) -> None:
    """nginx -> compose-post -> post-storage-mongodb, as apps"""
    nodes, edges = graph(prom, replace(OPTIONS, graph_type="app"))
    assert nodes["compose-post-service"]["nodeType"] == "app"
    assert nodes["post-storage-mongodb"]["nodeType"] == "database"
    assert edges[("nginx-web-server", "compose-post-service")]["healthStatus"] == "Failure"


def test_it_draws_a_services_node_graph(prom: Prometheus) -> None:
    """nginx -> compose-post -> post-storage-mongodb, -> rabbitmq -> write-home-timeline"""
    target = NodeTarget(namespace="social", workload="compose-post-service")
    body = to_config(build_node_graph(prom, OPTIONS, target, TRACES))
    nodes, edges = elements(body)
    assert set(nodes) == {"nginx-web-server", "compose-post-service", "post-storage-mongodb",
                          "rabbitmq", "write-home-timeline-service"}
    assert rates(edges[("nginx-web-server", "compose-post-service")])["http"] == "6.00"


def test_it_merges_istio_and_traces_by_node_id(prom: Prometheus) -> None:
    """cron -> api (Istio); storefront -> api (traces): one api node"""
    mesh = replace(TRACES, dialects=("istio", "traces"))
    nodes, edges = graph(prom, replace(OPTIONS, namespaces=("shop",)), mesh)
    assert set(nodes) == {"cron", "storefront", "api"}
    assert rates(edges[("cron", "api")])["http"] == "2.00"
    assert rates(edges[("storefront", "api")])["http"] == "3.00"
    assert nodes["storefront"]["isRoot"] is True and nodes["cron"]["isRoot"] is True


@pytest.mark.django_db
def test_it_serves_a_trace_derived_graph_from_the_api(prom: Prometheus, settings: Any) -> None:
    """user (virtual) -> nginx -> compose-post (20 % failed) -> post-storage-mongodb ..."""
    settings.PROMETHEUS_URL = prom.settings.url
    settings.MESHLENS_DIALECTS = ["traces"]
    response = Client().get(f"/api/v1/graph?namespaces=social&query_time={QUERY_TIME}"
                            "&duration=600s&inject_service_nodes=false")
    assert response.status_code == 200
    nodes, edges = elements(response.json())
    assert nodes["post-storage-mongodb"]["nodeType"] == "database"
    assert nodes["rabbitmq"]["nodeType"] == "messaging"
    assert nodes["user"]["nodeType"] == "virtual"
    assert edges[("nginx-web-server", "compose-post-service")]["healthStatus"] == "Failure"
    assert edges[("nginx-web-server", "compose-post-service")]["responseTime"] == "95"
    settings.MESHLENS_TRACES_NAMESPACE = "legacy"
    legacy = Client().get(f"/api/v1/graph?namespaces=legacy&query_time={QUERY_TIME}"
                          "&duration=600s&inject_service_nodes=false").json()
    assert set(elements(legacy)[0]) == {"web", "api", "postgres"}


@pytest.mark.django_db
def test_it_lists_the_namespaces_the_dimensions_name(
        prometheus_with: PrometheusPool, settings: Any) -> None:
    """social (services with service.namespace), otel (the connector's), and series without
    the dimension (in the default namespace), recorded until a minute ago"""
    server = prometheus_with(social_network() + CONNECTOR + LEGACY, int(time.time()) - 60)
    settings.PROMETHEUS_URL = server.url
    settings.MESHLENS_DIALECTS = ["istio", "traces"]
    settings.MESHLENS_TRACES_NAMESPACE = "legacy"
    assert Client().get("/api/v1/namespaces").json() == {
        "namespaces": ["legacy", "otel", "social"]}
    settings.MESHLENS_DIALECTS = ["istio"]
    assert Client().get("/api/v1/namespaces").json() == {"namespaces": []}
