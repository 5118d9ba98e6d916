"""GET /api/v1/graph/diff and /api/v1/graph?compare_to= against a real Prometheus holding
two periods of Bookinfo (tests/diff_mesh.py), changed half an hour before QUERY_TIME."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.diff_mesh import changed_bookinfo
from tests.live_env import QUERY_TIME

SCOPE = f"namespaces=bookinfo&query_time={QUERY_TIME}&duration=60s"
pytestmark = pytest.mark.django_db


@pytest.fixture
def two_period_prometheus(prometheus_with: Any, settings: Any) -> Any:
    server = prometheus_with(changed_bookinfo(QUERY_TIME - 1800), QUERY_TIME)
    settings.PROMETHEUS_URL = server.url
    return server


def edge_name(entry: dict[str, Any]) -> str:
    return f"{entry['source']['label']} -> {entry['target']['label']}"


def summary(body: dict[str, Any]) -> dict[str, Any]:
    """A diff body by labels: nodes and edges added and vanished, edges changed."""
    return {
        "nodes": {k: sorted(n["label"] for n in body["nodes"][k]) for k in ("added", "vanished")},
        "edges": {k: sorted(edge_name(e) for e in body["edges"][k])
                  for k in ("added", "vanished")},
        "changed": {edge_name(e): e["changes"] for e in body["edges"]["changed"]},
    }


def test_it_lists_what_changed_since_an_hour_ago(two_period_prometheus: Any) -> None:
    """an hour ago: [reviews] -> reviews-v1, no errors, [details] -> details-v1 p95 48 ms
    now: [reviews] -> reviews-v4, reviews-v2 -> [ratings] 50 % 503, [ratings] -> ratings-v1
    25 %, [details] -> details-v1 p95 478 ms"""
    body = Client().get(f"/api/v1/graph/diff?{SCOPE}&compare_to=1h").json()
    assert (body["timestamp"], body["compareTo"], body["duration"]) == (
        QUERY_TIME, QUERY_TIME - 3600, 60)
    assert body["thresholds"] == {"error": 5.0, "p95": 100.0}
    assert summary(body) == {
        "nodes": {"added": ["reviews-v4"], "vanished": ["reviews-v1"]},
        "edges": {"added": ["reviews -> reviews-v4"], "vanished": ["reviews -> reviews-v1"]},
        "changed": {
            "details -> details-v1": {"responseTime": {"then": 48.0, "now": 478.0}},
            "ratings -> ratings-v1": {"errorPercent": {"then": 0.0, "now": 25.0}},
            "reviews-v2 -> ratings": {"errorPercent": {"then": 0.0, "now": 50.0}},
        },
    }


def test_it_takes_a_unix_time_and_thresholds(two_period_prometheus: Any) -> None:
    """the same hour, as a time; a 500 ms p95 threshold and 30 points of error % leave only
    reviews-v2 -> [ratings] (0 -> 50 %) changed"""
    body = Client().get(f"/api/v1/graph/diff?{SCOPE}&compare_to={QUERY_TIME - 3600}"
                        "&threshold_p95=500&threshold_error=30").json()
    assert body["thresholds"] == {"error": 30.0, "p95": 500.0}
    assert list(summary(body)["changed"]) == ["reviews-v2 -> ratings"]


def test_it_finds_nothing_changed_within_one_period(two_period_prometheus: Any) -> None:
    body = Client().get(f"/api/v1/graph/diff?{SCOPE}&compare_to=10m").json()
    assert summary(body) == {"nodes": {"added": [], "vanished": []},
                             "edges": {"added": [], "vanished": []}, "changed": {}}


def test_it_marks_the_graph_compared_to_an_hour_ago(two_period_prometheus: Any) -> None:
    """/api/v1/graph?compare_to=1h: new and changed elements marked, vanished ones added"""
    body = Client().get(f"/api/v1/graph?{SCOPE}&compare_to=1h").json()
    labels = {n["data"]["id"]: n["data"]["label"] for n in body["elements"]["nodes"]}
    marked = {labels[n["data"]["id"]]: n["data"]["diff"] for n in body["elements"]["nodes"]
              if "diff" in n["data"]}
    assert marked == {"reviews-v4": "added", "reviews-v1": "vanished"}
    edges = {f"{labels[e['data']['source']]} -> {labels[e['data']['target']]}": e["data"]
             for e in body["elements"]["edges"] if "diff" in e["data"]}
    assert {k: e["diff"] for k, e in edges.items()} == {
        "reviews -> reviews-v4": "added", "reviews -> reviews-v1": "vanished",
        "details -> details-v1": "changed", "ratings -> ratings-v1": "changed",
        "reviews-v2 -> ratings": "changed"}
    assert edges["reviews-v2 -> ratings"]["diffChanges"] == {
        "errorPercent": {"then": 0.0, "now": 50.0}}
    assert (body["compareTo"], len(body["elements"]["nodes"])) == (QUERY_TIME - 3600, 13)


@pytest.mark.parametrize(("path", "extra", "param"), [
    ("/api/v1/graph/diff", "", "compare_to"),
    ("/api/v1/graph/diff", "&compare_to=yesterday", "compare_to"),
    ("/api/v1/graph/diff", f"&compare_to={QUERY_TIME + 60}", "compare_to"),
    ("/api/v1/graph/diff", "&compare_to=1h&threshold_error=-2", "threshold_error"),
    ("/api/v1/graph/diff", "&compare_to=1h&threshold_p95=slow", "threshold_p95"),
    ("/api/v1/graph/diff", "&compare_to=1h&bogus=1", "bogus"),
    ("/api/v1/graph", "&compare_to=soon", "compare_to"),
])
def test_it_names_what_is_wrong_with_a_comparison(two_period_prometheus: Any, path: str,
                                                  extra: str, param: str) -> None:
    response = Client().get(f"{path}?{SCOPE}{extra}")
    assert response.status_code == 400
    assert response.json()["error"].startswith(f"{param}: ")
