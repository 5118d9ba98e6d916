"""Hostile values in every parameter and path segment of every route the API's description
(dashboard/openapi.yaml) lists, and as the name of a parameter.

Each answer must be a 4xx JSON error naming the parameter, or, where the value is legal, an
answer of a content type the description gives; never a 5xx, and never a page that shows
the value. The queries Prometheus received are read back from its query log: with their
string literals masked, each must be one the route sends for ordinary values (no value
changed a query's shape), and a legal name must reach Prometheus as itself.

    ingress -> productpage -> reviews-v2 -> ratings      (mesh_id=SCOPE)
               productpage -> axb (a service named like "a.b" read as a regex)
    details-v1 -> ratings, othermesh: a -> b             (mesh_id=NEAR, outside the scope)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from django.test import Client

from dashboard import live
from graph.options import graph_options_from_query
from tests import openapi_spec
from tests.logged_prometheus import (
    HOSTILE,
    LITERAL,
    NEAR,
    SCOPE,
    XSS,
    LoggedPrometheus,
    api_params,
    literals,
    shape,
)
from tests.openapi_spec import Operation

pytestmark = pytest.mark.django_db

# Values that pass validation yet mean something in PromQL or RE2.
LEGAL = {"namespace": ["0-a"], "workload": ["a.b"], "service": ["a.b"], "app": ["A_b.c"],
         "version": ["1.0_rc-2"], "clusterName": ["east_1.b"]}


def kiali_params(t: int) -> dict[str, str]:
    return {"graphType": "workload", "duration": "60s", "queryTime": str(t),
            "appenders": "responseTime,securityPolicy,throughput,idleNode,health",
            "injectServiceNodes": "true", "includeIdleEdges": "false", "boxBy": "app",
            "responseTime": "avg", "throughputType": "request", "rateHttp": "requests",
            "rateGrpc": "total", "rateTcp": "total", "ambientTraffic": "none",
            "configVendor": "cytoscape", "telemetryVendor": "istio", "refreshInterval": "15s",
            "clusterName": "Kubernetes"}


# Legal values of the parameters that are not the graph's, other than their defaults.
OTHERS = {"health": "failure,healthy", "compare_to": "5m", "threshold_error": "1",
          "threshold_p95": "10", "limit": "5", "rate_interval": "30s"}
# Each a mode of /api/v1/graph of its own: the hostile values of the others are tried
# without them (and theirs without the others).
MODES = ("format", "find", "hide", "compare_to", "threshold_error", "threshold_p95")
# One at a time.
NODE_OR_EDGE = ("node", "edge")


@dataclass(frozen=True)
class Route:
    op: Operation
    segments: dict[str, str]
    params: dict[str, str]

    def url(self, segments: dict[str, str]) -> str:
        return self.op.url(segments)


CLIENT = Client()  # one: each new one loads WhiteNoise's scan of the static files again


def live_version(t: int) -> str:
    """A version of the live scope of the graph parameters (without query_time), and the
    delta to it, kept in Redis as a refresh keeps them."""
    scope = graph_options_from_query(
        {k: v for k, v in api_params(t).items() if k != "query_time"}).scope_key()
    body = orjson.dumps({"timestamp": t, "duration": 60, "graphType": "workload",
                         "elements": {"nodes": [], "edges": []}})
    cached = live.save(scope, body, {})
    live.save_delta(scope, cached.version, orjson.dumps(
        {"type": "graph.delta", "version": cached.version, "base": cached.version - 1,
         "timestamp": t, "added": [], "removed": [], "changed": []}))
    return str(cached.version)


def route(op: Operation, prom: LoggedPrometheus) -> Route:
    """A legal request of the operation: each parameter it takes at a value of the tables
    above, else, where it is required, the description's example."""
    values = api_params(prom.time) | OTHERS
    if op.path.startswith("/api/namespaces/"):
        values = kiali_params(prom.time) | {"namespaces": "bookinfo"}
    if op.operation_id in ("snapshot", "delta"):
        values = values | {"version": live_version(prom.time)}
    if op.operation_id == "impact":
        graph = CLIENT.get("/api/v1/graph", api_params(prom.time)).json()
        values = values | {"node": graph["elements"]["nodes"][0]["data"]["id"]}
    params = {}
    for p in op.query:
        if p.required or (p.name in values and p.name not in MODES + NODE_OR_EDGE):
            value = values.get(p.name)
            legal = value is not None and (not p.choices or value in p.choices)
            params[p.name] = value if legal else str(p.example)
    if op.operation_id in ("series", "exemplars"):
        params["node"] = str(next(p.example for p in op.query if p.name == "node"))
    if op.operation_id == "impact":
        params["node"] = values["node"]
    if op.operation_id == "graphDiff":
        params |= {k: OTHERS[k] for k in MODES[3:]}
    return Route(op, {p.name: str(p.example) for p in op.segments}, params)


