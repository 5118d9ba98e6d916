"""Health bands with Kiali's default tolerances, for edges and nodes."""

from __future__ import annotations

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
    responses_status,
    worst,
)
from tests.mesh import PRODUCTPAGE, RATINGS, REVIEWS_V2, request_edge
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
