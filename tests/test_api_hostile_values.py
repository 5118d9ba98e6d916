"""Hostile values in every parameter and path segment of every route that reaches PromQL.

Each answer must be a 4xx JSON error naming the parameter, or, where the value is legal, a
graph; never a 5xx. The queries Prometheus received are read back from its query log: with
their string literals masked, each must be one the route sends for ordinary values (no
value changed a query's shape), and a legal value must reach Prometheus as itself.

    ingress -> productpage -> reviews-v2 -> ratings      (mesh_id=SCOPE)
               productpage -> axb (a service named like "a.b" read as a regex)
    details-v1 -> ratings, othermesh: a -> b             (mesh_id=NEAR, outside the scope)
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from dashboard import live
from dashboard.asgi import application
from tests import mesh
from tests.mesh import Workload
from tests.support.prometheus import PrometheusPool, PrometheusServer

pytestmark = pytest.mark.django_db

SCOPE = 'x"} or vector(1) or up{a="\\'
NEAR = SCOPE + "\n"  # what a sloppy escape would confuse with SCOPE
HOSTILE = ['a"b', "a\\b", "{}", 'x"} or vector(1) or up{a="', "a=~.*", "line\nbreak",
           "nul\x00", "tab\t", "café", "\ufffd", ".*", "a|b", "a,b", "a/b", " ", "", "'",
           "x" * 10_000]
# Values that pass validation yet mean something in PromQL or RE2.
LEGAL = {"namespace": ["0-a"], "workload": ["a.b"], "service": ["a.b"], "app": ["A_b.c"],
         "version": ["1.0_rc-2"], "clusterName": ["east_1.b"]}
AXB = Workload("bookinfo", "axb-v1", "axb", service="axb")


def series() -> list[dict[str, Any]]:
    ours = mesh.bookinfo(ratings_503=1.5) + mesh.request_edge(mesh.PRODUCTPAGE, AXB, {"200": 1.0})
    ours += mesh.tcp_edge(mesh.REVIEWS_V1, Workload("bookinfo", "mongodb-v1", "mongodb",
                                                    service="mongodb"), 100.0, 50.0)
    theirs = (mesh.request_edge(mesh.DETAILS, mesh.RATINGS, {"200": 1.0})
              + mesh.request_edge(Workload("othermesh", "a", "a"),
                                  Workload("othermesh", "b", "b", service="b"), {"200": 1.0}))
    return mesh.with_labels(ours, mesh_id=SCOPE) + mesh.with_labels(theirs, mesh_id=NEAR)


@dataclass
class LoggedPrometheus:
    server: PrometheusServer
    log: Path
    time: int
    offset: int = 0

    def mark(self) -> None:
        self.offset = self.log.stat().st_size if self.log.exists() else 0

    def queries(self) -> list[str]:
        """The queries evaluated since mark(): Prometheus logs each before it answers."""
        if not self.log.exists():
            return []
        with self.log.open("rb") as f:
            f.seek(self.offset)
            lines = f.read().decode().splitlines()
        return [json.loads(line)["params"]["query"] for line in lines if line]


@pytest.fixture(scope="module")
def prometheus(prometheus_with: PrometheusPool, tmp_path_factory: pytest.TempPathFactory,
               ) -> Iterator[LoggedPrometheus]:
    """A private Prometheus, data ending now (namespace discovery looks at the last hour),
    writing every query it evaluates to its query log."""
    now = int(time.time()) // 15 * 15
    workdir = tmp_path_factory.mktemp("logged-prometheus")
    shutil.copytree(prometheus_with.tsdb(series(), now), workdir / "tsdb")
    log = workdir / "queries.log"
    config = f"global:\n  query_log_file: {log}\nscrape_configs: []\n"
    with PrometheusServer(workdir / "tsdb", workdir, config=config) as server:
        yield LoggedPrometheus(server, log, now)


@pytest.fixture
def prom(prometheus: LoggedPrometheus, settings: Any) -> LoggedPrometheus:
    settings.PROMETHEUS_URL = prometheus.server.url
    settings.MESHLENS_QUERY_SCOPE = []
    return prometheus


LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"')
OPERATOR = re.compile(r"(=~|!~|!=|=)S")


def shape(query: str) -> str:
    """The query with its string literals masked, and = / =~ / != / !~ alike (one value or
    several changes the operator, not the shape)."""
    return OPERATOR.sub("~S", LITERAL.sub("S", query))


def literals(query: str) -> list[str]:
    """The values of the query's string literals (PromQL reads its escapes as Python does
    the ones used here: \\\\, \\", \\n, \\t, \\uXXXX)."""
    return [ast.literal_eval(m.group()) for m in LITERAL.finditer(query)]


