"""GET /api/v1/series: the side panel's charts from range queries on a real, backfilled
Prometheus, with exact values.

    shop:  frontend-v1 -> [cart] -> cart-v1       HTTP 200 8/s; 503 2/s from T-300 on
           frontend-v1 -> catalog-v1              gRPC OK 3/s, status 14 1/s
    latency of frontend-v1 -> cart-v1, per second in each bucket (le 100, 200, +Inf):
           destination-reported 16, 20, 20; source-reported 10, 20, 20

    votes (Linkerd):  web -> [voting-svc] -> voting (a statefulset)   200 9/s, 500 1/s
                      (unmeshed) -> web                               200 2/s
                      latency web -> voting (le 10, 50, +Inf): 5, 10, 10
    social (traces):  nginx-web-server -> compose-post-service       6/s, 1.2/s failed
                      server latency (le 0.05 s, 0.1 s, +Inf): 3, 6, 6
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from graph.series import fitted_step
from tests import linkerd_mesh, traces_mesh
from tests.linkerd_mesh import Pod
from tests.live_env import QUERY_TIME as T
from tests.mesh import Workload, duration_histogram, request_edge
from tests.support.ports import free_port

pytestmark = pytest.mark.django_db

FRONTEND = Workload("shop", "frontend-v1", "frontend", service="frontend")
CART = Workload("shop", "cart-v1", "cart", service="cart")
CATALOG = Workload("shop", "catalog-v1", "catalog", service="catalog")
WEB = Pod("votes", "web", service="web-svc")
VOTING = Pod("votes", "voting", service="voting-svc", kind="statefulset")
PUBLIC = "https://prometheus.example.com"
WINDOW = f"duration=10m&query_time={T}"


def shop() -> list[dict[str, Any]]:
    cart = request_edge(FRONTEND, CART, {"200": 8.0, "503": 0.0})
    for item in cart:
        if item["labels"]["response_code"] == "503":
            item["rates"] = [[T - 300, 2.0]]
    return (cart
            + request_edge(FRONTEND, CATALOG, {"200": 3.0, "grpc:14": 1.0}, protocol="grpc")
            + duration_histogram(FRONTEND, CART, {"100": 16.0, "200": 20.0, "+Inf": 20.0},
                                 sum_ms=2000.0, reporters=("destination",))
            + duration_histogram(FRONTEND, CART, {"100": 10.0, "200": 20.0, "+Inf": 20.0},
                                 sum_ms=2000.0, reporters=("source",))
            + linkerd_mesh.request_edge(WEB, VOTING, {"200": 9.0, "500": 1.0})
            + linkerd_mesh.unmeshed_edge(WEB, {"200": 2.0})
            + linkerd_mesh.latency(WEB, VOTING, {"10": 5.0, "50": 10.0, "+Inf": 10.0}, 200.0)
            + traces_mesh.request_edge(traces_mesh.NGINX, traces_mesh.COMPOSE, 6.0, failed=1.2)
            + traces_mesh.histogram(traces_mesh.NGINX, traces_mesh.COMPOSE, "server",
                                    {"0.05": 3.0, "0.1": 6.0, "+Inf": 6.0}, 0.4))


@pytest.fixture
def shop_prometheus(prometheus_with: Any, settings: Any) -> Any:
    server = prometheus_with(shop(), T)
    settings.PROMETHEUS_URL = server.url
    settings.MESHLENS_PROMETHEUS_PUBLIC_URL = PUBLIC
    settings.MESHLENS_DIALECTS = ["istio", "linkerd", "traces"]
    return server


def get(query: str) -> dict[str, Any]:
    response = Client().get(f"/api/v1/series?{query}")
    assert response.status_code == 200, response.content
    return dict(response.json())


def ends(values: list[float | None]) -> tuple[float | None, float | None]:
    return values[0], values[-1]


def test_it_fits_the_step_to_the_window() -> None:
    assert [fitted_step(s) for s in (20, 60, 300, 600, 3600, 86400)] == [1, 1, 3, 5, 30, 900]


def test_it_charts_a_node_in_and_out(shop_prometheus: Any) -> None:
    """frontend-v1 -> [cart] -> cart-v1: 8/s, then 10/s with 2/s 503 from T-300"""
    body = get(f"node=workload:shop/cart-v1&{WINDOW}")
    assert (body["start"], body["end"], body["step"], body["rateInterval"]) == (T - 600, T, 5, 60)
    assert body["times"] == list(range(T - 600, T + 1, 5))
    assert (body["source"], body["dialect"]) == ("default", "istio")
    inbound = body["series"]["inbound"]
    assert ends(inbound["rate"]) == (8.0, 10.0)
    assert ends(inbound["errorPercent"]) == (0.0, 20.0)
    # The rate window reaches back 60 s: from T-240 on, every point has the 503s in full.
    assert set(inbound["errorPercent"][body["times"].index(T - 240):]) == {20.0}
    assert set(inbound["errorPercent"][:body["times"].index(T - 300) + 1]) == {0.0}
    # Destination-reported latency: 16/s under 100 ms, 4/s between 100 and 200 ms.
    assert (inbound["p50"][-1], inbound["p95"][-1], inbound["p99"][-1]) == (62.5, 175.0, 195.0)
    # cart-v1 calls no one.
    assert set(body["series"]["outbound"]["rate"]) == {None}


def test_it_charts_an_edge_from_its_source(shop_prometheus: Any) -> None:
    """frontend-v1 -> [cart]: the source's proxy reports it (its own latency buckets)"""
    body = get(f"edge=workload:shop/frontend-v1,service:shop/cart&{WINDOW}")
    assert list(body["series"]) == ["requests"]
    requests = body["series"]["requests"]
    assert ends(requests["rate"]) == (8.0, 10.0)
    assert ends(requests["errorPercent"]) == (0.0, 20.0)
    assert (requests["p50"][-1], requests["p95"][-1], requests["p99"][-1]) == (100.0, 190.0, 198.0)


