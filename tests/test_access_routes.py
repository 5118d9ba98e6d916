"""A user limited to one namespace walks every route of the URLconf (API, Kiali's, the
embed view) while a worker is alive: the builds the web process hands over run in the
worker, limited as the request was, and no answer, in any format, carries what only
another namespace's viewers may see. So does the live path: a limited viewer's scope is
built and sent apart from everyone else's.

    checkout-v1 (shop) -> [productpage] -> productpage-v1 -> [pay (billing)] -> pay-v1
                                               (pay-v1 answers 50 % 503)

Seen from bookinfo, with service nodes, pay-v1 (billing -> billing) is not in the graph at
all: the bytes "pay-v1" in an answer are a leak. checkout-v1 and pay are drawn without
details. (Without service nodes, productpage-v1 -> pay-v1 is an edge of bookinfo's, and
pay-v1 is drawn without details.)
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.test import Client

from dashboard import graphs, live, publish, tasks
from dashboard.models import ApiToken
from graph.export import FORMAT_NAMES
from graph.options import graph_options_from_query
from tests import mesh
from tests.mesh import Workload
from tests.test_access_namespaces import connect, next_graph, url_routes, user_seeing

pytestmark = pytest.mark.django_db(transaction=True)

CHECKOUT = Workload("shop", "checkout-v1", "checkout", service="checkout")
PAY = Workload("billing", "pay-v1", "pay", service="pay")
SECRET = b"pay-v1"
VISIBLE = {"bookinfo"}
NOT_NAMESPACES = {"", "unknown"}


def series() -> list[dict[str, Any]]:
    return (mesh.bookinfo() + mesh.request_edge(CHECKOUT, mesh.PRODUCTPAGE, {"200": 2.0})
            + mesh.request_edge(mesh.PRODUCTPAGE, PAY, {"200": 1.0, "503": 1.0}))


@pytest.fixture(scope="module")
def at() -> int:
    """The data's time: it ends now (and goes on 10 minutes), so that live scopes see it."""
    return int(time.time()) // 15 * 15


@pytest.fixture
def stack(prometheus_with: Any, settings: Any, at: int, celery_worker: Any) -> int:
    settings.PROMETHEUS_URL = prometheus_with(series(), at).url
    settings.MESHLENS_AUTH = "login"
    settings.MESHLENS_TOKEN_BURST = 1000  # the walk is quick; the limit has its own test
    live.client().flushdb()
    return at


Build = tuple[str, tuple[str, ...]]


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[Build]:
    """(thread name, access) of every graph built for an answer."""
    found: list[Build] = []

    def spy(name: str, access: Callable[[Any], tuple[str, ...]]) -> None:
        real: Callable[..., Any] = getattr(graphs, name)

        def spied(*args: Any, **kwargs: Any) -> Any:
            found.append((threading.current_thread().name, access(args[0])))
            return real(*args, **kwargs)

        monkeypatch.setattr(graphs, name, spied)

    for name in ("graph_payload", "graph_body"):
        spy(name, lambda options: options.access)
    spy("kiali_body", lambda request: request.options.access)
    return found


@pytest.fixture
def bob_page() -> Client:
    """bob sees bookinfo, signed in."""
    client = Client()
    client.force_login(user_seeing("bob", "bookinfo"))
    return client


@pytest.fixture
def carol_token() -> Client:
    """carol sees bookinfo and shop; her token bookinfo only."""
    carol = user_seeing("carol", "bookinfo, shop")
    _, secret = ApiToken.issue(carol, "ci", "bookinfo")
    return Client(headers={"Authorization": f"Bearer {secret}"})


@pytest.fixture
def admin_page() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="secret-pass-1"))
    return client


# --- the walk ----------------------------------------------------------------------------

# Path variables, by name; any other is `x`.
PATH_VALUES = {"namespace": "bookinfo", "workload": "productpage-v1", "service": "productpage",
               "app": "productpage", "version": "v1"}


def walked_routes() -> Iterator[str]:
    """Every route of the URLconf that shows the graph or its data: the API's, Kiali's,
    the page and the embed view; their path variables filled in."""
    return url_routes(lambda route: route.startswith(("api/", "embed/")) or route == "",
                      lambda name: PATH_VALUES.get(name, "x"))