def get(prom: LoggedPrometheus, route: Route, segments: dict[str, str],
        params: dict[str, str]) -> tuple[Any, list[str]]:
    prom.mark()
    response = CLIENT.get(route.url(segments), params)
    return response, prom.queries()


def content_type(response: Any) -> str:
    return str(response["Content-Type"]).split(";")[0]


def problems_with(response: Any, base: Any, op: Operation, slot: str, value: str) -> list[str]:
    """What is wrong with an answer to `slot` set to `value` (nothing, if all is well):
    the base request's answer, a 4xx naming the slot (or a 404 the route documents: a
    snapshot of another scope is not kept), or a legal value's answer."""
    where = f"{slot[:40]}={value[:40]!r}: HTTP {response.status_code}"
    if content_type(response) == "text/html" and XSS.encode() in response.content:
        return [f"{where}: the page shows the value as it came"]
    if response.status_code == base.status_code and content_type(response) == content_type(base):
        return []  # the value changes nothing the route answers (or is legal)
    if response.status_code == 200:
        return [] if content_type(response) in op.content_types else [f"{where} "
                                                                      f"{content_type(response)}"]
    if response.status_code >= 500 or content_type(response) != "application/json":
        return [f"{where} {response.content[:200]!r}"]
    error = str(response.json()["error"])
    if len(error) > 1000:
        return [f"{where}: an error of {len(error)} characters (the value shown whole?)"]
    # The impact's node is an id of the graph the other parameters give: a legal value of
    # those may give a graph without it.
    named = error.startswith((slot[:80], "path: ", *(
        ("node: ",) if op.operation_id == "impact" else ())))
    if response.status_code == 400 and named:
        return []
    if response.status_code == 404 and (named or 404 in op.statuses):
        return []
    return [f"{where} {error[:200]}"]


def value_reached(queries: list[str], slot: str, value: str) -> bool:
    """A legal name reached Prometheus as itself: equal to a literal, or, for a service,
    as the host pattern that matches its own hosts and not those of a look-alike."""
    found = [lit for q in queries for lit in literals(q)]
    if slot != "service":
        return value in found
    host, twin = f"{value}.bookinfo.svc.cluster.local", f"{value.replace('.', 'x')}.bookinfo.x"
    return any(re.fullmatch(lit, host) and not re.fullmatch(lit, twin)
               for lit in found if lit.startswith("^"))


def tried_here(op: Operation, name: str) -> bool:
    """Whether `name` is tried on this operation: a parameter documented as taking any value
    does the same on every route that lists it (each try a whole build), so it is tried on
    the first one only."""
    param = next(p for p in op.params if p.name == name)
    if not param.extensions.get("x-meshlens-any-value"):
        return True
    first = next(o for o in openapi_spec.operations() if param in o.params)
    return first.operation_id == op.operation_id


def slots(op: Operation) -> list[str]:
    return [p.name for p in op.segments] + [p.name for p in op.query if tried_here(op, p.name)]


