"""The API's description (dashboard/openapi.yaml) against the code: valid OpenAPI 3.1, every
route described and every described path routed, every parameter read by its view (a bad
value is a 400 naming it), every documented choice accepted, and every documented default
the view's own (giving it changes nothing).

    ingress -> productpage -> reviews-v2 -> ratings (50 % 503), Bookinfo at QUERY_TIME
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from dashboard import live
from dashboard.routing import websocket_urlpatterns
from graph.options import graph_options_from_query
from tests import openapi_spec
from tests.live_env import QUERY_TIME
from tests.openapi_spec import Operation, Param

pytestmark = pytest.mark.django_db

# Routes that are no part of the API: pages and forms of the sign-in (from the access
# branch), Django's admin, single sign-on's callbacks. Prefixes of the routed paths.
NOT_API = ("/admin/", "/login", "/logout", "/tokens", "/oidc/")
CLIENT = Client()  # one: each new one loads WhiteNoise's scan of the static files again
BAD = "!"  # no parameter of the API takes it


def routed() -> dict[str, set[str]]:
    """The URLconf's paths, as OpenAPI writes them ("/a/{name}"), and their variables."""
    found: dict[str, set[str]] = {}
    for pattern in get_resolver().url_patterns:
        assert isinstance(pattern, URLPattern | URLResolver)
        route = "/" + str(pattern.pattern)
        if route.startswith(NOT_API):
            continue
        assert isinstance(pattern, URLPattern), f"{route}: an include; describe its routes"
        found[re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)] = set(
            re.findall(r"<(?:\w+:)?(\w+)>", route))
    return found


def test_it_is_valid_openapi_3_1() -> None:
    validate(openapi_spec.spec())
    assert openapi_spec.spec()["openapi"].startswith("3.1")


def test_it_describes_every_route_and_routes_every_description() -> None:
    routes = routed()
    described = {op.path: {p.name for p in op.segments} for op in openapi_spec.operations()}
    assert sorted(set(routes) - set(described)) == [], "routed, not described"
    assert sorted(set(described) - set(routes)) == [], "described, not routed"
    assert described == routes, "path segments differ"
    sockets = {"/" + str(p.pattern) for p in websocket_urlpatterns}
    assert sockets == set(openapi_spec.spec()["x-websockets"])


def test_it_lists_the_pages_url_keys() -> None:
    """The page's keys are read by its script: static/js/view.js's KEYS table."""
    view_js = (Path(__file__).resolve().parent.parent / "static" / "js" / "view.js").read_text()
    table = view_js.split("const KEYS = [", 1)[1].split("\n];", 1)[0]
    keys = re.findall(r'^\s*\["(\w+)",', table, re.MULTILINE)
    for operation_id in ("page", "embedGraph"):
        assert [p.name for p in openapi_spec.operation(operation_id).query] == keys


def test_it_serves_the_description_and_a_page_drawing_it() -> None:
    described = CLIENT.get("/api/openapi.yaml")
    assert described.status_code == 200
    assert yaml.safe_load(described.content) == openapi_spec.spec()
    page = CLIENT.get("/api/docs")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    # The CSP allows no inline code: every script is a file, and there is no style attribute.
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and " style=" not in html
    assert "script-src 'self';" in page["Content-Security-Policy"]
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert CLIENT.get(asset).status_code == 200, asset
    assert 'href="/api/docs"' in CLIENT.get("/").content.decode()  # the status bar's link


# --- the parameters, read by their views -------------------------------------------------------

@pytest.fixture
def prom(bookinfo_prometheus: Any, meshlens_redis: str, settings: Any) -> Any:
    settings.MESHLENS_QUERY_SCOPE = []
    return bookinfo_prometheus


def base(op: Operation) -> tuple[dict[str, str], dict[str, str]]:
    """Path segments and query of a legal request: the description's examples of what is
    required, at the test data's time."""
    segments = {p.name: str(p.example) for p in op.segments}
    query = {p.name: str(p.example) for p in op.query if p.required}
    for name in ("query_time", "queryTime"):
        if any(p.name == name for p in op.query):
            query[name] = str(QUERY_TIME)
    if op.operation_id == "impact":
        graph = CLIENT.get("/api/v1/graph", {"namespaces": "bookinfo",
                                             "query_time": QUERY_TIME}).json()
        query["node"] = graph["elements"]["nodes"][0]["data"]["id"]
    if op.operation_id in ("series", "exemplars"):
        query["node"] = str(next(p.example for p in op.query if p.name == "node"))
    if op.operation_id in ("snapshot", "delta"):
        query["version"] = kept_version()
    return segments, query


