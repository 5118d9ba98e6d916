"""`since` on GET /api/v1/edges: the first step of an edge's latest unhealthy run, read from
a real Prometheus backfilled with counters whose error rate starts and stops at set times.

Samples are 15 s apart and fall on QUERY_TIME - 15k; a 5m window has steps every 10 s from
QUERY_TIME - 300, each step's rate over the 60 s before it. Errors that start at T show
from the first sample after T: 503s from Q-100 reach the sample at Q-90, so the step at
Q-90 is the first unhealthy one.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.test import Client

from graph.prometheus import Prometheus, PrometheusUnavailable
from graph.since import Window, run_start
from tests import mesh
from tests.live_env import QUERY_TIME as Q
from tests.mesh import PRODUCTPAGE, RATINGS, REVIEWS_V2, REVIEWS_V3

pytestmark = pytest.mark.django_db

EDGES = f"/api/v1/edges?namespaces=bookinfo&query_time={Q}&duration=5m"


def with_errors(series: list[dict[str, Any]], rates: list[list[float]]) -> list[dict[str, Any]]:
    """The 503 series of an edge given a rate that changes over time."""
    return [dict(s, rate=0.0, rates=rates) if s["labels"]["response_code"] == "503" else s
            for s in series]


def mesh_series() -> list[dict[str, Any]]:
    """productpage -> reviews-v2 (503s all window) ; reviews-v2 -> [ratings] -> ratings-v1
    (503s from Q-250 to Q-200, then again from Q-100) ; reviews-v3 -> [ratings] healthy"""
    return (
        mesh.request_edge(PRODUCTPAGE, REVIEWS_V3, {"200": 3.0})
        + with_errors(mesh.request_edge(PRODUCTPAGE, REVIEWS_V2, {"200": 2.0, "503": 1.0}),
                      [[Q - 3600, 1.0]])
        + with_errors(mesh.request_edge(REVIEWS_V2, RATINGS, {"200": 1.5, "503": 0.0}),
                      [[Q - 250, 1.5], [Q - 200, 0.0], [Q - 100, 1.5]])
        + mesh.request_edge(REVIEWS_V3, RATINGS, {"200": 3.0})
    )


@pytest.fixture
def flapping_prometheus(prometheus_with: Any, settings: Any) -> Any:
    server = prometheus_with(mesh_series(), Q)
    settings.PROMETHEUS_URL = server.url
    return server


def listed(body: dict[str, Any]) -> list[tuple[str, str, str, int | None]]:
    return [(e["source"]["label"], e["target"]["label"], e["healthStatus"], e["since"])
            for e in body["edges"]]


def test_it_says_since_when_each_failing_edge_fails(flapping_prometheus: Any) -> None:
    """productpage -> reviews-v2 fails all window; reviews-v2 -> [ratings] -> ratings-v1
    failed from Q-250 to Q-200 and again from Q-100: since the second run's first step"""
    body = Client().get(EDGES).json()
    # Worst first: 33.3 % at 3/s, 33.3 % at 2.25/s, then 16.7 % and 14.3 % errors.
    assert listed(body) == [
        ("reviews", "reviews-v2", "Failure", Q - 300),
        ("reviews-v2", "ratings", "Failure", Q - 90),
        ("productpage-v1", "reviews", "Failure", Q - 300),
        ("ratings", "ratings-v1", "Failure", Q - 90),
    ]


def test_it_keeps_the_other_fields_and_adds_the_response_time(flapping_prometheus: Any) -> None:
    """reviews-v2 -> [ratings]: 1.5/s OK and, over the last 5m, 503s at 0.75/s on average
    (150 s of 1.5/s)"""
    body = Client().get(EDGES).json()
    edge = next(e for e in body["edges"] if e["source"]["label"] == "reviews-v2")
    assert (edge["protocol"], edge["rate"], edge["errorPercent"]) == ("http", 2.25, 33.3)
    assert set(edge) >= {"id", "healthStatus", "source", "target", "responses", "since",
                         "responseTime"}


def test_it_works_since_out_once_per_scope_and_graph(flapping_prometheus: Any,
                                                     meshlens_redis: str) -> None:
    """Every browser on a live scope asks after each update: the second asks no Prometheus
    range query (were it asked, this one would fail)."""
    first = Client().get(EDGES + "&health=failure").json()
    down = PrometheusUnavailable("Prometheus is down")
    with mock.patch.object(Prometheus, "query_range", autospec=True, side_effect=down) as query:
        again = Client().get(EDGES + "&health=failure").json()
    assert query.call_count == 0
    assert listed(again) == listed(first)


def test_it_lists_the_edges_without_since_when_prometheus_fails_the_range_query(
        flapping_prometheus: Any) -> None:
    down = PrometheusUnavailable("Prometheus at http://prometheus did not answer within 10s")
    with mock.patch.object(Prometheus, "query_range", autospec=True, side_effect=down):
        response = Client().get(EDGES + "&duration=4m")
    assert response.status_code == 200
    body = response.json()
    assert [e["since"] for e in body["edges"]] == [None] * 4
    assert body["sinceError"] == "Prometheus at http://prometheus did not answer within 10s"


def test_it_reads_steps_of_a_tenth_of_a_minute_or_a_thirtieth_of_the_window() -> None:
    assert Window.over(1000, 300) == Window(700, 1000, 10, 60)
    assert Window.over(10_000, 3600) == Window(6400, 10_000, 120, 240)
    # A duration that is not a whole number of steps: the last step is still the end.
    assert Window.over(1000, 65) == Window(940, 1000, 10, 60)


@pytest.mark.parametrize(("bad", "since"), [
    ([], None),
    ([40], 40),
    ([0, 10, 20, 30, 40], 0),
    ([0, 10, 30, 40], 30),
    ([10, 20], 10),  # recovered since: the latest run still says when it began
])
def test_it_takes_the_first_step_of_the_latest_unhealthy_run(bad: list[int],
                                                             since: int | None) -> None:
    assert run_start(range(0, 41, 10), bad) == since


def test_it_lists_the_worst_edges_up_to_a_limit_and_counts_them_all(
        flapping_prometheus: Any) -> None:
    """four failing edges; limit=2 lists the worst two, as the whole list has them, and
    says there are four"""
    every = Client().get(EDGES).json()
    worst = Client().get(EDGES + "&limit=2").json()
    assert (every["total"], worst["total"]) == (4, 4)
    assert listed(worst) == listed(every)[:2]


@pytest.mark.parametrize("limit", ["0", "-1", "two", "1.5", "1000001"])
def test_it_names_a_bad_limit(limit: str) -> None:
    response = Client().get(EDGES + f"&limit={limit}")
    assert response.status_code == 400
    assert response.json()["error"].startswith("limit: ")
