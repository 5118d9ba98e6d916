"""The security appender on numbers (graph/sources/istio/security_counts.py) against its
row path (security.policies_by_row): the same isMTLS and principals on every edge, over
builds whose values change while the keys stay (the counting kept), for the graph types it
runs on.

    requested: bookinfo                           elsewhere: outside, other

    productpage-v1 --(plain 0.1/s "unknown", then mTLS 0.2/s as pod-a, mTLS 0.7/s as pod-b)-->
        [reviews] -> reviews-v1        (the first mTLS principals replace the plain ones)
    productpage-v1 --(mTLS 1/3 /s, plain 2/3 /s)--> [details] -> details-v1
    reviews-v1 --(plain only, 1e-9 /s)--> [ratings] -> ratings-v1     (no isMTLS)
    reviews-v2 --(TCP mTLS 900 B/s + plain 300 B/s)--> [ratings] -> ratings-v1
    outside/loadgen --(mTLS)--> [bookinfo/legacy] -> other/legacy-v1  (the outside answer)
    outside/probe --(mTLS, request_protocol "carrier-pigeon")--> [productpage]  (not drawn)
"""

from __future__ import annotations

import copy
import math
from typing import Any

import networkx as nx
import pytest

from graph import ids
from graph.cells import COUNTED
from graph.options import GraphOptions
from graph.prometheus import Row
from graph.sources.istio import security_counts
from graph.sources.istio.labels import SecurityLabels
from graph.sources.istio.queries import secured_record
from graph.sources.istio.security import (
    SecurityPolicy,
    counted_policies,
    policies_by_row,
    security_metrics,
)
from graph.sources.istio.security_counts import Counted
from tests.mesh import (
    PRODUCTPAGE,
    RATINGS,
    REVIEWS_V1,
    REVIEWS_V2,
    Workload,
    request_edge,
    rows,
    tcp_edge,
    with_labels,
)
from tests.test_graph_appenders import build, context

DETAILS = Workload("bookinfo", "details-v1", "details", service="details")
LOADGEN = Workload("outside", "loadgen", "loadgen")
PROBE = Workload("outside", "probe", "probe")
LEGACY = Workload("other", "legacy-v1", "legacy", service="legacy")
LEGACY_SERVICE_NS = {"destination_service_namespace": "bookinfo",
                     "destination_service": "legacy.bookinfo.svc.cluster.local",
                     "destination_service_name": "legacy"}


def sa(name: str) -> str:
    return f"spiffe://cluster.local/ns/bookinfo/sa/{name}"


def mtls(source: str, dest: str) -> dict[str, str]:
    return {"connection_security_policy": "mutual_tls", "source_principal": sa(source),
            "destination_principal": sa(dest)}


PLAIN = {"connection_security_policy": "none", "source_principal": "unknown",
         "destination_principal": "unknown"}


def mesh_series(scale: float) -> list[dict[str, Any]]:
    """The mesh above, every rate times `scale` (the keys stay the same)."""
    def edge(src: Workload, dst: Workload, rate: float, **extra: str) -> list[dict[str, Any]]:
        return with_labels(request_edge(src, dst, {"200": rate * scale}), **extra)

    return (edge(PRODUCTPAGE, REVIEWS_V1, 0.1, **PLAIN)
            + edge(PRODUCTPAGE, REVIEWS_V1, 0.2, **mtls("pod-a", "reviews"))
            + edge(PRODUCTPAGE, REVIEWS_V1, 0.7, **mtls("pod-b", "reviews"))
            + edge(PRODUCTPAGE, DETAILS, 1 / 3, **mtls("productpage", "details"))
            + edge(PRODUCTPAGE, DETAILS, 2 / 3, **PLAIN)
            + edge(REVIEWS_V1, RATINGS, 1e-9, **PLAIN)
            + with_labels(tcp_edge(REVIEWS_V2, RATINGS, 900.0 * scale, 900.0 * scale),
                          **mtls("reviews", "ratings"))
            + with_labels(tcp_edge(REVIEWS_V2, RATINGS, 300.0 * scale, 300.0 * scale),
                          **PLAIN))


def outside_series(scale: float) -> list[dict[str, Any]]:
    return (with_labels(request_edge(LOADGEN, LEGACY, {"200": 4.0 * scale}),
                        **mtls("loadgen", "legacy"), **LEGACY_SERVICE_NS)
            + with_labels(request_edge(PROBE, PRODUCTPAGE, {"200": 1.5 * scale},
                                       protocol="carrier-pigeon"), **mtls("probe", "pp")))


def answers(options: GraphOptions, scale: float) -> list[list[Row]]:
    """What Prometheus answers the appender's queries: per metric its inbound answer, then
    the outside one."""
    series, outside = mesh_series(scale), outside_series(scale)
    out: list[list[Row]] = []
    for _, metric in security_metrics(options):
        record = secured_record(metric)
        assert record is not None
        out.append(rows([s for s in series if s["metric"] == metric], record._fields,
                        "destination"))
        out.append(rows([s for s in outside if s["metric"] == metric], SecurityLabels._fields,
                        "destination"))
    return out


