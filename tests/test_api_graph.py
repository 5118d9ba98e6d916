"""GET /api/v1/graph, /api/v1/edges, /api/v1/namespaces and /healthz against a real Prometheus."""

from __future__ import annotations

import gzip
import socket
import time
from typing import Any
from unittest import mock

import orjson
import pytest
import requests
from django.core.management import call_command
from django.test import Client

from tests import mesh
from tests.live_env import QUERY_TIME
from tests.mesh import Workload
from tests.support.ports import free_port

GRAPH = f"/api/v1/graph?namespaces=bookinfo&query_time={QUERY_TIME}&duration=60s"

# Views read the health rules from the database.
pytestmark = pytest.mark.django_db


def by_label(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["data"]["label"]: n["data"] for n in body["elements"]["nodes"]}


def edge(body: dict[str, Any], source: str, target: str) -> dict[str, Any]:
    nodes = by_label(body)
    for e in body["elements"]["edges"]:
        if (e["data"]["source"], e["data"]["target"]) == (nodes[source]["id"], nodes[target]["id"]):
            return e["data"]
    raise AssertionError(f"no edge {source} -> {target}")


def test_it_draws_bookinfo_with_exact_rates_and_health(bookinfo_prometheus: Any) -> None:
    """ingress -> productpage -> [reviews] -> reviews-v2 -> [ratings] -> ratings-v1 (50 % 503)"""
    body = Client().get(GRAPH).json()
    assert (body["timestamp"], body["duration"], body["graphType"]) == (QUERY_TIME, 60, "workload")
    nodes = by_label(body)
    assert {"productpage-v1", "reviews-v2", "ratings-v1", "ratings", "unknown",
            "istio-ingressgateway"} <= set(nodes)
    failing = edge(body, "reviews-v2", "ratings")
    assert failing["traffic"]["rates"] == {"http": "3.00", "http5xx": "1.50",
                                           "httpPercentErr": "50.0", "httpPercentReq": "100.0"}
    assert failing["healthStatus"] == "Failure"
    assert edge(body, "ratings", "ratings-v1")["healthStatus"] == "Failure"
    assert edge(body, "reviews-v3", "ratings")["healthStatus"] == "Healthy"
    assert nodes["ratings-v1"]["healthStatus"] == "Failure"
    assert nodes["details-v1"]["healthStatus"] == "Healthy"
    assert nodes["unknown"]["isRoot"] and nodes["ratings"]["isInjected"]
    assert edge(body, "productpage-v1", "reviews")["traffic"]["rates"]["http"] == "10.00"


def test_it_leaves_out_service_nodes_on_request(bookinfo_prometheus: Any) -> None:
    """reviews-v2 -> ratings-v1, directly"""
    body = Client().get(GRAPH + "&inject_service_nodes=false").json()
    assert "ratings" not in by_label(body)
    assert edge(body, "reviews-v2", "ratings-v1")["traffic"]["rates"]["httpPercentErr"] == "50.0"


@pytest.mark.parametrize(("query", "param"), [
    ("namespaces=bookinfo&graph_type=nope", "graph_type"),
    ("namespaces=bookinfo&duration=abc", "duration"),
    ("namespaces=bookinfo&query_time=yesterday", "query_time"),
    ("namespaces=%22bookinfo%22", "namespaces"),
    ("namespaces=%7Bx%7D", "namespaces"),
    ("namespaces=book%20info", "namespaces"),
    ("", "namespaces"),
])
def test_it_rejects_bad_input_naming_the_parameter(query: str, param: str) -> None:
    response = Client().get(f"/api/v1/graph?{query}")
    assert response.status_code == 400
    assert response.json()["error"].startswith(f"{param}: ")


def test_it_answers_an_empty_graph_for_a_quiet_namespace(bookinfo_prometheus: Any) -> None:
    body = Client().get(f"/api/v1/graph?namespaces=quiet&query_time={QUERY_TIME}").json()
    assert body["elements"] == {"nodes": [], "edges": []}


def test_it_answers_503_when_prometheus_is_down(settings: Any) -> None:
    settings.PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    response = Client().get(GRAPH)
    assert response.status_code == 503
    assert "cannot be reached" in response.json()["error"]