def test_it_counts_grpc_statuses_as_errors(shop_prometheus: Any) -> None:
    """frontend-v1 -> catalog-v1 (gRPC): 3/s OK, 1/s UNAVAILABLE; no latency histogram"""
    requests = get(f"edge=workload:shop/frontend-v1,workload:shop/catalog-v1&{WINDOW}"
                   )["series"]["requests"]
    assert ends(requests["rate"]) == (4.0, 4.0)
    assert set(requests["errorPercent"]) == {25.0}
    assert set(requests["p95"]) == {None}


def test_it_charts_the_whole_graph(shop_prometheus: Any) -> None:
    """into the workloads of shop: cart-v1 and catalog-v1; out of them: frontend-v1's"""
    series = get(f"namespaces=shop&{WINDOW}")["series"]
    for direction in ("inbound", "outbound"):
        assert ends(series[direction]["rate"]) == (12.0, 14.0)
        assert ends(series[direction]["errorPercent"]) == (round(100 / 12, 6), round(300 / 14, 6))


def test_it_links_each_chart_to_prometheus_graph_page(shop_prometheus: Any) -> None:
    body = get(f"node=workload:shop/cart-v1&{WINDOW}")
    for direction, charts in body["queries"].items():
        assert list(charts) == ["rate", "errorPercent", "p50", "p95", "p99"]
        for chart, promql in charts.items():
            link = urlsplit(body["links"][direction][chart])
            assert f"{link.scheme}://{link.netloc}{link.path}" == f"{PUBLIC}/graph"
            assert parse_qs(link.query) == {
                "g0.expr": [promql], "g0.tab": ["0"], "g0.range_input": ["10m"],
                "g0.step_input": ["5"], "g0.end_input": ["2023-11-14 22:13:20"],
                "g0.moment_input": ["2023-11-14 22:13:20"]}
    # The link's expression is the chart's: Prometheus answers it with the same value.
    rate = shop_prometheus.query(body["queries"]["inbound"]["rate"], T)
    assert float(rate[0]["value"][1]) == 10.0


