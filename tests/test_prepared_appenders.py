"""Appenders read their rows as soon as their own answers are in (prepare), before the
traffic is merged, and lay them on the graph once it is there (annotate): the same graph
as reading them after the merge, in any order the answers come.

    loadgen -> productpage (plain) -> reviews-v1 (mTLS) -> ratings (mTLS, 20 % 500s)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import pytest

from graph import ids
from graph.appender_context import AppenderContext
from graph.build import Assembly, QueryPlan, assemble, build_graph, plan
from graph.cytoscape import to_config
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import Prometheus, PrometheusSettings, Query, Row
from tests.mesh import Workload, request_edge, with_labels
from tests.support.prometheus import PrometheusPool

QUERY_TIME = 1700000000
LOADGEN = Workload("outside", "loadgen", "loadgen")
PRODUCTPAGE = Workload("bookinfo", "productpage-v1", "productpage", service="productpage")
REVIEWS = Workload("bookinfo", "reviews-v1", "reviews", "v1", service="reviews")
RATINGS = Workload("bookinfo", "ratings-v1", "ratings", service="ratings")


def secured(src: Workload, dst: Workload, codes: dict[str, float],
            mtls: bool) -> list[dict[str, Any]]:
    def principal(w: Workload) -> str:
        return f"spiffe://cluster.local/ns/{w.namespace}/sa/{w.workload}" if mtls else "unknown"

    return with_labels(request_edge(src, dst, codes),
                       connection_security_policy="mutual_tls" if mtls else "none",
                       source_principal=principal(src), destination_principal=principal(dst))


@pytest.fixture(scope="module")
def prom(prometheus_with: PrometheusPool) -> Prometheus:
    series = (secured(LOADGEN, PRODUCTPAGE, {"200": 5.0}, False)
              + secured(PRODUCTPAGE, REVIEWS, {"200": 3.0}, True)
              + secured(REVIEWS, RATINGS, {"200": 4.0, "500": 1.0}, True))
    return Prometheus(PrometheusSettings(url=prometheus_with(series, QUERY_TIME).url))


class Watched:
    """An appender, noting how many traffic answers the build had applied when it read its
    rows, and whether it was handed the graph or only its prepared rows."""

    def __init__(self, appender: Any, assembly: list[Assembly], seen: list[str]) -> None:
        self.appender, self.assembly, self.seen = appender, assembly, seen
        self.name = appender.name

    def queries(self, ctx: AppenderContext) -> list[Query]:
        return list(self.appender.queries(ctx))

    def prepare(self, results: Sequence[list[Row]], ctx: AppenderContext) -> Any:
        self.seen.append(f"{self.name} prepared after {self.assembly[0].applied_traffic} "
                         "traffic answers")
        return self.appender.prepare(results, ctx)

    def annotate(self, g: Any, prepared: Any, ctx: AppenderContext) -> None:
        self.appender.annotate(g, prepared, ctx)

    def apply(self, g: Any, results: Sequence[list[Row]], ctx: AppenderContext) -> None:
        raise AssertionError("an appender with prepare() is not applied in one step")


def appenders_first(prom: Prometheus, options: GraphOptions,
                    seen: list[str]) -> bytes:
    """The graph with every appender's answer arriving before any traffic answer (the
    traffic's in reverse)."""
    mesh = MeshConfig()
    queries = plan(options, mesh)
    holder: list[Assembly] = []
    watched = QueryPlan(queries.traffic, [(Watched(a, holder, seen), qs)
                                          for a, qs in queries.appenders], queries.dialect)
    holder.append(Assembly(watched, options, mesh, None))
    answers = sorted(prom.query_each(watched.batch(), QUERY_TIME),
                     key=lambda answer: -answer[0])
    return orjson.dumps(to_config(assemble(holder[0], answers)))


@pytest.mark.parametrize("graph_type", [ids.WORKLOAD, ids.SERVICE])
def test_it_reads_appender_rows_before_the_traffic_and_draws_the_same_graph(
        prom: Prometheus, graph_type: str) -> None:
    options = GraphOptions(namespaces=("bookinfo",), graph_type=graph_type, duration=600,
                           query_time=QUERY_TIME)
    seen: list[str] = []
    early = appenders_first(prom, options, seen)
    assert seen and all(note.endswith("after 0 traffic answers") for note in seen)
    assert early == orjson.dumps(to_config(build_graph(prom, options, MeshConfig())))
    edges = [e["data"] for e in orjson.loads(early)["elements"]["edges"]]
    assert any(e.get("isMTLS") == "100" for e in edges)