@pytest.mark.timeout(30)
def test_the_page_opens_on_its_namespace_picker_when_prometheus_does_not_answer(
        settings: Any) -> None:
    """Prometheus accepts connections and never answers (a minute-long query timeout): the
    page does not wait for it to name namespaces, it opens with none chosen."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings.PROMETHEUS_URL = f"http://127.0.0.1:{silent.getsockname()[1]}"
        settings.PROMETHEUS_TIMEOUT = 60
        settings.MESHLENS_DEFAULT_NAMESPACES = []
        page = Client().get("/")
    assert page.status_code == 200
    assert page.context["config"]["defaults"]["namespaces"] == []


def test_it_lists_the_namespaces_seen_in_the_last_hour(prometheus_with: Any,
                                                      settings: Any) -> None:
    """Bookinfo's requests (the ingress calls in from istio-system, unknown callers too) and
    one TCP edge in shop, recorded until a minute ago"""
    cart = Workload("shop", "cart-v1", "cart", service="cart")
    redis = Workload("shop", "redis-v1", "redis", service="redis")
    server = prometheus_with(mesh.bookinfo() + mesh.tcp_edge(cart, redis, 100.0, 50.0),
                             int(time.time()) - 60)
    settings.PROMETHEUS_URL = server.url
    body = Client().get("/api/v1/namespaces").json()
    assert body == {"namespaces": ["bookinfo", "istio-system", "shop"]}


def test_it_answers_503_when_prometheus_times_out(bookinfo_prometheus: Any) -> None:
    with mock.patch.object(requests.Session, "post", autospec=True,
                           side_effect=requests.Timeout("read timed out")):
        response = Client().get(GRAPH)
    assert response.status_code == 503
    assert "did not answer within" in response.json()["error"]


def test_it_lists_failing_edges_worst_first(bookinfo_prometheus: Any) -> None:
    """reviews-v2 -> [ratings] 50 % 503; [ratings] -> ratings-v1 25 % (reviews-v3 adds 3/s OK)"""
    body = Client().get(f"/api/v1/edges?namespaces=bookinfo&query_time={QUERY_TIME}"
                        "&duration=60s").json()
    listed = [(e["source"]["label"], e["target"]["label"], e["healthStatus"], e["errorPercent"])
              for e in body["edges"]]
    assert listed == [("reviews-v2", "ratings", "Failure", 50.0),
                      ("ratings", "ratings-v1", "Failure", 25.0)]


def test_it_rejects_a_bad_health_filter() -> None:
    response = Client().get("/api/v1/edges?namespaces=bookinfo&health=purple")
    assert response.status_code == 400
    assert response.json()["error"].startswith("health: ")


def test_it_prints_the_same_graph_on_the_command_line(
        bookinfo_prometheus: Any, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    call_command("graph", "--namespaces", "bookinfo", "--query-time", str(QUERY_TIME),
                 "--duration", "60s")
    printed = json.loads(capsys.readouterr().out)
    assert printed == Client().get(GRAPH).json()


def test_it_reports_prometheus_and_redis_in_healthz(
        bookinfo_prometheus: Any, meshlens_redis: str) -> None:
    body = Client().get("/healthz").json()
    assert body["checks"]["prometheus"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is True


def test_it_applies_health_overrides_from_the_admin(bookinfo_prometheus: Any) -> None:
    """reviews-v2 -> [ratings] -> ratings-v1 at 50 % 503: Failure by default, Degraded for a
    rule that tolerates up to 60 % 5xx on the ratings service"""
    from dashboard.models import HealthRule

    rule = HealthRule.objects.create(namespace="bookinfo", kind="service", name="ratings")
    rule.tolerances.create(code="5XX", protocol="http", degraded=1, failure=60)
    body = Client().get(GRAPH).json()
    assert edge(body, "reviews-v2", "ratings")["healthStatus"] == "Failure"  # reviews-v2 out
    assert edge(body, "ratings", "ratings-v1")["healthStatus"] == "Failure"  # ratings-v1 in
    rule.name = "ratings|ratings-v1|reviews-v2"
    rule.kind = ".*"
    rule.save()
    body = Client().get(GRAPH).json()
    assert edge(body, "reviews-v2", "ratings")["healthStatus"] == "Degraded"
    assert by_label(body)["ratings"]["healthStatus"] == "Degraded"
    assert by_label(body)["productpage-v1"]["healthStatus"] == "Healthy"


def test_it_edits_health_rules_in_the_admin(admin_client: Client) -> None:
    response = admin_client.get("/admin/dashboard/healthrule/add/")
    assert response.status_code == 200
    assert b"tolerances" in response.content


def test_it_asks_for_a_sign_in_when_auth_is_login(settings: Any, admin_client: Client) -> None:
    settings.MESHLENS_AUTH = "login"
    assert Client().get(GRAPH).status_code == 401
    assert Client().get("/api/namespaces/graph?namespaces=bookinfo").status_code == 401
    page = Client().get("/")
    assert page.status_code == 302 and page["Location"].startswith("/login?next=")
    settings.MESHLENS_DEFAULT_NAMESPACES = ["bookinfo"]
    assert admin_client.get("/").status_code == 200


def test_it_lets_the_browser_keep_a_past_graph_compressed(bookinfo_prometheus: Any) -> None:
    """A settled past moment never changes: replay prefetches it once, gzip."""
    response = Client().get(GRAPH, HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert response["Content-Encoding"] == "gzip"
    assert response["Cache-Control"] == "private, max-age=3600, immutable"
    body = orjson.loads(gzip.decompress(response.content))
    assert body["timestamp"] == QUERY_TIME
    plain = Client().get(GRAPH)
    assert "Content-Encoding" not in plain and plain.json()["timestamp"] == QUERY_TIME