def test_it_charts_linkerd_from_the_callers_proxies(shop_prometheus: Any) -> None:
    """web -> [voting-svc] -> voting (statefulset): 10/s, 10 % 500; (unmeshed) -> web 2/s"""
    voting = get(f"node=workload:votes/voting&{WINDOW}")
    assert voting["dialect"] == "linkerd"
    inbound = voting["series"]["inbound"]
    assert (inbound["rate"][-1], inbound["errorPercent"][-1]) == (10.0, 10.0)
    # From the caller's outbound histogram: 5/s under 10 ms, 5/s between 10 and 50 ms.
    assert (inbound["p50"][-1], inbound["p95"][-1]) == (10.0, 46.0)
    web = get(f"node=workload:votes/web&{WINDOW}")["series"]
    assert (web["inbound"]["rate"][-1], web["outbound"]["rate"][-1]) == (2.0, 10.0)
    edge = get(f"edge=workload:votes/web,service:votes/voting-svc&{WINDOW}")["series"]
    assert (edge["requests"]["rate"][-1], edge["requests"]["errorPercent"][-1]) == (10.0, 10.0)


def test_it_charts_trace_derived_services(shop_prometheus: Any) -> None:
    """nginx-web-server -> compose-post-service: 6/s, 20 % failed, server spans timed"""
    for query in ("node=workload:social/compose-post-service",
                  "edge=workload:social/nginx-web-server,service:social/compose-post-service"):
        body = get(f"{query}&{WINDOW}")
        assert body["dialect"] == "traces"
        charts = body["series"].get("inbound") or body["series"]["requests"]
        assert (charts["rate"][-1], charts["errorPercent"][-1]) == (6.0, 20.0)
        assert (charts["p50"][-1], charts["p95"][-1], charts["p99"][-1]) == (50.0, 95.0, 99.0)


def reason(dialect: str) -> str:
    return f"{dialect} telemetry cannot tell this element's requests apart: no charts from it"


def test_it_says_which_dialects_draw_no_charts(shop_prometheus: Any) -> None:
    body = get(f"edge=workload:shop/frontend-v1,app:shop/cart&{WINDOW}")
    assert body["dialect"] == "istio"
    assert body["unsupported"] == {"linkerd": reason("linkerd")}
    body = get(f"node=database:social/post-storage-mongodb&{WINDOW}")
    assert (body["series"], body["links"]) == ({}, {})
    assert body["unsupported"] == {d: reason(d) for d in ("istio", "linkerd", "traces")}


@pytest.mark.parametrize(("query", "param"), [
    ("node=workload:shop", "node"),
    ("node=pod:shop/cart-v1", "node"),
    ("node=workload:Shop!/cart-v1", "node"),
    ("edge=workload:shop/frontend-v1", "edge"),
    ("edge=workload:shop/a,unknown", "edge"),
    ("node=workload:shop/a&edge=workload:shop/a,workload:shop/b", "edge"),
    ("duration=10m", "namespaces"),
    ("namespaces=shop&duration=soon", "duration"),
    ("namespaces=shop&rate_interval=0s", "rate_interval"),
    ("namespaces=shop&query_time=yesterday", "query_time"),
    ("namespaces=shop&step=5", "step"),
])
def test_it_rejects_bad_input_naming_the_parameter(query: str, param: str) -> None:
    response = Client().get(f"/api/v1/series?{query}")
    assert response.status_code == 400
    assert response.json()["error"].startswith(f"{param}: ")


def test_it_answers_503_when_prometheus_cannot_be_reached(settings: Any) -> None:
    settings.PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    settings.MESHLENS_DIALECTS = ["istio"]
    response = Client().get(f"/api/v1/series?node=workload:shop/cart-v1&{WINDOW}")
    assert response.status_code == 503
    assert "cannot be reached" in response.json()["error"]
