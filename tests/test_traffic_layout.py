"""The numeric core (graph/cells.py) against Kiali's algorithm written out row by row.

`reference` below is the traffic builder as it was before the numeric core: each row added
to its namespace maps one value at a time, a series counted once per map, the maps merged
with graph/build.py's merge_into. The core must give the same merged map: the same nodes
and edges in the same order, every rate the same float (Kiali's string rounding needs
bit-identical sums), responses in the same order, each edge's source_md the copy Kiali
would point it at.
"""

from __future__ import annotations

import random

import pytest

from graph.options import GraphOptions
from graph.sources.istio import namespace_maps
from tests.mesh import request_edge, traffic_answers
from tests.traffic_mesh import (
    A1,
    A2,
    B1,
    TYPES,
    assert_same_map,
    jitter,
    last_layout,
    merged,
    mesh_answers,
    options_of,
    reference,
    traffic_queries,
)


@pytest.mark.parametrize("graph_type,inject", TYPES)
def test_it_merges_namespace_maps_as_kiali_does_row_by_row(graph_type: str,
                                                           inject: bool) -> None:
    """a1, a2 (ns a); b1-v1, b1-v2 (ns b); c1 (ns c, outside); unknown -> b1-v1.
    Every pair calls (HTTP 200/503, gRPC OK/UNAVAILABLE, or TCP), each reporter its own
    rate; a1 -> b1 and b1-v2 -> a2 also answer with flags UF and DC: a cross-namespace
    edge is in the maps of a and b, each with the copy its own query brought first, and
    Kiali's merge keeps one"""
    rng = random.Random(7)
    options = options_of(graph_type, inject)
    answers = mesh_answers(options, rng)
    for _ in range(3):
        answers = jitter(answers, rng)
        assert_same_map(merged(options, answers), reference(options, answers))


def test_it_counts_the_first_reporters_copy_of_a_series_once() -> None:
    """a1 -> b1 (HTTP 200): the destination reports 3/s, the source 5/s. In b's map the
    inbound (destination's) copy comes first and counts; in a's the outbound (source's);
    a1 keeps its own namespace's copy (httpOut 5), b1 its own (httpIn 3)"""
    options = GraphOptions(namespaces=("a", "b"), query_time=1000, inject_service_nodes=False)
    queries = traffic_queries(options)
    series = (request_edge(A1, B1, {"200": 3.0}, reporters=("destination",))
              + request_edge(A1, B1, {"200": 5.0}, reporters=("source",)))
    answers = traffic_answers(queries, series)
    tm = merged(options, answers)
    a1, b1 = (f"wl_Kubernetes_{w.namespace}_{w.workload}" for w in (A1, B1))
    assert tm.nodes[a1]["md"]["httpOut"] == 5.0
    assert tm.nodes[b1]["md"]["httpIn"] == 3.0
    # The edge is a's copy (a1's own namespace is merged first): the source's 5/s.
    assert tm.out[a1][(b1, "http")]["md"]["http"] == 5.0
    assert_same_map(tm, reference(options, answers))


def test_it_reuses_a_layout_while_the_keys_stay_and_makes_one_when_they_change() -> None:
    """a1 -> b1 (HTTP 200, 503), a2 -> a1 (gRPC): three builds with new values reuse
    the first build's layout; a new response code, then a rate gone to zero, make new
    ones; every build equals the row-by-row maps"""
    rng = random.Random(3)
    options = GraphOptions(namespaces=("a", "b"), query_time=1000)
    queries = traffic_queries(options)
    series = (request_edge(A1, B1, {"200": 3.0, "503": 0.5})
              + request_edge(A2, A1, {"grpc:0": 2.0}, protocol="grpc"))
    answers = traffic_answers(queries, series)
    assert_same_map(merged(options, answers), reference(options, answers))
    first = last_layout()
    for _ in range(3):
        answers = jitter(answers, rng)
        assert_same_map(merged(options, answers), reference(options, answers))
        assert last_layout() is first
    answers = traffic_answers(queries, series + request_edge(A1, B1, {"404": 0.25}))
    assert_same_map(merged(options, answers), reference(options, answers))
    second = last_layout()
    assert second is not first
    answers = [[(key, 0.0 if i == 0 else value) for i, (key, value) in enumerate(rows)]
               for rows in answers]
    assert_same_map(merged(options, answers), reference(options, answers))
    assert last_layout() is not second


def test_it_adds_in_row_order_for_bit_identical_sums() -> None:
    """a1 -> b1 (HTTP 200 at 0.1/s, 503 at 0.2/s, 404 at 0.3/s): b1's httpIn is
    (0.1 + 0.2) + 0.3, not 0.1 + (0.2 + 0.3), as Kiali adds them"""
    options = GraphOptions(namespaces=("b",), query_time=1000, inject_service_nodes=False)
    queries = traffic_queries(options)
    answers = traffic_answers(queries, request_edge(A1, B1, {"200": 0.1, "503": 0.2,
                                                             "404": 0.3}))
    tm = merged(options, answers)
    b1 = f"wl_Kubernetes_b_{B1.workload}"
    assert tm.nodes[b1]["md"]["httpIn"] == (0.1 + 0.2) + 0.3 != 0.1 + (0.2 + 0.3)
    assert_same_map(tm, reference(options, answers))


def test_it_keeps_layouts_up_to_a_number_of_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    """a1 -> b1 (HTTP 200), drawn for namespace a, then b, then a again: with room for one
    layout only, each scope's layout replaces the other's, and a comes back right"""
    monkeypatch.setattr(namespace_maps.LAYOUTS, "limit", 1)
    monkeypatch.setattr(namespace_maps.LAYOUTS, "by_scope", {})
    series = request_edge(A1, B1, {"200": 2.0})
    for namespace in ("a", "b", "a"):
        options = GraphOptions(namespaces=(namespace,), query_time=1000)
        queries = traffic_queries(options)
        answers = traffic_answers(queries, series)
        assert_same_map(merged(options, answers), reference(options, answers))
        assert len(namespace_maps.LAYOUTS.by_scope) == 1