@dataclass(frozen=True)
class Route:
    path: str  # with {segment} placeholders
    segments: dict[str, str]
    params: dict[str, str]

    def url(self, segments: dict[str, str]) -> str:
        return self.path.format(**{k: quote(v, safe="") for k, v in segments.items()})


def api_params(t: int) -> dict[str, str]:
    return {"namespaces": "bookinfo", "graph_type": "workload", "duration": "60s",
            "query_time": str(t), "inject_service_nodes": "true", "include_idle_edges": "false",
            "include_idle_nodes": "true", "box_by": "app", "response_time": "95",
            "throughput": "response", "rate_http": "requests", "rate_grpc": "requests",
            "rate_tcp": "total"}


def kiali_params(t: int, graph_type: str = "workload") -> dict[str, str]:
    return {"graphType": graph_type, "duration": "60s", "queryTime": str(t),
            "appenders": "responseTime,securityPolicy,throughput,idleNode,health",
            "injectServiceNodes": "true", "includeIdleEdges": "false", "boxBy": "app",
            "responseTime": "avg", "throughputType": "request", "rateHttp": "requests",
            "rateGrpc": "total", "rateTcp": "total", "ambientTraffic": "none",
            "configVendor": "cytoscape", "telemetryVendor": "istio", "refreshInterval": "15s"}


def node_params(t: int, graph_type: str = "workload") -> dict[str, str]:
    """Kiali's parameters of a node graph; those it accepts and ignores are tried on the
    namespace graph only (each try is a whole build)."""
    ignored = ("configVendor", "telemetryVendor", "refreshInterval")
    return {k: v for k, v in kiali_params(t, graph_type).items() if k not in ignored} | {
        "clusterName": "Kubernetes"}


NODE = "/api/namespaces/{namespace}"
# One client: each new one loads the middleware again, and WhiteNoise's scan of the static
# files would take most of the test's time.
CLIENT = Client()


def routes(t: int) -> dict[str, Route]:
    ns = {"namespace": "bookinfo"}
    return {
        "graph": Route("/api/v1/graph", {}, api_params(t)),
        "edges": Route("/api/v1/edges", {}, api_params(t) | {"health": "failure,healthy"}),
        "namespaces": Route("/api/v1/namespaces", {}, {}),
        "kiali": Route("/api/namespaces/graph", {}, kiali_params(t) | {"namespaces": "bookinfo"}),
        "workload": Route(NODE + "/workloads/{workload}/graph", ns | {"workload": "reviews-v2"},
                          node_params(t)),
        "service": Route(NODE + "/services/{service}/graph", ns | {"service": "reviews"},
                         node_params(t)),
        "app": Route(NODE + "/applications/{app}/graph", ns | {"app": "reviews"},
                     node_params(t, "versionedApp")),
        "version": Route(NODE + "/applications/{app}/versions/{version}/graph",
                         ns | {"app": "reviews", "version": "v2"}, node_params(t, "app")),
    }


def get(prom: LoggedPrometheus, route: Route, segments: dict[str, str],
        params: dict[str, str]) -> tuple[Any, list[str]]:
    prom.mark()
    response = CLIENT.get(route.url(segments), params)
    return response, prom.queries()


def problems_with(response: Any, slot: str, value: str) -> list[str]:
    """What is wrong with an answer to `slot` set to `value` (nothing, if all is well)."""
    where = f"{slot[:40]}={value[:40]!r}: HTTP {response.status_code}"
    if response.status_code >= 500 or response["Content-Type"] != "application/json":
        return [f"{where} {response.content[:200]!r}"]
    body = response.json()
    if response.status_code == 200:
        return [] if "elements" in body or "namespaces" in body or "edges" in body else [where]
    named = body["error"].startswith((f"{slot[:80]}", "path: "))
    return [] if response.status_code in (400, 404) and named else [f"{where} {body}"]


