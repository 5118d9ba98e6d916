"""Appenders laid onto a traffic graph: response time, throughput, mTLS, idle nodes.

No Prometheus here: traffic rows and appender rows are what Prometheus would answer, made
from tests/mesh.py. An appender row's value is its query's answer (a response time in ms,
bytes/s, requests/s).
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from graph import ids
from graph.appender_context import AppenderContext
from graph.appenders import Appender
from graph.build import Assembly, QueryPlan, assemble
from graph.cytoscape import to_config
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import Row
from graph.sources.istio.appenders import appenders_for
from graph.sources.istio.dialect import ISTIO
from graph.sources.istio.idle import IdleNodes
from graph.sources.istio.queries import EDGE_LABELS, namespace_queries, secured_record
from graph.sources.istio.response_time import LABELS as RESPONSE_TIME_LABELS
from graph.sources.istio.response_time import ResponseTime
from graph.sources.istio.security import SecurityPolicy, security_metrics
from graph.sources.istio.throughput import Throughput
from tests.mesh import (
    CLUSTER,
    DETAILS,
    PRODUCTPAGE,
    RATINGS,
    REVIEWS_V1,
    REVIEWS_V2,
    REVIEWS_V3,
    Workload,
    labels,
    request_edge,
    rows,
    tcp_edge,
    traffic_answers,
    with_labels,
)

MTLS = {"connection_security_policy": "mutual_tls",
        "source_principal": "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews",
        "destination_principal": "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-ratings"}
PLAIN = {"connection_security_policy": "none", "source_principal": "unknown",
         "destination_principal": "unknown"}


def context(options: GraphOptions) -> AppenderContext:
    return AppenderContext(options, MeshConfig())


def build(series: list[dict[str, Any]], appender: Appender | None = None,
          results: list[list[Row]] | None = None, namespace: str = "bookinfo",
          mesh: MeshConfig | None = None, **options: Any) -> nx.MultiDiGraph:
    """The traffic of one namespace as Kiali reads it, with one appender's rows applied (its
    queries not given rows answer none), through the assembly production uses."""
    opts = GraphOptions(namespaces=(namespace,), query_time=1000, **options)
    mesh = mesh or MeshConfig()
    traffic = namespace_queries(opts, mesh)
    appended = ([(appender, appender.queries(AppenderContext(opts, mesh)))] if appender
                else [])
    queries = QueryPlan(traffic, appended, ISTIO)
    given = results or []
    wanted = len(appended[0][1]) if appended else 0
    assert len(given) <= wanted, f"{len(given)} answers for {wanted} appender queries"
    answers = traffic_answers(traffic, series) + given + [[]] * (wanted - len(given))
    return assemble(Assembly(queries, opts, mesh, None), enumerate(answers))


def security_answers(series: list[dict[str, Any]], **options: Any) -> list[list[Row]]:
    """What Prometheus answers the security appender's queries when every edge ends in the
    requested namespace: per metric, the inbound rows grouped by traffic and security
    labels (the traffic's own inbound answer), and nothing outside."""
    opts = GraphOptions(namespaces=("bookinfo",), query_time=1000, **options)
    out: list[list[Row]] = []
    for _, metric in security_metrics(opts):
        record = secured_record(metric)
        assert record is not None
        out += [rows([s for s in series if s["metric"] == metric], record._fields,
                     "destination"), []]
    return out


def answer(src: Workload, dst: Workload, value: float, reporter: str = "destination",
           protocol: str = "http", **extra: str) -> dict[str, Any]:
    """One row of an appender query's answer, as a series for tests.mesh.rows()."""
    return {"metric": "answer", "rate": value,
            "labels": labels(src, dst, reporter) | {"request_protocol": protocol} | extra}


def wl(w: Workload) -> str:
    return f"wl_{CLUSTER}_{w.namespace}_{w.workload}"


def svc(w: Workload) -> str:
    return f"svc_{CLUSTER}_{w.namespace}_{w.service}"


def md(g: nx.MultiDiGraph, u: str, v: str, protocol: str = "http") -> dict[str, Any]:
    data: dict[str, Any] = g.edges[u, v, protocol]["md"]
    return data


def test_it_puts_the_response_time_on_the_service_to_workload_edge() -> None:
    """productpage -> [reviews] -> reviews-v2 (p95 175 ms): not on the caller's edge"""
    found = rows([answer(PRODUCTPAGE, REVIEWS_V2, 175.0)], RESPONSE_TIME_LABELS, "destination")
    g = build(request_edge(PRODUCTPAGE, REVIEWS_V2, {"200": 20.0}), ResponseTime(), [found, []],
              inject_service_nodes=True)
    assert md(g, svc(REVIEWS_V2), wl(REVIEWS_V2))["responseTime"] == "175"
    assert "responseTime" not in md(g, wl(PRODUCTPAGE), svc(REVIEWS_V2))


def test_it_puts_the_response_time_on_the_caller_edge_without_service_nodes() -> None:
    """productpage -> reviews-v2 (avg 129.6 ms, shown rounded as Kiali does)"""
    found = rows([answer(PRODUCTPAGE, REVIEWS_V2, 129.6)], RESPONSE_TIME_LABELS, "destination")
    g = build(request_edge(PRODUCTPAGE, REVIEWS_V2, {"200": 20.0}), ResponseTime(), [found, []],
              inject_service_nodes=False, response_time="avg")
    assert md(g, wl(PRODUCTPAGE), wl(REVIEWS_V2))["responseTime"] == "130"


def test_it_asks_for_an_average_or_a_quantile() -> None:
    avg = ResponseTime().queries(context(GraphOptions(("bookinfo",), response_time="avg")))
    assert avg[0].promql.startswith(
        'sum(rate(istio_request_duration_milliseconds_sum{reporter="destination",'
        'destination_service_namespace="bookinfo"}[60s])) by (source_cluster,')
    assert " / sum(rate(istio_request_duration_milliseconds_count{" in avg[0].promql
    p99 = ResponseTime().queries(context(GraphOptions(("a", "b"), response_time="99")))
    assert p99[1].promql.startswith(
        'histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{'
        'reporter="source",source_workload_namespace=~"a|b"}[60s])) by (le,source_cluster,')


def test_it_prefers_the_response_time_the_destination_reports() -> None:
    """productpage -> reviews-v2: destination says 40 ms, source 55 ms;
    productpage -> details: only the source reports 30 ms"""
    series = (request_edge(PRODUCTPAGE, REVIEWS_V2, {"200": 5.0})
              + request_edge(PRODUCTPAGE, DETAILS, {"200": 5.0}))
    dest = rows([answer(PRODUCTPAGE, REVIEWS_V2, 40.0)], RESPONSE_TIME_LABELS, "destination")
    source = rows([answer(PRODUCTPAGE, REVIEWS_V2, 55.0, "source"),
                   answer(PRODUCTPAGE, DETAILS, 30.0, "source")], RESPONSE_TIME_LABELS, "source")
    g = build(series, ResponseTime(), [dest, source], inject_service_nodes=False)
    assert md(g, wl(PRODUCTPAGE), wl(REVIEWS_V2))["responseTime"] == "40"
    assert md(g, wl(PRODUCTPAGE), wl(DETAILS))["responseTime"] == "30"


def test_it_skips_a_response_time_prometheus_could_not_compute() -> None:
    """productpage -> reviews-v2 (NaN: no request in the window's buckets)"""
    found = rows([answer(PRODUCTPAGE, REVIEWS_V2, float("nan"))], RESPONSE_TIME_LABELS,
                 "destination")
    g = build(request_edge(PRODUCTPAGE, REVIEWS_V2, {"200": 5.0}), ResponseTime(), [found, []],
              inject_service_nodes=False)
    assert "responseTime" not in md(g, wl(PRODUCTPAGE), wl(REVIEWS_V2))


def test_it_adds_up_the_throughput_of_an_edge() -> None:
    """reviews-v2 -> [ratings] -> ratings-v1 (300 B/s), reviews-v3 -> [ratings] (200 B/s):
    the service -> workload edge carries 500 B/s"""
    series = (request_edge(REVIEWS_V2, RATINGS, {"200": 3.0})
              + request_edge(REVIEWS_V3, RATINGS, {"200": 3.0}))
    found = rows([answer(REVIEWS_V2, RATINGS, 300.0), answer(REVIEWS_V3, RATINGS, 200.0)],
                 EDGE_LABELS, "destination")
    g = build(series, Throughput(), [found], inject_service_nodes=True)
    assert md(g, svc(RATINGS), wl(RATINGS))["throughput"] == "500"
    assert "throughput" not in md(g, wl(REVIEWS_V2), svc(RATINGS))


def test_it_reads_request_bytes_at_the_source_and_response_bytes_at_the_destination() -> None:
    request = Throughput().queries(context(GraphOptions(("bookinfo",), throughput="request")))
    response = Throughput().queries(context(GraphOptions(("bookinfo",))))
    assert 'rate(istio_request_bytes_sum{reporter="source",request_protocol="http",' \
           'source_workload_namespace="bookinfo"}' in request[0].promql
    assert 'rate(istio_response_bytes_sum{reporter="destination",request_protocol="http",' \
           'source_workload_namespace="bookinfo"}' in response[0].promql
    # Calls into the namespace from elsewhere, read once (not again with the first set).
    assert 'rate(istio_response_bytes_sum{reporter="destination",request_protocol="http",' \
           'source_workload_namespace!="bookinfo",destination_service_namespace="bookinfo"}' \
           in response[0].promql


def test_it_shows_the_share_of_mtls_traffic_and_the_principals() -> None:
    """reviews-v2 -> [ratings] -> ratings-v1: 3/s on mTLS, 2/s in plain text (60 %)"""
    series = (with_labels(request_edge(REVIEWS_V2, RATINGS, {"200": 3.0}), **MTLS)
              + with_labels(request_edge(REVIEWS_V2, RATINGS, {"200": 2.0}), **PLAIN))
    g = build(series, SecurityPolicy(), security_answers(series), inject_service_nodes=True)
    for u, v in ((wl(REVIEWS_V2), svc(RATINGS)), (svc(RATINGS), wl(RATINGS))):
        assert md(g, u, v)["isMTLS"] == "60"
        assert md(g, u, v)["sourcePrincipal"] == MTLS["source_principal"]
        assert md(g, u, v)["destPrincipal"] == MTLS["destination_principal"]
    edge = to_config(g)["elements"]["edges"][0]["data"]
    assert (edge["isMTLS"], edge["sourcePrincipal"]) == ("60", MTLS["source_principal"])
    # The traffic read the same answer with the security labels summed away: 5/s.
    assert md(g, wl(REVIEWS_V2), svc(RATINGS))["http"] == 5.0


def test_it_leaves_out_is_mtls_without_mtls_traffic() -> None:
    """productpage -> details: plain text only"""
    series = with_labels(request_edge(PRODUCTPAGE, DETAILS, {"200": 3.0}), **PLAIN)
    g = build(series, SecurityPolicy(), security_answers(series), inject_service_nodes=False)
    assert "isMTLS" not in md(g, wl(PRODUCTPAGE), wl(DETAILS))
    assert md(g, wl(PRODUCTPAGE), wl(DETAILS))["sourcePrincipal"] == "unknown"


def test_it_reads_the_security_of_tcp_edges_from_tcp_bytes() -> None:
    """cartservice -> redis-cart (TCP, all mTLS)"""
    cart = Workload("shop", "cartservice", "cartservice", service="cartservice")
    redis = Workload("shop", "redis-cart", "redis-cart", service="redis-cart")
    series = with_labels(tcp_edge(cart, redis, sent=900.0, received=300.0), **MTLS)
    g = build(series, SecurityPolicy(), security_answers(series), namespace="shop",
              inject_service_nodes=False)
    assert md(g, wl(cart), wl(redis), "tcp")["isMTLS"] == "100"


def test_it_adds_up_the_security_of_service_graph_edges() -> None:
    """[productpage] -> productpage-v1 -> [reviews]: 3/s mTLS from productpage-v1, 1/s plain
    text; drawn [productpage] -> [reviews] in the service graph (75 %)"""
    series = (with_labels(request_edge(DETAILS, PRODUCTPAGE, {"200": 4.0}), **MTLS)
              + with_labels(request_edge(PRODUCTPAGE, REVIEWS_V1, {"200": 3.0}), **MTLS)
              + with_labels(request_edge(PRODUCTPAGE, REVIEWS_V1, {"200": 1.0}), **PLAIN))
    g = build(series, SecurityPolicy(), security_answers(series), graph_type=ids.SERVICE)
    assert md(g, svc(PRODUCTPAGE), svc(REVIEWS_V1))["isMTLS"] == "75"


def test_it_adds_an_idle_node_without_edges() -> None:
    """productpage -> details-v1 (series, no traffic now): details-v1 and [details] are idle;
    productpage -> reviews-v1 (4/s) is drawn as usual"""
    series = request_edge(PRODUCTPAGE, REVIEWS_V1, {"200": 4.0})
    idle = rows([answer(PRODUCTPAGE, DETAILS, 0.0)], EDGE_LABELS, "destination")
    g = build(series, IdleNodes(), [idle], include_idle_nodes=True)
    for node in (wl(DETAILS), svc(DETAILS)):
        assert g.nodes[node]["md"]["isIdle"] is True
        assert g.degree(node) == 0
    assert g.nodes[wl(DETAILS)]["workload"] == "details-v1"
    assert "isIdle" not in g.nodes[wl(REVIEWS_V1)]["md"]
    data = {n["data"]["label"]: n["data"] for n in to_config(g)["elements"]["nodes"]}
    assert data["details-v1"]["isIdle"] is True
    assert "traffic" not in data["details-v1"]


def test_it_reads_the_mesh_from_the_call_not_from_an_earlier_one() -> None:
    """productpage -> details-v1 (idle), bookinfo not accessible: one IdleNodes, never asked
    for its queries, applied with that mesh, marks the idle nodes inaccessible"""
    series = request_edge(PRODUCTPAGE, REVIEWS_V1, {"200": 4.0})
    idle = rows([answer(PRODUCTPAGE, DETAILS, 0.0)], EDGE_LABELS, "destination")
    appender = IdleNodes()
    hidden = MeshConfig(accessible=frozenset({(CLUSTER, "elsewhere")}))
    g = build(series, appender, [idle], mesh=hidden, include_idle_nodes=True)
    assert g.nodes[wl(DETAILS)]["md"]["isInaccessible"] is True
    g = build(series, appender, [idle], include_idle_nodes=True)
    assert "isInaccessible" not in g.nodes[wl(DETAILS)]["md"]


def test_it_adds_idle_nodes_only_when_asked() -> None:
    def has_idle(options: GraphOptions) -> bool:
        return any(isinstance(a, IdleNodes) for a in appenders_for(options))

    assert not has_idle(GraphOptions(("bookinfo",)))
    assert has_idle(GraphOptions(("bookinfo",), include_idle_nodes=True))


def test_it_adds_no_idle_node_of_a_namespace_not_asked_for() -> None:
    """productpage (bookinfo) -> ratings-v1 (elsewhere), idle: only productpage is added"""
    elsewhere = Workload("elsewhere", "ratings-v1", "ratings", service="ratings")
    idle = rows([answer(PRODUCTPAGE, elsewhere, 0.0, "source")], EDGE_LABELS, "source")
    g = build([], IdleNodes(), [idle], include_idle_nodes=True)
    assert set(g.nodes) == {wl(PRODUCTPAGE)}


def test_it_marks_the_nodes_of_idle_edges_idle() -> None:
    """productpage -> [details] -> details-v1 (idle edge, 0/s), productpage -> reviews-v1 (4/s)"""
    series = (request_edge(PRODUCTPAGE, DETAILS, {"200": 0.0})
              + request_edge(PRODUCTPAGE, REVIEWS_V1, {"200": 4.0}))
    g = build(series, IdleNodes(), [], include_idle_nodes=True, include_idle_edges=True)
    body = to_config(g)["elements"]
    nodes = {n["data"]["label"]: n["data"] for n in body["nodes"]}
    assert nodes["details-v1"]["isIdle"] and nodes["details"]["isIdle"]
    assert "isIdle" not in nodes["productpage-v1"] and "isIdle" not in nodes["reviews-v1"]
    into_details = [e["data"] for e in body["edges"]
                    if e["data"]["target"] in (nodes["details"]["id"], nodes["details-v1"]["id"])]
    assert [e["traffic"] for e in into_details] == [{"protocol": "http"}] * 2