@pytest.mark.parametrize("op", openapi_spec.operations(), ids=lambda op: op.operation_id)
def test_it_answers_hostile_values_with_a_clear_error_or_a_legal_answer(
        hostile_prom: LoggedPrometheus, op: Operation) -> None:
    tried = route(op, hostile_prom)
    base, base_queries = get(hostile_prom, tried, tried.segments, tried.params)
    assert base.status_code == (503 if op.operation_id == "healthz" else 200), base.content
    shapes = {shape(q) for q in base_queries}
    if "appenders" in tried.params:
        # Without the security appender the inbound queries group by fewer labels (they
        # group by its labels too only when it reads their answer): legal shapes as well.
        _, plain = get(hostile_prom, tried, tried.segments,
                       tried.params | {"appenders": "responseTime"})
        shapes |= {shape(q) for q in plain}
    problems: list[str] = []
    for slot in [*slots(op), "<name>"]:
        for value in HOSTILE + (LEGAL.get(slot, []) if slot in tried.segments or slot
                                == "clusterName" else []):
            segments, params = dict(tried.segments), dict(tried.params)
            if slot == "<name>":
                params[value or "-"] = "1"  # a parameter named by the hostile value
            elif slot in segments:
                segments[slot] = value
            else:
                if slot in NODE_OR_EDGE:
                    params.pop("edge" if slot == "node" else "node", None)
                params[slot] = value
            response, queries = get(hostile_prom, tried, segments, params)
            problems += problems_with(response, base, op,
                                      value or "-" if slot == "<name>" else slot, value)
            if slot == "<name>" and response.status_code == 400:
                continue
            if any(shape(q) not in shapes for q in queries) and slot in params:
                # A legal value that reads as the default ("" for duration): the queries
                # are those of the request without it.
                _, default_queries = get(hostile_prom, tried, segments,
                                         {k: v for k, v in params.items() if k != slot})
                shapes |= {shape(q) for q in default_queries}
            problems += [f"{slot}={value[:40]!r} changed a query's shape: {q[:300]}"
                         for q in queries if shape(q) not in shapes]
            named = slot in segments or (slot == "clusterName" and segments)  # node graphs
            if named and value in LEGAL.get(slot, []) and not value_reached(queries, slot,
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


def test_it_reads_a_service_name_as_itself_not_as_a_pattern(hostile_prom: LoggedPrometheus) -> None:
    """productpage -> axb: the service node graph of "a.b" is empty, that of "axb" is not"""
    service = route(openapi_spec.operation("kialiServiceGraph"), hostile_prom)
    like, _ = get(hostile_prom, service, {"namespace": "bookinfo", "service": "a.b"},
                  service.params)
    real, _ = get(hostile_prom, service, {"namespace": "bookinfo", "service": "axb"},
                  service.params)
    assert like.status_code == real.status_code == 200
    assert like.json()["elements"]["nodes"] == []
    assert {"axb", "productpage-v1"} <= node_labels(real.json())


@pytest.mark.parametrize("operation_id", [
    "graph", "edges", "impact", "graphDiff", "series", "kialiGraph", "kialiWorkloadGraph",
    "kialiServiceGraph", "kialiAppGraph", "kialiAppVersionGraph"])
def test_it_scopes_every_selector_with_any_scope_value(
        hostile_prom: LoggedPrometheus, settings: Any, operation_id: str) -> None:
    """With mesh_id=SCOPE, each selector starts with it, and only SCOPE's series count."""
    settings.MESHLENS_QUERY_SCOPE = [("mesh_id", SCOPE)]
    scoped = route(openapi_spec.operation(operation_id), hostile_prom)
    response, queries = get(hostile_prom, scoped, scoped.segments, scoped.params)
    assert response.status_code == 200, response.content
    assert queries
    for query in queries:
        masked = LITERAL.sub("S", query)
        assert masked.count("{") == masked.count("{mesh_id=S,") == literals(query).count(SCOPE)


def test_it_keeps_to_the_scope_in_graphs_and_namespaces(
        hostile_prom: LoggedPrometheus, settings: Any) -> None:
    """details-v1 -> ratings and othermesh are outside the scope SCOPE, inside NEAR"""
    graph_route = route(openapi_spec.operation("graph"), hostile_prom)
    namespaces_route = route(openapi_spec.operation("namespaces"), hostile_prom)
    seen: dict[str, tuple[set[tuple[str, str]], list[str]]] = {}
    for name, scope in (("none", []), ("scope", [("mesh_id", SCOPE)]),
                         ("near", [("mesh_id", NEAR)])):
        settings.MESHLENS_QUERY_SCOPE = scope
        graph, _ = get(hostile_prom, graph_route, {}, graph_route.params)
        namespaces, _ = get(hostile_prom, namespaces_route, {}, {})
        seen[name] = (edge_pairs(graph.json()), namespaces.json()["namespaces"])
    near = {("details-v1", "ratings"), ("ratings", "ratings-v1")}
    assert near | {("reviews-v2", "ratings"), ("productpage-v1", "axb")} <= seen["none"][0]
    assert ("reviews-v2", "ratings") in seen["scope"][0]
    assert ("details-v1", "ratings") not in seen["scope"][0]
    assert seen["near"][0] == near
    assert seen["none"][1] == ["bookinfo", "istio-system", "othermesh"]
    assert seen["scope"][1] == ["bookinfo", "istio-system"]
    assert seen["near"][1] == ["bookinfo", "othermesh"]