def value_reached(queries: list[str], slot: str, value: str) -> bool:
    """A legal name reached Prometheus as itself: equal to a literal, or, for a service,
    as the host pattern that matches its own hosts and not those of a look-alike."""
    found = [lit for q in queries for lit in literals(q)]
    if slot != "service":
        return value in found
    host, twin = f"{value}.bookinfo.svc.cluster.local", f"{value.replace('.', 'x')}.bookinfo.x"
    return any(re.fullmatch(lit, host) and not re.fullmatch(lit, twin)
               for lit in found if lit.startswith("^"))


@pytest.mark.parametrize("name", ["graph", "edges", "namespaces", "kiali", "workload",
                                  "service", "app", "version"])
def test_it_answers_hostile_values_with_a_clear_error_or_a_graph(
        prom: LoggedPrometheus, name: str) -> None:
    route = routes(prom.time)[name]
    base, base_queries = get(prom, route, route.segments, route.params)
    assert base.status_code == 200, base.content
    shapes = {shape(q) for q in base_queries}
    if "appenders" in route.params:
        # Without the security appender the inbound queries group by fewer labels (they
        # group by its labels too only when it reads their answer): legal shapes as well.
        _, plain = get(prom, route, route.segments,
                       route.params | {"appenders": "responseTime"})
        shapes |= {shape(q) for q in plain}
    problems: list[str] = []
    slots = [*route.segments, *route.params, "<name>"]
    for slot in slots:
        for value in HOSTILE + LEGAL.get(slot, []):
            segments, params = dict(route.segments), dict(route.params)
            if slot == "<name>":
                params[value or "-"] = "1"  # a parameter named by the hostile value
            elif slot in segments:
                segments[slot] = value
            else:
                params[slot] = value
            response, queries = get(prom, route, segments, params)
            problems += problems_with(response, value or "-" if slot == "<name>" else slot,
                                      value)
            if slot == "<name>" and response.status_code == 400:
                continue
            if any(shape(q) not in shapes for q in queries) and slot in params:
                # A legal value that reads as the default ("" for duration): the queries
                # are those of the request without it.
                _, default_queries = get(prom, route, segments,
                                         {k: v for k, v in params.items() if k != slot})
                shapes |= {shape(q) for q in default_queries}
            problems += [f"{slot}={value[:40]!r} changed a query's shape: {q[:300]}"
                         for q in queries if shape(q) not in shapes]
            reaches = slot != "clusterName" or route.segments  # node graphs only
            if value in LEGAL.get(slot, []) and reaches and not value_reached(queries, slot,
                                                                              value):
                problems.append(f"{slot}={value!r} did not reach Prometheus as itself")
    assert not problems, "\n".join(p[:300] for p in problems[:20])


def node_labels(body: dict[str, Any]) -> set[str]:
    return {label(n["data"]) for n in body["elements"]["nodes"]}


def label(data: dict[str, Any]) -> str:
    return str(data.get("workload") or data.get("service") or data["app"])


def edge_pairs(body: dict[str, Any]) -> set[tuple[str, str]]:
    nodes = {n["data"]["id"]: label(n["data"]) for n in body["elements"]["nodes"]}
    return {(nodes[e["data"]["source"]], nodes[e["data"]["target"]])
            for e in body["elements"]["edges"]}


def test_it_reads_a_service_name_as_itself_not_as_a_pattern(prom: LoggedPrometheus) -> None:
    """productpage -> axb: the service node graph of "a.b" is empty, that of "axb" is not"""
    route = routes(prom.time)["service"]
    like, _ = get(prom, route, {"namespace": "bookinfo", "service": "a.b"}, route.params)
    real, _ = get(prom, route, {"namespace": "bookinfo", "service": "axb"}, route.params)
    assert like.status_code == real.status_code == 200
    assert like.json()["elements"]["nodes"] == []
    assert {"axb", "productpage-v1"} <= node_labels(real.json())


@pytest.mark.parametrize("name", ["graph", "edges", "kiali", "workload", "service", "app",
                                  "version"])
def test_it_scopes_every_selector_with_any_scope_value(
        prom: LoggedPrometheus, settings: Any, name: str) -> None:
    """With mesh_id=SCOPE, each selector starts with it, and only SCOPE's series count."""
    route = routes(prom.time)[name]
    settings.MESHLENS_QUERY_SCOPE = [("mesh_id", SCOPE)]
    response, queries = get(prom, route, route.segments, route.params)
    assert response.status_code == 200, response.content
    assert queries
    for query in queries:
        masked = LITERAL.sub("S", query)
        assert masked.count("{") == masked.count("{mesh_id=S,") == literals(query).count(SCOPE)


