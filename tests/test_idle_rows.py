"""Idle rows are dropped on reading (Query.positive): the rows PromQL's `> 0` kept.

Kiali's traffic queries end in `> 0` (idle edges left out unless asked). Meshlens sends
them without it and drops the rows on reading, which spares Prometheus a pass over every
row of every answer. Checked through a real Prometheus, query by query (zero, NaN, a rate
that rounds to 0 but is kept, security labels summed away after the comparison), and
graph by graph against the plan with `> 0` sent.

    requested: bookinfo

    productpage-v1 --(200 2/s; 503 idle, 0/s)--> [reviews] -> reviews-v1
    productpage-v1 --(200 0.0004/s: rounds to 0, still an edge)--> [details] -> details-v1
    productpage-v1 --(idle, 0/s)--> [ratings] -> ratings-v1
    reviews-v1 --(mTLS idle, plain 0.5/s; on each of two pods)--> [ratings] -> ratings-v1
    bookinfo/cart --(TCP idle)--> bookinfo/redis
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest

from graph import ids
from graph.build import build_graph
from graph.cytoscape_json import write_graph
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import Prometheus, PrometheusSettings, Query, Row
from tests.mesh import Workload, request_edge, tcp_edge, with_labels
from tests.support.prometheus import PrometheusPool

QUERY_TIME = 1700000000
NAMESPACES = ("bookinfo",)

PRODUCTPAGE = Workload("bookinfo", "productpage-v1", "productpage", service="productpage")
REVIEWS = Workload("bookinfo", "reviews-v1", "reviews", service="reviews")
DETAILS = Workload("bookinfo", "details-v1", "details", service="details")
RATINGS = Workload("bookinfo", "ratings-v1", "ratings", service="ratings")
CART = Workload("bookinfo", "cart", "cart", service="cart")
REDIS = Workload("bookinfo", "redis", "redis", service="redis")


def series() -> list[dict[str, Any]]:
    out = request_edge(PRODUCTPAGE, REVIEWS, {"200": 2.0, "503": 0.0})
    out += request_edge(PRODUCTPAGE, DETAILS, {"200": 0.0004})
    out += request_edge(PRODUCTPAGE, RATINGS, {"200": 0.0})
    for pod in ("p1", "p2"):
        out += with_labels(request_edge(REVIEWS, RATINGS, {"200": 0.0}), pod=pod,
                           connection_security_policy="mutual_tls")
        out += with_labels(request_edge(REVIEWS, RATINGS, {"200": 0.5}), pod=pod,
                           connection_security_policy="none")
    out += tcp_edge(CART, REDIS, sent=0.0, received=0.0)
    return out


@pytest.fixture(scope="module")
def prom(prometheus_with: PrometheusPool) -> Prometheus:
    server = prometheus_with(series(), QUERY_TIME)
    return Prometheus(PrometheusSettings(url=server.url))


def same_rows(a: list[Row], b: list[Row]) -> bool:
    """Equal keys in equal order, values equal bit for bit (NaN equal to NaN)."""
    return [k for k, _ in a] == [k for k, _ in b] and all(
        x == y or (math.isnan(x) and math.isnan(y)) for (_, x), (_, y) in zip(a, b, strict=True))


RATE = "rate(istio_requests_total[60s])"


@pytest.mark.parametrize("vector", [
    f"sum by (destination_workload, response_code) ({RATE})",
    f"sum by (destination_workload) ({RATE}) / sum by (destination_workload) ({RATE})",  # 0/0
    "vector(0.0004)", "vector(-1)", "vector(0)",
])
def test_it_keeps_the_rows_promql_keeps(prom: Prometheus, vector: str) -> None:
    labels = ("destination_workload", "response_code") if "response_code" in vector else (
        ("destination_workload",) if "sum" in vector else ())
    compared = Query(f"{vector} > 0", labels)
    read = Query(vector, labels, positive=True)
    assert same_rows(prom.query(read, QUERY_TIME), prom.query(compared, QUERY_TIME))
    rounded = replace(read, round_to=0.001)
    assert same_rows(prom.query(rounded, QUERY_TIME),
                     prom.query(replace(compared, round_to=0.001), QUERY_TIME))


def test_it_compares_before_summing_away(prom: Prometheus) -> None:
    """reviews-v1 -> ratings-v1, as the traffic reads the inbound answer it shares with
    the security appender: grouped by policy, compared, then the policy summed away"""
    by = "destination_workload, connection_security_policy"
    vector = f'sum by ({by}) (rate(istio_requests_total{{reporter="destination"}}[60s]))'
    compared = Query(f"{vector} > 0", ("destination_workload",),
                     summed_away=("connection_security_policy",))
    read = replace(compared, promql=vector, positive=True)
    assert same_rows(prom.query(read, QUERY_TIME), prom.query(compared, QUERY_TIME))
    assert ("ratings-v1", 1.0) in prom.query(read, QUERY_TIME)  # 0.5/s on each pod


class ComparedInQuery:
    """The plan as Kiali writes it: `> 0` sent in each query that drops idle rows."""

    def __init__(self, prom: Prometheus) -> None:
        self.prom = prom

    def query_each(self, queries: list[Query], at: int) -> Any:
        # remote=None: the comparison is in the PromQL text, which a remote read ignores.
        return self.prom.query_each(
            [replace(q, promql=f"{q.promql} > 0", positive=False, remote=None)
             if q.positive else q for q in queries], at)


@pytest.mark.parametrize("graph_type", [ids.WORKLOAD, ids.APP, ids.VERSIONED_APP, ids.SERVICE])
@pytest.mark.parametrize("idle", [False, True])
def test_it_draws_the_graph_of_the_plan_with_the_comparison_sent(
        prom: Prometheus, graph_type: str, idle: bool) -> None:
    options = GraphOptions(namespaces=NAMESPACES, query_time=QUERY_TIME, duration=60,
                           graph_type=graph_type, include_idle_edges=idle)
    mesh = MeshConfig()
    read = write_graph(build_graph(prom, options, mesh)).body()
    sent = write_graph(build_graph(ComparedInQuery(prom), options, mesh)).body()  # type: ignore[arg-type]
    assert read == sent
    assert b"ratings" in read and (b"redis" in read) == idle
