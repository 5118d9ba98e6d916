"""The security appender reads the traffic's inbound answer: the same graph as its own query.

The inbound request and TCP queries group by the connection's security too when the
security appender runs; the traffic sums it away on reading, the appender reads the same
answer (sent once) and a small query of its own for the rows whose destination workload is
outside the requested namespaces. Checked against the plan it replaces (the appender's one
query over Kiali's rows, and the traffic's plain inbound queries), through a real
Prometheus, for every graph type, whole graph compared.

    requested: bookinfo, shop        elsewhere: outside, other

    outside/loadgen --(plain)--> [productpage] -> productpage-v1
    productpage-v1 --(mTLS 3/s, plain 1/s; 200 and 503)--> [reviews] -> reviews-v1, reviews-v2
        (reviews-v1 and reviews-v2 run as different principals; two pods each)
    outside/loadgen --(mTLS)--> [reviews] -> reviews-v2          (caller elsewhere)
    productpage-v1 --(plain 2/s; mTLS idle, 0/s)--> [details] -> details-v1
    reviews-v2 --(mTLS)--> other/ratings-v1                     (destination elsewhere)
    outside/probe --(plain)--> [bookinfo/legacy] -> other/legacy-v1
        (a bookinfo service whose workload is elsewhere: neither end's workload requested)
    outside/loadgen --(mTLS)--> [other/gateway] -> bookinfo/gateway-v1
        (neither the source nor the service requested: traffic, but not Kiali's mTLS rows)
    shop/cart --(TCP mTLS)--> shop/redis;  shop/cart --(TCP plain)--> other/db
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
import pytest

from graph import ids
from graph.appender_context import AppenderContext
from graph.build import Assembly, QueryPlan, assemble, build_graph, plan
from graph.cytoscape import to_config
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import Prometheus, PrometheusSettings, Query, Row
from graph.sources.istio import queries
from graph.sources.istio.dialect import ISTIO
from graph.sources.istio.edge_keys import rate_at_either_end
from graph.sources.istio.queries import (
    INBOUND,
    SECURITY_POLICY,
    namespace_queries,
    reporter,
    tcp_app_filter,
)
from graph.sources.istio.security import LABELS, SecurityPolicy, security_metrics
from tests.mesh import Workload, request_edge, tcp_edge, with_labels
from tests.support.prometheus import PrometheusPool

QUERY_TIME = 1700000000
NAMESPACES = ("bookinfo", "shop")


def principal(w: Workload) -> str:
    return f"spiffe://cluster.local/ns/{w.namespace}/sa/{w.workload}"


def secured(series: list[dict[str, Any]], src: Workload, dst: Workload, mtls: bool,
            pod: str = "p1") -> list[dict[str, Any]]:
    return with_labels(series, pod=pod,
                       connection_security_policy="mutual_tls" if mtls else "none",
                       source_principal=principal(src) if mtls else "unknown",
                       destination_principal=principal(dst) if mtls else "unknown")


LOADGEN = Workload("outside", "loadgen", "loadgen")
PROBE = Workload("outside", "probe", "probe")
PRODUCTPAGE = Workload("bookinfo", "productpage-v1", "productpage", service="productpage")
REVIEWS_V1 = Workload("bookinfo", "reviews-v1", "reviews", "v1", service="reviews")
REVIEWS_V2 = Workload("bookinfo", "reviews-v2", "reviews", "v2", service="reviews")
DETAILS = Workload("bookinfo", "details-v1", "details", service="details")
RATINGS = Workload("other", "ratings-v1", "ratings", service="ratings")
CART = Workload("shop", "cart", "cart", service="cart")
REDIS = Workload("shop", "redis", "redis", service="redis")
DB = Workload("other", "db", "db", service="db")


def series() -> list[dict[str, Any]]:
    out = secured(request_edge(LOADGEN, PRODUCTPAGE, {"200": 5.0}), LOADGEN, PRODUCTPAGE,
                  False)
    for dst in (REVIEWS_V1, REVIEWS_V2):
        for pod, scale in (("p1", 1.0), ("p2", 0.25)):
            out += secured(request_edge(PRODUCTPAGE, dst, {"200": 3 * scale, "503": 0.5}),
                           PRODUCTPAGE, dst, True, pod)
            out += secured(request_edge(PRODUCTPAGE, dst, {"200": 1 * scale}),
                           PRODUCTPAGE, dst, False, pod)
    out += secured(request_edge(PRODUCTPAGE, DETAILS, {"200": 2.0}), PRODUCTPAGE, DETAILS,
                   False)
    out += secured(request_edge(PRODUCTPAGE, DETAILS, {"200": 0.0}), PRODUCTPAGE, DETAILS,
                   True)
    out += secured(request_edge(LOADGEN, REVIEWS_V2, {"200": 2.0}), LOADGEN, REVIEWS_V2, True)
    out += secured(request_edge(REVIEWS_V2, RATINGS, {"200": 4.0, "500": 1.0}), REVIEWS_V2,
                   RATINGS, True)
    legacy = [s | {"labels": s["labels"] | {
        "destination_service_namespace": "bookinfo",
        "destination_service": "legacy.bookinfo.svc.cluster.local",
        "destination_service_name": "legacy"}}
        for s in request_edge(PROBE, Workload("other", "legacy-v1", "legacy"), {"200": 1.5})]
    out += secured(legacy, PROBE, PROBE, False)
    gateway = Workload("bookinfo", "gateway-v1", "gateway")
    out += secured([s | {"labels": s["labels"] | {
        "destination_service_namespace": "other",
        "destination_service": "gateway.other.svc.cluster.local",
        "destination_service_name": "gateway"}}
        for s in request_edge(LOADGEN, gateway, {"200": 2.5})], LOADGEN, gateway, True)
    out += secured(tcp_edge(CART, REDIS, sent=900.0, received=300.0), CART, REDIS, True)
    out += secured(tcp_edge(CART, DB, sent=100.0, received=50.0), CART, DB, False)
    return out


@pytest.fixture(scope="module")
def prom(prometheus_with: PrometheusPool) -> Prometheus:
    server = prometheus_with(series(), QUERY_TIME)
    return Prometheus(PrometheusSettings(url=server.url))


class OneQuerySecurity:
    """The security appender as it was: one query per metric over Kiali's rows (source
    workload or destination service in a requested namespace), read by the same rules (its
    rows given to SecurityPolicy as the answer it reads in Kiali's order)."""

    name = SECURITY_POLICY

    def queries(self, ctx: AppenderContext) -> list[Query]:
        o = ctx.options
        return [Query(rate_at_either_end(
            metric, (*(tcp_app_filter(o.rates) if protocol else ()),
                     reporter("destination", o.rates)),
            o.namespaces, o.duration, LABELS, ctx.mesh.scope()), LABELS, joined=True)
            for protocol, metric in security_metrics(o)]

    def apply(self, g: Any, results: list[list[Row]], ctx: AppenderContext) -> None:
        SecurityPolicy().apply(g, [part for rows in results for part in ([], rows)], ctx)


def old_plan_graph(prom: Prometheus, options: GraphOptions) -> bytes:
    mesh = MeshConfig()
    others = frozenset({"responseTime", "throughput"})
    traffic = namespace_queries(replace(options, appenders=others), mesh)
    ctx = AppenderContext(options, mesh)
    appenders = [OneQuerySecurity() if isinstance(a, SecurityPolicy) else a
                 for a in ISTIO.appenders(options)]
    queries = QueryPlan(traffic, [(a, a.queries(ctx)) for a in appenders], ISTIO)
    answers = prom.query_each(queries.batch(), QUERY_TIME)
    return orjson.dumps(to_config(assemble(Assembly(queries, options, mesh, None), answers)))


def new_plan_graph(prom: Prometheus, options: GraphOptions) -> bytes:
    return orjson.dumps(to_config(build_graph(prom, options, MeshConfig())))


@pytest.mark.parametrize("graph_type", [ids.WORKLOAD, ids.APP, ids.VERSIONED_APP, ids.SERVICE])
@pytest.mark.parametrize("idle", [False, True])
@pytest.mark.parametrize("shards", [1, 2])
def test_it_draws_the_graph_the_appenders_own_query_drew(
        prom: Prometheus, graph_type: str, idle: bool, shards: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The same graph whether the big queries are split by namespace or not."""
    options = GraphOptions(namespaces=NAMESPACES, query_time=QUERY_TIME, duration=60,
                           graph_type=graph_type, include_idle_edges=idle)
    monkeypatch.setattr(queries, "SHARDS", shards)
    new = new_plan_graph(prom, options)
    monkeypatch.setattr(queries, "SHARDS", 1)
    assert new == old_plan_graph(prom, options)
    assert b'"isMTLS"' in new and b"spiffe://" in new and b"gateway" in new


def test_it_shows_the_mixed_edge_as_kiali_would(prom: Prometheus) -> None:
    """productpage-v1 -> [reviews]: 3.75/s of mTLS in 200s and 1/s of 503s (both mTLS),
    1.25/s plain per reviews workload: 4.75 of 6 on mTLS (79 %)"""
    options = GraphOptions(namespaces=NAMESPACES, query_time=QUERY_TIME, duration=60,
                           inject_service_nodes=True)
    g = build_graph(prom, options, MeshConfig())
    md = g.edges["wl_Kubernetes_bookinfo_productpage-v1", "svc_Kubernetes_bookinfo_reviews",
                 "http"]["md"]
    assert md["isMTLS"] == "79"
    assert md["http"] == pytest.approx(12.0)


def test_it_sends_the_inbound_answer_once(prom: Prometheus) -> None:
    options = GraphOptions(namespaces=NAMESPACES, query_time=QUERY_TIME, duration=60)
    batch = plan(options, MeshConfig()).batch()
    inbound = [q for q in namespace_queries(options, MeshConfig()) if q.kind == INBOUND]
    for query in inbound:
        readers = [q for q in batch if q.answer() == query.query.answer()]
        assert len(readers) == 2  # the traffic and the security appender
    assert len({q.answer() for q in batch}) == len(batch) - len(inbound)


def test_it_splits_the_big_queries_by_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queries, "SHARDS", 2)
    options = GraphOptions(namespaces=("a", "b", "c"), query_time=QUERY_TIME, duration=60)
    split = [(q.metric, q.kind, q.query.promql) for q in namespace_queries(options, MeshConfig())
             if q.metric == queries.REQUESTS and q.kind != queries.UNSERVICED]
    assert [(metric, kind) for metric, kind, _ in split] == [
        (queries.REQUESTS, INBOUND), (queries.REQUESTS, INBOUND),
        (queries.REQUESTS, queries.OUTBOUND), (queries.REQUESTS, queries.OUTBOUND)]
    assert 'destination_workload_namespace="a"}' in split[0][2]
    assert 'destination_workload_namespace=~"b|c"}' in split[1][2]
    assert 'source_workload_namespace="a"}' in split[2][2]
    assert 'source_workload_namespace=~"b|c"}' in split[3][2]


def test_it_keeps_the_plain_inbound_query_without_the_security_appender() -> None:
    """Kiali's route with appenders=responseTime: nothing grouped by security"""
    options = GraphOptions(namespaces=NAMESPACES, query_time=QUERY_TIME, duration=60,
                           appenders=frozenset({"responseTime"}))
    batch = plan(options, MeshConfig()).batch()
    assert not any("connection_security_policy" in q.promql for q in batch)
    assert not any(q.summed_away for q in batch)
