"""Per-namespace access through groups: every API route, the namespace list, the graph's
inaccessible nodes (real Prometheus) and the WebSocket."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from dashboard import live
from dashboard.models import HealthRule, NamespaceAccess
from tests import mesh
from tests.live_env import QUERY_TIME
from tests.mesh import Workload
from tests.support.websocket import opened

pytestmark = pytest.mark.django_db(transaction=True)

CHECKOUT = Workload("shop", "checkout-v1", "checkout", service="checkout")
PAY = Workload("billing", "pay-v1", "pay", service="pay")
GRAPH = f"/api/v1/graph?namespaces=bookinfo&query_time={QUERY_TIME}&duration=60s"


def series() -> list[dict[str, Any]]:
    """
        istio-ingressgateway (istio-system) -> productpage -> ... (Bookinfo, tests/mesh.py)
        checkout-v1 (shop) -> [productpage] -> productpage-v1 -> [pay (billing)] -> pay-v1
    """
    return (mesh.bookinfo() + mesh.request_edge(CHECKOUT, mesh.PRODUCTPAGE, {"200": 2.0})
            + mesh.request_edge(mesh.PRODUCTPAGE, PAY, {"200": 1.0}))


@pytest.fixture
def access_prometheus(prometheus_with: Any, settings: Any) -> Any:
    server = prometheus_with(series(), QUERY_TIME)
    settings.PROMETHEUS_URL = server.url
    return server


def user_seeing(name: str, patterns: str) -> User:
    group = Group.objects.create(name=f"{name}-team")
    NamespaceAccess.objects.create(group=group, namespaces=patterns)
    user = User.objects.create_user(name, password="secret-pass-1")
    user.groups.add(group)
    return user


@pytest.fixture
def bob() -> User:
    return user_seeing("bob", "bookinfo")


@pytest.fixture
def bob_client(bob: User) -> Client:
    client = Client()
    client.force_login(bob)
    return client


def url_routes(keep: Callable[[str], bool], fill: Callable[[str], str]) -> Iterator[str]:
    """Every route of the URLconf that `keep` keeps (a pattern as Django writes it, without
    the leading slash), each path variable `<name>` or `<type:name>` replaced by fill(name)."""
    def walk(patterns: list[Any], prefix: str) -> Iterator[str]:
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                route = prefix + str(p.pattern)
                if keep(route):
                    yield "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: fill(m[1]), route)
    return walk(get_resolver().url_patterns, "")


def api_routes() -> Iterator[str]:
    """Every route of the URLconf under /api/, its path variables filled in: a namespace
    variable with `shop`, any other with a name."""
    return url_routes(lambda route: route.startswith("api/"),
                      lambda name: "shop" if name == "namespace" else "x")


def test_it_finds_the_api_routes() -> None:
    routes = set(api_routes())
    assert {"/api/v1/graph", "/api/v1/namespaces", "/api/namespaces/graph",
            "/api/namespaces/shop/workloads/x/graph"} <= routes


@pytest.mark.parametrize("route", sorted(api_routes()))
def test_it_forbids_every_api_route_a_namespace_not_granted(bob_client: Client,
                                                           route: str) -> None:
    response = bob_client.get(route, {"namespaces": "shop", "namespace": "shop",
                                       "node": "workload:shop/checkout-v1"})
    assert response.status_code == 403, (route, response.content)
    assert "namespace 'shop' is not accessible to you" in response.json()["error"]


@pytest.mark.parametrize("route", sorted(api_routes()))
def test_it_asks_for_a_sign_in_on_every_api_route(settings: Any, route: str) -> None:
    settings.MESHLENS_AUTH = "login"
    response = Client().get(route, {"namespaces": "bookinfo"})
    assert response.status_code == 401, (route, response.content)
    assert response.json() == {"error": "sign in first (MESHLENS_AUTH=login)"}


def test_it_forbids_a_namespace_in_any_parameter(bob_client: Client) -> None:
    for query in ("namespaces=bookinfo,shop", "node=service:shop/checkout",
                  "edge=workload:shop/checkout-v1,workload:billing/pay-v1"):
        response = bob_client.get(f"/api/v1/series?{query}")
        assert response.status_code == 403, query
        assert "is not accessible to you" in response.json()["error"]


def test_it_lists_only_the_namespaces_granted(prometheus_with: Any, bob_client: Client,
                                             settings: Any) -> None:
    """the same mesh, recorded until a minute ago"""
    settings.PROMETHEUS_URL = prometheus_with(series(), int(time.time()) - 60).url
    admin = User.objects.create_superuser("root", password="secret-pass-1")
    everyone = Client()
    everyone.force_login(admin)
    assert everyone.get("/api/v1/namespaces").json()["namespaces"] == [
        "billing", "bookinfo", "istio-system", "shop"]
    assert bob_client.get("/api/v1/namespaces").json()["namespaces"] == ["bookinfo"]
    settings.MESHLENS_DEFAULT_NAMESPACES = ["bookinfo", "shop"]
    page = bob_client.get("/")
    assert page.context["config"]["defaults"]["namespaces"] == ["bookinfo"]


def labels(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["data"].get("label", n["data"]["id"]): n["data"]
            for n in body["elements"]["nodes"]}


def test_it_draws_other_namespaces_without_details(access_prometheus: Any,
                                                   bob_client: Client) -> None:
    """checkout-v1 (shop) -> [productpage]; productpage-v1 -> [pay (billing)] -> pay-v1"""
    admin = User.objects.create_superuser("root", password="secret-pass-1")
    everyone = Client()
    everyone.force_login(admin)
    full = labels(everyone.get(GRAPH).json())
    assert full["checkout-v1"]["traffic"] and "isInaccessible" not in full["checkout-v1"]
    seen = labels(bob_client.get(GRAPH).json())
    for name in ("checkout-v1", "istio-ingressgateway", "pay"):
        data = seen[name]
        assert data["isInaccessible"] is True, name
        assert data["healthData"] is None and "traffic" not in data, name
    assert "pay-v1" not in seen  # billing -> billing: nothing of bookinfo's
    assert seen["productpage-v1"] == full["productpage-v1"]
    # The limited graph is a scope of its own: the next superuser's is whole again.
    assert "isInaccessible" not in labels(everyone.get(GRAPH).json())["checkout-v1"]


def test_it_checks_kialis_routes_and_redacts_their_graphs(access_prometheus: Any,
                                                          bob_client: Client) -> None:
    kiali = f"/api/namespaces/graph?namespaces=bookinfo&queryTime={QUERY_TIME}&duration=60s"
    seen = labels(bob_client.get(kiali).json())
    checkout = next(d for d in seen.values() if d.get("workload") == "checkout-v1")
    assert checkout["isInaccessible"] is True and "traffic" not in checkout
    assert bob_client.get(kiali.replace("bookinfo", "shop")).status_code == 403


@pytest.fixture
def clean_redis(meshlens_redis: str) -> Iterator[None]:
    live.client().flushdb()
    yield
    live.client().flushdb()


async def connect(path: str, session: str) -> WebsocketCommunicator:
    return await opened(path, (b"cookie", f"sessionid={session}".encode()))


async def next_graph(communicator: WebsocketCommunicator) -> dict[str, Any]:
    while True:
        message = await communicator.receive_json_from(timeout=30)
        if message["type"] == "graph.snapshot":
            return dict(message["graph"])
        assert message["type"] == "graph.progress", message


async def test_it_limits_the_websocket_to_the_namespaces_granted(
        clean_redis: None, prometheus_with: Any, settings: Any) -> None:
    """checkout-v1 (shop) -> [productpage] -> productpage-v1, live"""
    now = int(time.time()) // 15 * 15
    server = prometheus_with(series(), now, shared=False)
    settings.PROMETHEUS_URL = server.url
    client = Client()
    from asgiref.sync import sync_to_async
    bob = await sync_to_async(user_seeing)("bob", "book*")
    await sync_to_async(client.force_login)(bob)
    session = client.cookies["sessionid"].value

    refused = await connect("/ws/graph?namespaces=shop&duration=60s", session)
    message = await refused.receive_json_from(timeout=5)
    assert message["type"] == "graph.error"
    assert message["message"] == "namespaces: namespace 'shop' is not accessible to you"
    closed = await refused.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4403}
    await refused.disconnect()

    # A client's own access= is no way around it: the viewer's patterns replace it.
    viewer = await connect("/ws/graph?namespaces=bookinfo&duration=60s&access=*", session)
    seen = labels(await next_graph(viewer))
    assert seen["checkout-v1"]["isInaccessible"] is True and "traffic" not in seen["checkout-v1"]
    assert "traffic" in seen["productpage-v1"]
    await viewer.disconnect()


def test_it_edits_a_groups_namespaces_in_the_admin(admin_client: Client) -> None:
    page = admin_client.get("/admin/auth/group/add/")
    assert page.status_code == 200 and b"namespace_access-0-namespaces" in page.content
    response = admin_client.post("/admin/auth/group/add/", {
        "name": "payments", "namespace_access-TOTAL_FORMS": "1",
        "namespace_access-INITIAL_FORMS": "0", "namespace_access-MIN_NUM_FORMS": "0",
        "namespace_access-MAX_NUM_FORMS": "1", "namespace_access-0-namespaces": "Pay/ments"})
    assert response.status_code == 200 and b"is not a namespace pattern" in response.content


def test_it_exports_the_graph_as_the_user_sees_it(access_prometheus: Any,
                                                  bob_client: Client) -> None:
    """checkout-v1 (shop) -> [productpage] (2/s): in node-link too, its name and no more;
    pay-v1 (billing -> billing) not at all"""
    admin = User.objects.create_superuser("root", password="secret-pass-1")
    everyone = Client()
    everyone.force_login(admin)
    full = {n["label"]: n for n in everyone.get(GRAPH + "&format=node-link").json()["nodes"]}
    seen = {n["label"]: n for n in bob_client.get(GRAPH + "&format=node-link").json()["nodes"]}
    assert full["pay"]["rateIn"] == 1.0 and "pay-v1" in full
    assert (seen["pay"]["rateIn"], seen["pay"]["healthStatus"]) == (0.0, "NA")
    assert "pay-v1" not in seen and seen["productpage-v1"] == full["productpage-v1"]


def page_config(client: Client) -> dict[str, Any]:
    html = client.get("/").content.decode()
    found = re.search(r'<script id="meshlens-config" type="application/json">(.*?)</script>',
                      html, re.S)
    assert found, "the page has no config"
    return json.loads(found.group(1))


def test_it_gives_the_health_rules_to_the_page_only_of_a_viewer_who_sees_every_namespace(
        bob_client: Client, admin_client: Client, settings: Any) -> None:
    """The rules name namespaces and workloads anywhere in the mesh (here billing's pay):
    a viewer limited to bookinfo judges folded edges by Kiali's defaults instead."""
    settings.MESHLENS_DEFAULT_NAMESPACES = ["bookinfo"]  # no Prometheus needed for the page
    rule = HealthRule.objects.create(namespace="billing", kind="workload", name="pay-v1")
    rule.tolerances.create(code="5XX", protocol="http", degraded=1, failure=10)
    assert page_config(bob_client)["healthRules"] is None
    rules = page_config(admin_client)["healthRules"]
    assert [(r["namespace"], r["name"]) for r in rules] == [("billing", "pay-v1"), (".*", ".*")]
