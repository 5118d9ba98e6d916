"""Health on numbers (graph/health_arrays.py) against health on dicts (graph/health.py):
the same statuses on every node and edge of maps a reused Layout counted."""

from __future__ import annotations

import random

from graph import build
from graph.cells import CountedMap, whole
from graph.health import DEFAULT_TOLERANCES, HealthConfig, Rule, Tolerance, annotate_health
from graph.health_arrays import annotate_counted
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import Row
from tests.mesh import request_edge, traffic_answers
from tests.traffic_mesh import (
    A1,
    A2,
    B1,
    B2,
    jitter,
    last_layout,
    merged,
    mesh,
    traffic_queries,
)

Statuses = tuple[dict[str, str], dict[tuple[str, str, str], str]]


def statuses(tm: CountedMap) -> Statuses:
    return ({node_id: n["md"]["healthStatus"] for node_id, n in tm.nodes.items()},
            {(u, v, p): d["md"]["healthStatus"] for u, v, p, d in tm.edges()})


def both(options: GraphOptions, answers: list[list[Row]],
         config: HealthConfig) -> tuple[Statuses, Statuses]:
    """(on numbers, on dicts) of one build's answers, finalized as a build does."""
    judged = []
    for on_numbers in (True, False):
        tm = merged(options, answers)
        assert isinstance(tm, CountedMap)
        build.mark_outsiders(tm, options.namespaces, MeshConfig())
        build.mark_roots(tm)
        if on_numbers:
            assert annotate_counted(tm, config), "a reused layout is judged on numbers"
        else:
            whole(tm)  # as build.judge_map does
            annotate_health(tm.nodes, tm.edges(), config)
        judged.append(statuses(tm))
    return judged[0], judged[1]


def warm(options: GraphOptions, answers: list[list[Row]], config: HealthConfig) -> None:
    """A layout's first map is judged on dicts (annotate_counted declines it)."""
    tm = merged(options, answers)
    assert isinstance(tm, CountedMap)
    if not annotate_counted(tm, config):
        whole(tm)
        annotate_health(tm.nodes, tm.edges(), config)


def test_it_falls_on_a_band_edge_as_the_loops_do() -> None:
    """a1 -> b1 (HTTP 200 at 9/s, 503 at 1/s: 10.0 % exactly, Failure), a2 -> b1 (HTTP
    200 at 9/s, 404 at 1/s: 10.0 %, Degraded), b1-v2 -> a1 (HTTP 200 at 0.7, 503 at 0.2,
    500 at 0.1: an error sum whose value depends on its addition order); no service nodes"""
    options = GraphOptions(namespaces=("a", "b"), query_time=1000, inject_service_nodes=False)
    answers = traffic_answers(traffic_queries(options), (
        request_edge(A1, B1, {"200": 9.0, "503": 1.0})
        + request_edge(A2, B1, {"200": 9.0, "404": 1.0})
        + request_edge(B2, A1, {"200": 0.7, "503": 0.2, "500": 0.1})))
    config = HealthConfig.default()
    warm(options, answers, config)
    numbers, dicts = both(options, answers, config)
    assert numbers == dicts
    edges = {(u.split("_")[-1], v.split("_")[-1]): s for (u, v, _), s in numbers[1].items()}
    assert edges[("a1-v1", "b1-v1")] == "Failure"
    assert edges[("a2-v1", "b1-v1")] == "Degraded"


def test_it_matches_the_dicts_on_a_mixed_mesh_build_after_build() -> None:
    """Every pair of a1, a2 (ns a), b1-v1, b1-v2 (ns b), c1 (ns c, outside) calls (HTTP,
    gRPC or TCP), both reporters with values of their own, unknown -> b1-v1; five builds
    of new, awkward values on one layout"""
    rng = random.Random(7)
    options = GraphOptions(namespaces=("a", "b"), query_time=1000)
    answers = traffic_answers(traffic_queries(options), mesh(rng))
    config = HealthConfig.default()
    warm(options, answers, config)
    layout = last_layout()
    for _ in range(5):
        answers = jitter(answers, rng)
        numbers, dicts = both(options, answers, config)
        assert numbers == dicts
        assert last_layout() is layout


def test_it_follows_a_custom_rule_and_a_changed_config_on_the_same_layout() -> None:
    """a1 -> b1 (HTTP 200 at 9.5/s, 503 at 0.5/s: 5 %), a2 -> b1-v2 (same), b1-v2 -> a1
    (HTTP 200 at 9.5/s, 404 at 0.5/s). Default tolerances: a1 -> b1 Degraded. Then a rule
    for b1-v1 only (inbound 5XX Failure at 5 %): a1 -> b1 Failure, a2 -> b1-v2 still
    Degraded, on the layout the default config was judged on; no service nodes"""
    options = GraphOptions(namespaces=("a", "b"), query_time=1000, inject_service_nodes=False)
    answers = traffic_answers(traffic_queries(options), (
        request_edge(A1, B1, {"200": 9.5, "503": 0.5})
        + request_edge(A2, B2, {"200": 9.5, "503": 0.5})
        + request_edge(B2, A1, {"200": 9.5, "404": 0.5})))
    default = HealthConfig.default()
    warm(options, answers, default)
    layout = last_layout()
    numbers, dicts = both(options, answers, default)
    assert numbers == dicts
    strict = (Tolerance("5XX", "http", "inbound", degraded=1, failure=5),)
    custom = HealthConfig((Rule(strict, namespace="b", name="b1-v1"),
                           Rule(DEFAULT_TOLERANCES)))
    numbers, dicts = both(options, answers, custom)
    assert numbers == dicts
    assert last_layout() is layout
    edges = {(u.split("_")[-1], v.split("_")[-1]): s for (u, v, _), s in numbers[1].items()}
    assert edges[("a1-v1", "b1-v1")] == "Failure"
    assert edges[("a2-v1", "b1-v2")] == "Degraded"
    nodes = {node_id.split("_")[-1]: s for node_id, s in numbers[0].items()}
    assert nodes["b1-v1"] == "Failure"
    # And back: the default config's plan still judges as the dicts do.
    numbers, dicts = both(options, answers, default)
    assert numbers == dicts
    assert numbers[1] != both(options, answers, custom)[0][1]


def test_it_reads_a_nan_rate_as_the_dicts_do() -> None:
    """a1 -> b1 (HTTP 200 at 9/s, 503 at NaN: a counter that went NaN), a2 -> b1 (HTTP 200
    at 9/s, 404 at 1/s); no service nodes. Health on dicts judges a NaN total as traffic
    (`total <= 0` is false: Healthy, no band reached) on the edge and leaves it out of its
    nodes (`total > 0` is false); health on numbers must say the same on a reused layout."""
    options = GraphOptions(namespaces=("a", "b"), query_time=1000, inject_service_nodes=False)
    answers = traffic_answers(traffic_queries(options), (
        request_edge(A1, B1, {"200": 9.0, "503": 1.0})
        + request_edge(A2, B1, {"200": 9.0, "404": 1.0})))
    config = HealthConfig.default()
    warm(options, answers, config)
    nan = [[(key, float("nan")) if value == 1.0 and "503" in key else (key, value)
            for key, value in rows] for rows in answers]
    assert any(value != value for rows in nan for _, value in rows)
    numbers, dicts = both(options, nan, config)
    assert numbers == dicts