def security_of(g: nx.MultiDiGraph) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    return {(u, v, k): tuple(d["md"].get(f) for f in
                             ("isMTLS", "sourcePrincipal", "destPrincipal"))
            for u, v, k, d in g.edges(keys=True, data=True)}


@pytest.mark.parametrize("graph_options", [
    {"inject_service_nodes": True}, {"inject_service_nodes": False},
    {"graph_type": ids.APP}, {"graph_type": ids.VERSIONED_APP},
], ids=["workload", "workload-no-services", "app", "versioned-app"])
def test_it_gives_the_row_paths_shares_and_principals(graph_options: dict[str, Any]) -> None:
    options = GraphOptions(namespaces=("bookinfo",), query_time=1000, **graph_options)
    appender = SecurityPolicy()
    first = None
    for scale in (1.0, 3.0, 0.1 + 0.2):
        g = build(mesh_series(scale), **graph_options)
        results = answers(options, scale)
        by_row, on_numbers = g, copy.deepcopy(g)
        appender.annotate(by_row, policies_by_row(results, options), context(options))
        counted = appender.prepare(results, context(options))
        assert isinstance(counted, Counted)
        appender.annotate(on_numbers, counted, context(options))
        assert security_of(on_numbers) == security_of(by_row)
        # Kept while the rows' keys stay the same.
        first = first or counted.counting
        assert counted.counting is first
    found = security_of(on_numbers)
    assert any(share is not None for share, _, _ in found.values())
    assert any(source == sa("pod-a") for _, source, _ in found.values())


def test_it_counts_afresh_when_the_rows_change_and_not_on_a_nan() -> None:
    """productpage-v1 -> [reviews] -> reviews-v1 as above; then a row more; then a NaN;
    then a key with a lone surrogate"""
    options = GraphOptions(namespaces=("bookinfo",), query_time=1000)
    results = answers(options, 1.0)
    kept = counted_policies(results, options)
    assert kept is not None
    more = [list(answer) for answer in results]
    more[0].append(rows(with_labels(request_edge(REVIEWS_V2, RATINGS, {"200": 1.0}),
                                    **mtls("reviews", "ratings")),
                        secured_record("istio_requests_total")._fields,  # type: ignore[union-attr]
                        "destination")[0])
    again = counted_policies(more, options)
    assert again is not None and again.counting is not kept.counting
    more[0][0] = (more[0][0][0], math.nan)
    assert counted_policies(more, options) is None
    more[0][0] = (more[0][0][0] + "\ud800", 1.0)  # a key orjson cannot write
    assert counted_policies(more, options) is None


@pytest.mark.parametrize("graph_options", [
    {"inject_service_nodes": True}, {"inject_service_nodes": False},
    {"graph_type": ids.APP}, {"graph_type": ids.VERSIONED_APP},
], ids=["workload", "workload-no-services", "app", "versioned-app"])
def test_it_writes_by_md_number_what_it_writes_edge_by_edge(
        graph_options: dict[str, Any]) -> None:
    """The mesh above, three builds of new values on one layout: the fields written into
    the layout's mds by number are those found edge by edge in the graph, in the same
    order among each md's keys (after what other appenders set before)."""
    options = GraphOptions(namespaces=("bookinfo",), query_time=1000, **graph_options)
    appender = SecurityPolicy()
    for scale in (1.0, 3.0, 0.1 + 0.2):
        g = build(mesh_series(scale), **graph_options)
        for _, _, d in g.edges(data=True):
            d["md"]["responseTime"] = "12"  # an appender before this one
        counted = appender.prepare(answers(options, scale), context(options))
        assert isinstance(counted, Counted)
        by_edge, by_number = g, copy.deepcopy(g)
        security_counts.annotate_by_edge(by_edge, counted)
        appender.annotate(by_number, counted, context(options))
        # Written by number: the placement in the graph's layout is kept.
        layout = by_number.graph[COUNTED].layout
        assert security_counts.placement_of(layout, counted.counting) is not None
        assert counted.counting.digest in security_counts._placements[layout]
        assert security_of(by_number) == security_of(by_edge)
        assert [list(d["md"]) for _, _, d in by_number.edges(data=True)] == \
            [list(d["md"]) for _, _, d in by_edge.edges(data=True)]
    assert any(share is not None for share, _, _ in security_of(by_number).values())


def test_it_finds_edges_one_by_one_in_a_graph_not_its_layouts() -> None:
    """The mesh above, in a graph without its layout's numbers, and in one with a node
    fewer than its layout (ratings-v1 gone): the fields are found edge by edge"""
    options = GraphOptions(namespaces=("bookinfo",), query_time=1000)
    counted = SecurityPolicy().prepare(answers(options, 1.0), context(options))
    assert isinstance(counted, Counted)
    without_numbers = build(mesh_series(1.0))
    del without_numbers.graph[COUNTED]
    node_fewer = build(mesh_series(1.0))
    node_fewer.remove_node(next(n for n, d in node_fewer.nodes(data=True)
                                if d.get("workload") == "ratings-v1"))
    for g in (without_numbers, node_fewer):
        expected = copy.deepcopy(g)
        security_counts.annotate_by_edge(expected, counted)
        SecurityPolicy().annotate(g, counted, context(options))
        assert security_of(g) == security_of(expected)
        assert any(share is not None for share, _, _ in security_of(g).values())