def base_query(route: str, at: int) -> dict[str, str]:
    """What a route gets unless VARIANTS says more: the scope, as the page sends it."""
    if route.startswith("/api/namespaces/"):  # Kiali's names; its service nodes too
        return {"namespaces": "bookinfo", "duration": "60s", "queryTime": str(at),
                "injectServiceNodes": "true"}
    if route in ("/", "/embed/graph"):
        return {"namespaces": "bookinfo"}
    if route == "/api/v1/namespaces":
        return {}
    return {"namespaces": "bookinfo", "duration": "60s", "query_time": str(at)}


# Extra queries per route; a route not named here (one added later) is walked with its
# base query alone, and must answer it.
VARIANTS: dict[str, list[dict[str, str]]] = {
    "/api/v1/graph": [{}, *({"format": name} for name in FORMAT_NAMES),
                      {"find": "app startswith p"}, {"hide": "ns = bookinfo"},
                      {"find": "name = pay-v1"}, {"compare_to": "1h"}],
    "/api/v1/edges": [{}, {"health": "failure,degraded,healthy"}],
    "/api/v1/series": [{}, {"node": "workload:bookinfo/productpage-v1"},
                       {"edge": "workload:bookinfo/productpage-v1,service:billing/pay"}],
    "/api/v1/exemplars": [{"node": "workload:bookinfo/productpage-v1"},
                          {"edge": "workload:bookinfo/productpage-v1,service:billing/pay"}],
    "/api/v1/impact": [{"node": "<productpage-v1>"}, {"node": "<pay>"}],
    "/api/v1/graph/diff": [{"compare_to": "1h"}],
    # Replay frames built ahead by the worker (a settled moment: queued, built limited).
    "/api/v1/graph/frames": [{"times": "1700000000"}],
    # No live version of this scope is kept yet: a 404 that says so (see the live test).
    "/api/v1/snapshot": [{"version": "1"}],
    "/api/v1/delta": [{"version": "1"}],
    "/api/namespaces/bookinfo/applications/productpage/graph": [{"graphType": "app"}],
    "/api/namespaces/bookinfo/applications/productpage/versions/v1/graph": [
        {"graphType": "versionedApp"}],
}
NOT_KEPT = {"/api/v1/snapshot", "/api/v1/delta"}
# Built by a worker while one is alive (dashboard/answers.py): the graph, not shaped.
BY_WORKER = {"/api/v1/graph": [{}], "/api/v1/edges": [{}, {"health": "failure,degraded,healthy"}]}


def requests(at: int) -> Iterator[tuple[str, dict[str, str]]]:
    for route in sorted(set(walked_routes())):
        for extra in VARIANTS.get(route, [{}]):
            yield route, base_query(route, at) | extra


def hidden_nodes(value: Any) -> Iterator[dict[str, Any]]:
    """Every node-like dict (Cytoscape's data, node-link's nodes) of another namespace."""
    if isinstance(value, dict):
        namespace = value.get("namespace")
        if isinstance(namespace, str) and namespace not in VISIBLE | NOT_NAMESPACES and (
                "nodeType" in value or "id" in value):
            yield value
        for item in value.values():
            yield from hidden_nodes(item)
    elif isinstance(value, list):
        for item in value:
            yield from hidden_nodes(item)


def assert_nothing_hidden(body: bytes, what: str) -> None:
    assert SECRET not in body, what
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return  # graphml, gexf, dot, svg, mermaid, HTML: the bytes said it
    for node in hidden_nodes(parsed):
        assert "traffic" not in node and "destServices" not in node, (what, node)
        assert node.get("healthData") is None, (what, node)
        assert node.get("healthStatus", "NA") == "NA", (what, node)


def element_id(client: Client, at: int, workload: str) -> str:
    body = client.get("/api/v1/graph", base_query("/api/v1/graph", at)).json()
    return next(n["data"]["id"] for n in body["elements"]["nodes"]
                if workload in (n["data"].get("workload"), n["data"].get("service")))


def body_of(response: Any) -> bytes:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Encoding") == "gzip":
        return gzip.decompress(content)
    return bytes(content)