def kept_version() -> str:
    """A version of the live scope of namespaces=bookinfo, and the delta to it, as a
    refresh keeps them."""
    scope = graph_options_from_query({"namespaces": "bookinfo"}).scope_key()
    body = CLIENT.get("/api/v1/graph", {"namespaces": "bookinfo", "query_time": QUERY_TIME})
    cached = live.save(scope, body.content, {})
    live.save_delta(scope, cached.version, orjson.dumps(
        {"type": "graph.delta", "version": cached.version, "base": cached.version - 1,
         "timestamp": QUERY_TIME, "added": [], "removed": [], "changed": []}))
    return str(cached.version)


def any_value(param: Param) -> bool:
    """Documented as taking any value (Kiali's parameters that do nothing here)."""
    return bool(param.extensions.get("x-meshlens-any-value"))


# Parameters that go with another: the thresholds with compare_to (on /api/v1/graph), node and
# edge one at a time.
WITH = {"threshold_error": {"compare_to": "1h"}, "threshold_p95": {"compare_to": "1h"}}
WITHOUT = {"edge": "node", "node": "edge"}


def with_what_it_needs(op: Operation, param: Param, segments: dict[str, str],
                       query: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    tried = query | WITH.get(param.name, {})
    tried.pop(WITHOUT.get(param.name, ""), None)
    return dict(segments), tried


def get(op: Operation, segments: dict[str, str], query: dict[str, str]) -> Any:
    return CLIENT.get(op.url(segments), query)


def api_operations() -> list[Operation]:
    return [op for op in openapi_spec.operations() if not op.is_page]


@pytest.mark.parametrize("op", api_operations(), ids=lambda op: op.operation_id)
def test_it_reads_every_documented_parameter(prom: Any, op: Operation) -> None:
    segments, query = base(op)
    answer = get(op, segments, query)
    # Version 1 of no live scope: a 404. No worker ticks here: /healthz says so.
    expected = {"healthz": 503}.get(op.operation_id, 200)
    assert answer.status_code == expected, answer.content[:300]
    content_type = answer["Content-Type"].split(";")[0]
    schema = openapi_spec.response_schema(op, answer.status_code, content_type)
    assert schema is not None, f"HTTP {answer.status_code} {content_type} is not described"
    if content_type == "application/json":
        errors = Draft202012Validator(schema).iter_errors(answer.json())
        assert [f"{e.json_path}: {e.message[:200]}" for e in errors] == []
    problems = []
    for param in op.params:
        if any_value(param):
            continue
        tried_segments, tried_query = with_what_it_needs(op, param, segments, query)
        (tried_segments if param.where == "path" else tried_query)[param.name] = BAD
        answer = get(op, tried_segments, tried_query)
        error = answer.json().get("error", "") if answer["Content-Type"] == (
            "application/json") else ""
        if answer.status_code != 400 or not error.startswith(f"{param.name}:"):
            problems.append(f"{param.name}={BAD}: HTTP {answer.status_code} {error[:200]}")
    # And nothing undescribed is taken: an unknown name is a 400 naming it.
    if op.query:
        answer = get(op, segments, query | {"undescribed": "1"})
        if answer.status_code != 400:
            problems.append(f"undescribed=1: HTTP {answer.status_code}")
    assert not problems, "\n".join(problems)


CHOOSING = ("graph", "edges", "kialiGraph", "kialiWorkloadGraph", "kialiAppGraph")


def choices(op: Operation) -> list[tuple[Param, str]]:
    return [(p, value) for p in op.query for value in p.choices]


@pytest.mark.parametrize("operation_id", CHOOSING)
def test_it_accepts_every_documented_choice(prom: Any, operation_id: str) -> None:
    op = openapi_spec.operation(operation_id)
    segments, query = base(op)
    problems = []
    for param, value in choices(op):
        if value == "svg" and shutil.which("dot") is None:
            continue
        answer = get(op, segments, query | {param.name: value})
        if answer.status_code != 200:
            problems.append(f"{param.name}={value}: HTTP {answer.status_code} "
                            f"{answer.content[:200]!r}")
    assert not problems, "\n".join(problems)


DEFAULTING = ("graph", "edges", "kialiGraph", "kialiServiceGraph", "exemplars", "series")


@pytest.mark.parametrize("operation_id", DEFAULTING)
def test_it_defaults_as_described(prom: Any, operation_id: str) -> None:
    """Giving a parameter its documented default answers as leaving it out."""
    op = openapi_spec.operation(operation_id)
    segments, query = base(op)
    without = get(op, segments, query)
    assert without.status_code == 200
    problems = []
    for param in op.query:
        if param.default is None or param.name in query:
            continue
        needs = WITH.get(param.name, {})
        plain = get(op, segments, query | needs) if needs else without
        answer = get(op, segments, query | needs | {param.name: param.default})
        if answer.status_code != 200 or answer.content != plain.content:
            problems.append(f"{param.name}={param.default}: HTTP {answer.status_code}, "
                            "not the answer without it")
    assert not problems, "\n".join(problems)
