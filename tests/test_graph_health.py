"""Health bands with Kiali's default tolerances, for edges and nodes."""

from __future__ import annotations

import random

import pytest

from graph.health import (
    DEFAULT_TOLERANCES,
    DEGRADED,
    FAILURE,
    HEALTHY,
    NA,
    HealthConfig,
    Rule,
    Tolerance,
    annotate_health,
    judge_for,
    responses_status,
    worst,
)
from tests.mesh import DETAILS, PRODUCTPAGE, RATINGS, REVIEWS_V2, request_edge, tcp_edge
from tests.test_graph_traffic import build, wl


def http(codes: dict[str, float]) -> dict[str, dict[str, dict[str, float]]]:
    return {code: {"flags": {"-": rate}} for code, rate in codes.items()}


@pytest.mark.parametrize(("codes", "expected"), [
    ({"200": 100.0}, HEALTHY),
    ({"200": 99.9, "503": 0.1}, DEGRADED),      # any 5xx: degraded above 0 %
    ({"200": 90.0, "503": 10.0}, FAILURE),      # 5xx failure at 10 %
    ({"200": 91.0, "404": 9.0}, HEALTHY),       # 4xx below 10 % is fine
    ({"200": 90.0, "404": 10.0}, DEGRADED),     # 4xx degraded at 10 %
    ({"200": 80.0, "404": 20.0}, FAILURE),      # 4xx failure at 20 %
    ({"200": 99.0, "-": 1.0}, DEGRADED),        # no response counts as an error
    ({"200": 50.0, "301": 50.0}, HEALTHY),      # redirects are not errors
    ({}, NA),
])
def test_it_applies_kiali_default_http_tolerances(codes: dict[str, float], expected: str) -> None:
    assert responses_status("http", http(codes), "inbound", DEFAULT_TOLERANCES) == expected


@pytest.mark.parametrize(("codes", "expected"), [
    ({"0": 100.0}, HEALTHY), ({"0": 95.0, "14": 5.0}, DEGRADED), ({"0": 90.0, "2": 10.0}, FAILURE),
])
def test_it_applies_kiali_default_grpc_tolerances(codes: dict[str, float], expected: str) -> None:
    assert responses_status("grpc", http(codes), "outbound", DEFAULT_TOLERANCES) == expected


def test_it_orders_statuses_failure_degraded_healthy_na() -> None:
    assert worst([HEALTHY, FAILURE, DEGRADED, NA]) == FAILURE
    assert worst([NA, HEALTHY]) == HEALTHY
    assert worst([]) == NA


def test_it_colours_the_failing_edge_and_both_its_nodes() -> None:
    """productpage -> reviews-v2 -> ratings (50 % 503)"""
    g = build(request_edge(PRODUCTPAGE, REVIEWS_V2, {"200": 3.0})
              + request_edge(REVIEWS_V2, RATINGS, {"200": 1.5, "503": 1.5}))
    assert g.edges[wl(REVIEWS_V2), wl(RATINGS), "http"]["md"]["healthStatus"] == FAILURE
    assert g.edges[wl(PRODUCTPAGE), wl(REVIEWS_V2), "http"]["md"]["healthStatus"] == HEALTHY
    assert g.nodes[wl(RATINGS)]["md"]["healthStatus"] == FAILURE     # inbound errors
    assert g.nodes[wl(REVIEWS_V2)]["md"]["healthStatus"] == FAILURE  # outbound errors
    assert g.nodes[wl(PRODUCTPAGE)]["md"]["healthStatus"] == HEALTHY


def test_it_takes_the_first_matching_override_rule() -> None:
    lenient = (Tolerance(code="5XX", protocol="http", degraded=20, failure=50),)
    config = HealthConfig((Rule(lenient, namespace="bookinfo", kind="workload", name="ratings.*"),
                           Rule(DEFAULT_TOLERANCES)))
    assert config.tolerances("bookinfo", "workload", "ratings-v1") == lenient
    assert config.tolerances("bookinfo", "workload", "reviews-v2") == DEFAULT_TOLERANCES
    assert responses_status("http", http({"200": 85.0, "503": 15.0}), "inbound",
                            lenient) == HEALTHY


def test_it_judges_afresh_when_the_rules_change() -> None:
    """reviews-v2 -> ratings (15 % 503): Failure by default, Healthy under a lenient rule
    for ratings, Failure again without it (each config keeps its own cached rules)."""
    g = build(request_edge(REVIEWS_V2, RATINGS, {"200": 8.5, "503": 1.5}))
    edge, node = g.edges[wl(REVIEWS_V2), wl(RATINGS), "http"]["md"], g.nodes[wl(RATINGS)]["md"]
    lenient = HealthConfig((Rule((Tolerance("5XX", "http", degraded=20, failure=50),),
                                 name="(ratings|reviews).*"),))
    for config, expected in ((HealthConfig.default(), FAILURE), (lenient, HEALTHY),
                             (HealthConfig.default(), FAILURE)):
        annotate_health(g.nodes, g.edges(keys=True, data=True), config)
        assert (edge["healthStatus"], node["healthStatus"]) == (expected, expected)