@pytest.mark.parametrize("viewer", ["bob_page", "carol_token"])
def test_it_shows_a_limited_viewer_only_their_namespaces_on_every_route(
        stack: int, builds: list[Build], viewer: str, request: pytest.FixtureRequest) -> None:
    client: Client = request.getfixturevalue(viewer)
    at = stack
    ids = {"<productpage-v1>": element_id(client, at, "productpage-v1"),
           "<pay>": element_id(client, at, "pay")}
    walked = 0
    for route, query in requests(at):
        query = {k: ids.get(v, v) for k, v in query.items()}
        live.worker_beat()  # the worker is alive: the view hands its build over
        del builds[:]
        response = client.get(route, query)
        what = f"{route}?{urlencode(query)}"
        expected = (200, 404) if route in NOT_KEPT else (200,)
        if viewer == "carol_token" and not route.startswith("/api/"):
            expected = (302,)  # tokens are for the API: the page wants a signed-in browser
        assert response.status_code in expected, (what, response.content[:300])
        assert_nothing_hidden(body_of(response), what)
        assert all(access == ("bookinfo",) for _, access in builds), (what, builds)
        if any(query == base_query(route, at) | extra for extra in BY_WORKER.get(route, [])):
            assert builds and builds[0][0] != threading.current_thread().name, what
        walked += 1
    assert walked >= 25


def test_it_builds_kialis_routes_in_the_worker_as_limited(stack: int, builds: list[Build],
                                                           bob_page: Client) -> None:
    kiali = [r for r in walked_routes() if r.startswith("/api/namespaces/")]
    assert len(kiali) == 5
    for route in kiali:
        live.worker_beat()
        del builds[:]
        response = bob_page.get(route, base_query(route, stack) | VARIANTS.get(route, [{}])[0])
        assert response.status_code == 200, (route, response.content[:300])
        assert_nothing_hidden(body_of(response), route)
        assert [access for _, access in builds] == [("bookinfo",)], route
        assert builds[0][0] != threading.current_thread().name, route


def test_it_shows_the_secret_to_whoever_may_see_it(stack: int, admin_page: Client) -> None:
    """The walk's secret is real: the same routes give pay-v1 to a superuser."""
    live.worker_beat()
    for route in ("/api/v1/graph", "/api/v1/edges", "/api/namespaces/graph"):
        response = admin_page.get(route, base_query(route, stack))
        assert response.status_code == 200
        assert SECRET in body_of(response), route


# --- the live path -----------------------------------------------------------------------


async def test_it_sends_a_limited_viewer_only_their_own_scope(
        stack: int, builds: list[Build], monkeypatch: pytest.MonkeyPatch) -> None:
    """root and bob watch bookinfo at once, a worker building: two scopes, two graphs."""
    built: list[Build] = []
    real = publish.graph_written

    def spied(options: Any, *args: Any, **kwargs: Any) -> Any:
        built.append((threading.current_thread().name, options.access))
        return real(options, *args, **kwargs)

    monkeypatch.setattr(publish, "graph_written", spied)
    await sync_to_async(live.worker_beat)()
    sessions = {}
    for name, make in (("root", lambda: User.objects.create_superuser("root", password="p-1")),
                       ("bob", lambda: user_seeing("bob", "bookinfo"))):
        client = Client()
        await sync_to_async(client.force_login)(await sync_to_async(make)())
        sessions[name] = client.cookies["sessionid"].value
    path = "/ws/graph?namespaces=bookinfo&duration=60s"
    root = await connect(path, sessions["root"])
    bob = await connect(path, sessions["bob"])
    whole = await next_graph(root)
    seen = await next_graph(bob)
    assert SECRET in orjson.dumps(whole)
    assert_nothing_hidden(orjson.dumps(seen), "bob's snapshot")
    assert ("bookinfo",) in [access for _, access in built]
    assert all(thread != threading.current_thread().name for thread, _ in built)
    # The next refresh of bob's scope, by the worker, and its version fetched as a
    # browser fetches a big one.
    scope_key = graph_options_from_query(
        {"namespaces": "bookinfo", "duration": "60s", "access": "bookinfo"}).scope_key()
    before = await sync_to_async(live.load)(scope_key)
    assert before is not None
    await sync_to_async(tasks.refresh_scope.delay)(scope_key)
    while True:
        message = await bob.receive_json_from(timeout=30)
        assert_nothing_hidden(orjson.dumps(message), "bob's update")
        if message["type"] in ("graph.snapshot", "graph.delta"):
            break
    assert message["version"] == before.version + 1
    bob_client = Client()
    bob_client.cookies["sessionid"] = sessions["bob"]
    # bob naming another scope (access=) gets his own.
    for query in (f"namespaces=bookinfo&duration=60s&version={message['version']}",
                  f"namespaces=bookinfo&duration=60s&access=*&version={message['version']}"):
        response = await sync_to_async(bob_client.get)(f"/api/v1/snapshot?{query}")
        assert response.status_code == 200
        assert_nothing_hidden(body_of(response), f"snapshot {query}")
    await root.disconnect()
    await bob.disconnect()