def test_it_keeps_to_the_scope_in_graphs_and_namespaces(
        prom: LoggedPrometheus, settings: Any) -> None:
    """details-v1 -> ratings and othermesh are outside the scope SCOPE, inside NEAR"""
    route = routes(prom.time)["graph"]
    seen: dict[str, tuple[set[tuple[str, str]], list[str]]] = {}
    for name, scope in (("none", []), ("scope", [("mesh_id", SCOPE)]),
                         ("near", [("mesh_id", NEAR)])):
        settings.MESHLENS_QUERY_SCOPE = scope
        graph, _ = get(prom, route, {}, route.params)
        namespaces, _ = get(prom, routes(prom.time)["namespaces"], {}, {})
        seen[name] = (edge_pairs(graph.json()), namespaces.json()["namespaces"])
    near = {("details-v1", "ratings"), ("ratings", "ratings-v1")}
    assert near | {("reviews-v2", "ratings"), ("productpage-v1", "axb")} <= seen["none"][0]
    assert ("reviews-v2", "ratings") in seen["scope"][0]
    assert ("details-v1", "ratings") not in seen["scope"][0]
    assert seen["near"][0] == near
    assert seen["none"][1] == ["bookinfo", "istio-system", "othermesh"]
    assert seen["scope"][1] == ["bookinfo", "istio-system"]
    assert seen["near"][1] == ["bookinfo", "othermesh"]


# --- the WebSocket ---------------------------------------------------------------------------

WS_PARAMS = {k: v for k, v in api_params(0).items() if k != "query_time"}


async def ws_first(query: bytes) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    """Connect to /ws/graph with this raw query string; the first message that is not
    progress (a cold scope's viewer hears progress until its graph is built)."""
    headers = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]
    communicator = WebsocketCommunicator(application, "/ws/graph", headers=headers)
    communicator.scope["query_string"] = query  # raw bytes, as a client may send them
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    while True:
        message = await communicator.receive_json_from(timeout=30)
        if message["type"] != "graph.progress":
            return communicator, message


async def ws_problems(query: bytes, param: str) -> list[str]:
    communicator, message = await ws_first(query)
    if message["type"] != "graph.error":
        await communicator.disconnect()
        return []  # a legal value: the viewer gets the graph
    closed = await communicator.receive_output(timeout=5)
    # Closed by the server, nothing to leave: stopped at once (a disconnect waits for the
    # channel layer's receive loop to notice, up to a second each time).
    communicator.stop()
    if (message["stale"] is False and message["message"].startswith(param[:80])
            and closed == {"type": "websocket.close", "code": 4400}):
        return []
    return [f"{query[:80]!r}: {message} {closed}"]


@pytest.mark.django_db(transaction=True)
async def test_it_turns_hostile_websocket_parameters_away_with_a_message(
        prom: LoggedPrometheus, meshlens_redis: str) -> None:
    problems: list[str] = []
    for slot in [*WS_PARAMS, "<name>"]:
        for value in HOSTILE:
            params = dict(WS_PARAMS)
            name = value or "-"
            if slot == "<name>":
                params[name] = "1"
            else:
                params[slot] = value
            problems += await ws_problems(urlencode(params).encode(),
                                          name if slot == "<name>" else slot)
    problems += await ws_problems(b"namespaces=book\xffinfo", "namespaces")
    problems += await ws_problems(b"namespaces=bookinfo&graph_type=\xc3", "graph_type")
    assert not problems, "\n".join(p[:300] for p in problems[:20])


@pytest.mark.django_db(transaction=True)
async def test_it_scopes_the_live_graphs_queries(
        prom: LoggedPrometheus, meshlens_redis: str, settings: Any) -> None:
    settings.MESHLENS_QUERY_SCOPE = [("mesh_id", SCOPE)]
    live.client().flushdb()
    prom.mark()
    communicator, message = await ws_first(b"namespaces=bookinfo&duration=60s")
    await communicator.disconnect()
    assert message["type"] == "graph.snapshot"
    queries = prom.queries()
    assert queries
    for query in queries:
        masked = LITERAL.sub("S", query)
        assert masked.count("{") == masked.count("{mesh_id=S,") == literals(query).count(SCOPE)