def test_it_shares_one_judge_between_equal_configs() -> None:
    assert judge_for(HealthConfig.default()) is judge_for(HealthConfig.default())
    strict = HealthConfig((Rule((Tolerance("5XX", "http", failure=1),)),))
    assert judge_for(strict) is not judge_for(HealthConfig.default())


def test_it_follows_a_rate_change_on_the_same_edges() -> None:
    """productpage -> reviews-v2 -> ratings, built again with ratings failing, then healed:
    the scorers kept from the first build give the new rates their own status."""
    def statuses(ratings_codes: dict[str, float]) -> tuple[str, str, str]:
        g = build(request_edge(PRODUCTPAGE, REVIEWS_V2, {"200": 3.0})
                  + request_edge(REVIEWS_V2, RATINGS, ratings_codes))
        return (g.edges[wl(REVIEWS_V2), wl(RATINGS), "http"]["md"]["healthStatus"],
                g.nodes[wl(RATINGS)]["md"]["healthStatus"],
                g.nodes[wl(PRODUCTPAGE)]["md"]["healthStatus"])

    assert statuses({"200": 3.0}) == (HEALTHY, HEALTHY, HEALTHY)
    assert statuses({"200": 2.97, "503": 0.03}) == (DEGRADED, DEGRADED, HEALTHY)
    assert statuses({"200": 1.5, "503": 1.5}) == (FAILURE, FAILURE, HEALTHY)
    assert statuses({"503": 0.3, "200": 2.7}) == (FAILURE, FAILURE, HEALTHY)  # codes reordered
    assert statuses({"200": 3.0}) == (HEALTHY, HEALTHY, HEALTHY)


def test_it_scores_a_node_by_its_summed_traffic_in_each_direction() -> None:
    """productpage -> details (5 % 404), productpage -> ratings (6 % 404), and
    productpage -> reviews-v2 (TCP): each edge is Healthy (4xx degrades at 10 %), and so is
    productpage; raise the 404s to 12 % on one edge and it degrades both."""
    def statuses(details_404: float) -> tuple[str, str, str]:
        g = build(request_edge(PRODUCTPAGE, DETAILS, {"200": 100 - details_404,
                                                       "404": details_404})
                  + request_edge(PRODUCTPAGE, RATINGS, {"200": 94.0, "404": 6.0})
                  + tcp_edge(PRODUCTPAGE, REVIEWS_V2, 100.0, 10.0))
        return (g.edges[wl(PRODUCTPAGE), wl(DETAILS), "http"]["md"]["healthStatus"],
                g.edges[wl(PRODUCTPAGE), wl(REVIEWS_V2), "tcp"]["md"]["healthStatus"],
                g.nodes[wl(PRODUCTPAGE)]["md"]["healthStatus"])

    assert statuses(5.0) == (HEALTHY, HEALTHY, HEALTHY)
    assert statuses(12.0) == (DEGRADED, HEALTHY, HEALTHY)  # 9 % of the node's 200/s
    assert statuses(16.0) == (DEGRADED, HEALTHY, DEGRADED)  # 11 % of the node's


@pytest.mark.parametrize("seed", range(5))
def test_it_scores_as_each_tolerance_would_on_its_own(seed: int) -> None:
    """Random responses against tolerances with overlapping codes, in any order: the
    Scorer's plans give the worst of Tolerance.status over each tolerance's error share."""
    rng = random.Random(seed)
    tolerances = (Tolerance("5XX", "http", degraded=0, failure=10),
                  Tolerance("503", "http", degraded=2, failure=5),
                  Tolerance("4XX", "http", degraded=10, failure=20),
                  Tolerance("^-$", "http|grpc", degraded=0, failure=10))
    for _ in range(200):
        codes = rng.sample(["200", "301", "404", "429", "500", "503", "-"], rng.randint(0, 5))
        counts = {code: rng.choice([0.0, rng.uniform(0, 100), rng.uniform(0, 2)])
                  for code in codes}
        total = sum(counts.values())
        expected = NA if total <= 0 else worst(
            [HEALTHY] + [t.status(sum(n for c, n in counts.items() if t.matches_code(c))
                                  / total * 100) for t in tolerances])
        assert responses_status("http", http(counts), "inbound", tolerances) == expected


def test_it_judges_a_config_whose_tolerances_are_a_list() -> None:
    """reviews-v2 -> ratings (15 % 503), rules built with a list instead of a tuple: not
    cacheable, still judged."""
    g = build(request_edge(REVIEWS_V2, RATINGS, {"200": 8.5, "503": 1.5}))
    lenient = [Tolerance("5XX", "http", degraded=20, failure=50)]
    config = HealthConfig((Rule(lenient),))  # type: ignore[arg-type]
    annotate_health(g.nodes, g.edges(keys=True, data=True), config)
    assert g.edges[wl(REVIEWS_V2), wl(RATINGS), "http"]["md"]["healthStatus"] == HEALTHY
