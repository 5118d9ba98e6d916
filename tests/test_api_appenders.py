"""GET /api/v1/graph's response time, throughput, mTLS and idle nodes, against a real
Prometheus on backfilled histograms, byte sums and security labels.

    productpage-v1 -> [reviews] -> reviews-v2      20/s; p95 175 ms, avg 130 ms at the
                                                   destination (195 ms, 150 ms at the
                                                   source); 512 B/s up, 2048 B/s down
    reviews-v2 -> [ratings] -> ratings-v1          3/s on mTLS, 2/s plain text
    productpage-v1 -> [details] -> details-v1      10/s until half an hour ago, idle now
    ratings-v1 -> [mongodb] -> mongodb-v1          TCP on mTLS: 300 B/s sent, 100 B/s received
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.live_env import QUERY_TIME
from tests.mesh import (
    DETAILS,
    PRODUCTPAGE,
    RATINGS,
    REVIEWS_V2,
    Workload,
    bytes_edge,
    duration_histogram,
    request_edge,
    tcp_edge,
    with_labels,
)

GRAPH = f"/api/v1/graph?namespaces=bookinfo&query_time={QUERY_TIME}&duration=60s"
REVIEWS_SA = "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews"
MONGODB = Workload("bookinfo", "mongodb-v1", "mongodb", service="mongodb")
RATINGS_SA = "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-ratings"

pytestmark = pytest.mark.django_db  # the views read health rules from the database


def series() -> list[dict[str, Any]]:
    # All 20 requests/s within 200 ms, 16 of them within 100 ms: the 19th of 20 (p95) is
    # 3/4 into the (100, 200] bucket by Prometheus's linear interpolation: 175 ms.
    timed = (duration_histogram(PRODUCTPAGE, REVIEWS_V2, {"100": 16.0, "200": 20.0,
                                                          "+Inf": 20.0},
                                sum_ms=2600.0, reporters=("destination",))
             + duration_histogram(PRODUCTPAGE, REVIEWS_V2, {"100": 0.0, "200": 20.0,
                                                            "+Inf": 20.0},
                                  sum_ms=3000.0, reporters=("source",)))
    secured = (
        with_labels(request_edge(REVIEWS_V2, RATINGS, {"200": 3.0}),
                    connection_security_policy="mutual_tls", source_principal=REVIEWS_SA,
                    destination_principal=RATINGS_SA)
        + with_labels(request_edge(REVIEWS_V2, RATINGS, {"200": 2.0}),
                      connection_security_policy="none", source_principal="unknown",
                      destination_principal="unknown"))
    stopped = [s | {"rates": [[QUERY_TIME - 1800, 0.0]]}
               for s in request_edge(PRODUCTPAGE, DETAILS, {"200": 10.0})]
    return (request_edge(PRODUCTPAGE, REVIEWS_V2, {"200": 20.0}) + timed
            + bytes_edge(PRODUCTPAGE, REVIEWS_V2, request=512.0, response=2048.0)
            + secured + stopped
            + with_labels(tcp_edge(RATINGS, MONGODB, sent=300.0, received=100.0),
                          connection_security_policy="mutual_tls"))


@pytest.fixture
def appender_prometheus(prometheus_with: Any, settings: Any) -> Any:
    server = prometheus_with(series(), QUERY_TIME)
    settings.PROMETHEUS_URL = server.url
    return server


def get(query: str = "") -> dict[str, Any]:
    response = Client().get(GRAPH + query)
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def nodes(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["data"]["label"]: n["data"] for n in body["elements"]["nodes"]}


def edge(body: dict[str, Any], source: str, target: str) -> dict[str, Any]:
    by_label = nodes(body)
    for e in body["elements"]["edges"]:
        if (e["data"]["source"], e["data"]["target"]) == (by_label[source]["id"],
                                                          by_label[target]["id"]):
            return e["data"]
    raise AssertionError(f"no edge {source} -> {target}")


def test_it_shows_the_p95_response_time_the_destination_measured(
        appender_prometheus: Any) -> None:
    """productpage-v1 -> [reviews] -> reviews-v2: on the edge into the workload"""
    body = get()
    assert edge(body, "reviews", "reviews-v2")["responseTime"] == "175"
    assert "responseTime" not in edge(body, "productpage-v1", "reviews")


def test_it_shows_the_average_response_time(appender_prometheus: Any) -> None:
    """productpage-v1 -> reviews-v2: 2600 ms/s over 20 requests/s"""
    body = get("&response_time=avg&inject_service_nodes=false")
    assert edge(body, "productpage-v1", "reviews-v2")["responseTime"] == "130"


def test_it_shows_response_and_request_throughput(appender_prometheus: Any) -> None:
    """[reviews] -> reviews-v2: 2048 B/s of responses, 512 B/s of requests"""
    assert edge(get(), "reviews", "reviews-v2")["throughput"] == "2048"
    assert edge(get("&throughput=request"), "reviews", "reviews-v2")["throughput"] == "512"


def test_it_shows_the_mtls_share_and_principals(appender_prometheus: Any) -> None:
    """reviews-v2 -> [ratings] -> ratings-v1: 3 of 5 requests/s on mTLS"""
    body = get()
    for source, target in (("reviews-v2", "ratings"), ("ratings", "ratings-v1")):
        data = edge(body, source, target)
        assert data["isMTLS"] == "60"
        assert (data["sourcePrincipal"], data["destPrincipal"]) == (REVIEWS_SA, RATINGS_SA)
    assert "isMTLS" not in edge(body, "productpage-v1", "reviews")


def test_it_shows_idle_nodes_only_when_asked(appender_prometheus: Any) -> None:
    """productpage-v1 -> [details] -> details-v1, idle for half an hour"""
    assert "details-v1" not in nodes(get())
    body = get("&include_idle_nodes=true")
    idle = nodes(body)
    for label in ("details", "details-v1"):
        assert idle[label]["isIdle"] is True
        assert "traffic" not in idle[label]
    ids = {idle["details"]["id"], idle["details-v1"]["id"]}
    assert not [e for e in body["elements"]["edges"]
                if {e["data"]["source"], e["data"]["target"]} & ids]
    assert "isIdle" not in idle["reviews-v2"]


def test_it_draws_idle_edges_without_rates(appender_prometheus: Any) -> None:
    """productpage-v1 -> [details] -> details-v1, with idle edges and nodes"""
    body = get("&include_idle_edges=true&include_idle_nodes=true")
    assert edge(body, "productpage-v1", "details")["traffic"] == {"protocol": "http"}
    assert edge(body, "details", "details-v1")["traffic"] == {"protocol": "http"}
    assert nodes(body)["details-v1"]["isIdle"] is True


def test_it_reads_both_tcp_counters_when_asked_for_total_bytes(
        appender_prometheus: Any) -> None:
    """ratings-v1 -> [mongodb] -> mongodb-v1: 100 B/s + 300 B/s, all on mTLS. Each counter
    is read by its own query: their rates in one selector would clash in Prometheus."""
    body = get("&rate_tcp=total")
    for source, target in (("ratings-v1", "mongodb"), ("mongodb", "mongodb-v1")):
        data = edge(body, source, target)
        assert data["traffic"]["rates"]["tcp"] == "400.00"
        assert data["isMTLS"] == "100"
    assert edge(get(), "ratings-v1", "mongodb")["traffic"]["rates"]["tcp"] == "100.00"


def test_it_answers_alike_on_dicts_and_on_numbers_with_appended_fields(
        appender_prometheus: Any) -> None:
    """The topology above, asked three times: a layout's first build judges health on
    dicts, its third on numbers (graph/health_arrays.py); the bodies are the same, with the
    appenders' fields on the edges health was written to"""
    bodies = [Client().get(GRAPH).content for _ in range(3)]
    assert bodies[0] == bodies[1] == bodies[2]
    body = get()
    timed = edge(body, "reviews", "reviews-v2")
    assert (timed["responseTime"], timed["throughput"], timed["healthStatus"]) == (
        "175", "2048", "Healthy")
    secured = edge(body, "reviews-v2", "ratings")
    assert (secured["isMTLS"], secured["healthStatus"]) == ("60", "Healthy")
