"""HTTP views: the page, the JSON API and /healthz. Thin: parse, call, answer."""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

import orjson
import redis
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found

from dashboard import access, answers, live, metrics, retention, shared_answers
from dashboard.answers import Query
from dashboard.auth import api_login, page_login
from dashboard.builds import cached_body, current_graph
from dashboard.graphs import health_config, namespaces, options_from_query, prometheus
from graph import find, health
from graph.access import visible
from graph.build import gc_paused
from graph.compression import gzipped
from graph.edges import parse_edge_limit, parse_health_filter
from graph.export import DEFAULT_FORMAT, Exported, export, parse_format
from graph.options import GraphOptions, OptionError, parse_names, shown
from graph.prometheus import PrometheusError, without_credentials

View = Callable[..., HttpResponse]


def json_errors(view: View) -> View:
    """Bad input -> 400, Prometheus (or Graphviz) down or slow -> 503, always as
    {"error": ...} (answers.status_of)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except Exception as exc:
            status = answers.status_of(exc)
            if status is None:
                raise
            return JsonResponse({"error": str(exc)}, status=status)

    return wrapper


def graph_response(make_body: Callable[[], dict[str, Any] | bytes]) -> HttpResponse:
    """A graph as JSON: written as bytes (graph/cytoscape_json.py), or a dict encoded with
    orjson (several times faster than JsonResponse on the megabytes of a big mesh). The
    body is made, encoded and dropped with the collector held off: back on with the graph
    still alive, it would walk all of it for nothing."""
    with gc_paused():
        body = make_body()
        encoded = body if isinstance(body, bytes) else orjson.dumps(body)
    return HttpResponse(encoded, content_type="application/json")


def built(request: HttpRequest, kind: str, query: Query,
          path: Query | None = None) -> HttpResponse:
    """An answer that takes a build (dashboard/builds.py): a worker's while one is alive,
    so that this process never holds a graph; else built here."""
    reply = answers.ask_worker(kind, query, path)
    if reply is None:
        body = answers.BUILDERS[kind](query, path or {})
        return HttpResponse(body, content_type="application/json")
    response = gzip_response(reply.body, request)
    response.status_code = reply.status
    return response


def shared_built(request: HttpRequest, kind: str, query: Query, path: Query | None = None,
                 version: int | None = None) -> HttpResponse:
    """built(), built once for every request asking the same now and kept for a refresh
    period (dashboard/shared_answers.py); `version`: that of the live graph it comes from."""

    def build() -> tuple[int, bytes]:
        response = built(request, kind, query, path)
        body = response.content
        if response.get("Content-Encoding") != "gzip":
            body = gzipped(body)
        return response.status_code, body

    key = shared_answers.key_of(kind, query, path or {}, version,
                                access.scoped(access.current()))
    status, body = shared_answers.shared(key, settings.MESHLENS_REFRESH_SECONDS,
                                         answers.answer_timeout_s(), build)
    response = gzip_response(body, request)
    response.status_code = status
    return response


def gzip_response(compressed: bytes, request: HttpRequest) -> HttpResponse:
    """Cached gzip JSON as it is stored when the client takes gzip, else decompressed."""
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response = HttpResponse(compressed, content_type="application/json")
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(gzip.decompress(compressed), content_type="application/json")
    response["Vary"] = "Accept-Encoding"
    return response


def exported_response(exported: Exported, request: HttpRequest) -> HttpResponse:
    """An export (graph/export.py), gzip-compressed when the client takes gzip."""
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response = HttpResponse(gzip.compress(exported.content, compresslevel=6),
                                content_type=exported.content_type)
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(exported.content, content_type=exported.content_type)
    response["Vary"] = "Accept-Encoding"
    return response


# How long the page waits for Prometheus to name the namespaces it opens with.
DEFAULT_NAMESPACES_TIMEOUT_S = 2.0


def default_namespaces() -> list[str]:
    """The configured namespaces, else those seen in telemetry. None if Prometheus is down
    or does not answer within DEFAULT_NAMESPACES_TIMEOUT_S: the page then opens at once on
    its namespace picker, instead of waiting for the full query timeout."""
    if settings.MESHLENS_DEFAULT_NAMESPACES:
        return visible(settings.MESHLENS_DEFAULT_NAMESPACES, access.current())
    try:
        return namespaces(timeout=DEFAULT_NAMESPACES_TIMEOUT_S)[:20]
    except PrometheusError:
        return []


def page_health_rules() -> list[dict[str, Any]] | None:
    """The admin's health rules, for the page's summed edges of folded namespaces; None
    (the page then judges them by Kiali's defaults) for a viewer limited to some
    namespaces: the rules name namespaces and workloads of the whole mesh."""
    if access.scoped(access.current()):
        return None
    return health.plain_rules(health_config())


@require_GET
@page_login
def index(request: HttpRequest, embed: bool = False) -> HttpResponse:
    """The page; with `embed` (/embed/graph), the graph alone, for other sites' frames."""
    config = {
        "embed": embed,
        "refreshSeconds": settings.MESHLENS_REFRESH_SECONDS,
        "retentionSeconds": retention.retention_seconds(),
        "wsPath": "/ws/graph",
        "apiPath": "/api/v1/graph",
        "edgesPath": "/api/v1/edges",
        "namespacesPath": "/api/v1/namespaces",
        "healthRules": page_health_rules(),
        "defaults": {"namespaces": default_namespaces(), "graph_type": "workload",
                     "duration": settings.MESHLENS_DEFAULT_DURATION,
                     "inject_service_nodes": True},
    }
    return render(request, "index.html", {"config": config, "embed": embed})


@require_GET
@api_login
@json_errors
def api_graph(request: HttpRequest) -> HttpResponse:
    query = request.GET.dict()
    output = parse_format(query.pop("format", None))
    if "compare_to" in query:
        if output != DEFAULT_FORMAT:
            raise OptionError("format", "compare_to= marks the default (cytoscape) body only")
        # Imported here: impact_views builds on this module's helpers. (It takes no find=
        # or hide=: they are an unknown parameter there, a 400 naming them.)
        from dashboard.impact_views import marked_graph
        return marked_graph(request)
    # Find and Hide (graph/find.py) shape the answer, not the graph built: the same scope.
    shaping = {name: find.parse(query.pop(name, None), name) for name in ("find", "hide")}
    shaped = any(e.clauses for e in shaping.values())
    options = options_from_query(query)
    retention.check(options.duration, options.query_time)
    if output != DEFAULT_FORMAT:
        graph = current_graph(options)
        if shaped:
            graph = find.apply(graph, shaping["find"], shaping["hide"])
        return exported_response(export(graph, output), request)
    if shaped:
        return graph_response(
            lambda: find.apply(current_graph(options), shaping["find"], shaping["hide"]))
    body = cached_body(options)
    if body is not None:
        return gzip_response(body, request)
    return past_response(built(request, "graph", query), options, request)


# A graph of a moment this far in the past no longer changes (late scrapes have landed).
SETTLED_SECONDS = 120


def past_response(response: HttpResponse, options: GraphOptions,
                  request: HttpRequest) -> HttpResponse:
    """A graph of a settled past moment, compressed when the client takes gzip and kept by
    the browser: the page's replay prefetches frames ahead of the playhead, and the frame
    on screen is then read from the browser's cache."""
    if options.query_time is None or options.query_time > time.time() - SETTLED_SECONDS:
        return response
    if response.status_code != 200:
        return response
    compressed = response.get("Content-Encoding") == "gzip"
    body = gzip.decompress(response.content) if compressed else response.content
    if b'"failedSources"' in body:  # partial: asking again may give it whole
        return response
    if not compressed and "gzip" in request.headers.get("Accept-Encoding", ""):
        response.content = gzipped(body)
        response["Content-Encoding"] = "gzip"
    response["Vary"] = "Accept-Encoding"
    response["Cache-Control"] = "private, max-age=3600, immutable"
    return response


@require_GET
@api_login
@json_errors
def api_snapshot(request: HttpRequest) -> HttpResponse:
    """Version `version` of a live scope's graph, as a graph.snapshot message refers to it."""
    return kept_version(request, live.load_body, "snapshot")


@require_GET
@api_login
@json_errors
def api_delta(request: HttpRequest) -> HttpResponse:
    """The graph.delta message to version `version` of a live scope, as a graph.delta sent
    by reference names it."""
    return kept_version(request, live.load_delta, "delta")


def kept_version(request: HttpRequest, load: Callable[[str, int], bytes | None],
                 what: str) -> HttpResponse:
    query = request.GET.dict()
    version = parse_version(query.pop("version", None))
    options = options_from_query(query)
    try:
        body = load(options.scope_key(), version)
    except redis.RedisError as exc:
        return JsonResponse({"error": f"the graph cache (Redis) cannot be reached: "
                                      f"{type(exc).__name__}"}, status=503)
    if body is None:
        return JsonResponse({"error": f"version: {what} {version} of this view is no longer "
                                      "kept; reconnect for the current one"}, status=404)
    response = gzip_response(body, request)
    # A version never changes: the browser may keep it.
    response["Cache-Control"] = "private, max-age=3600, immutable"
    return response


def parse_version(value: str | None) -> int:
    if value is None or not value.isdigit() or len(value) > 18:
        raise OptionError("version", f"{shown(value or '')} is not a snapshot version (a whole "
                                     "number)")
    return int(value)


@require_GET
@api_login
@json_errors
def api_edges(request: HttpRequest) -> HttpResponse:
    query = request.GET.dict()
    # Bad parameters are answered here, before any build is asked for.
    rest = dict(query)
    parse_health_filter(rest.pop("health", None))
    parse_edge_limit(rest.pop("limit", None))
    options = options_from_query(rest)
    if options.query_time is not None:
        return built(request, "edges", query)
    # The failing edges of now: the same for every request of this scope and graph.
    try:
        cached = live.load(options.scope_key())
    except redis.RedisError:
        cached = None
    return shared_built(request, "edges", query,
                        version=None if cached is None else cached.version)


@require_GET
@api_login
@json_errors
def api_namespaces(request: HttpRequest) -> HttpResponse:
    query = request.GET.dict()
    for name in query:
        if name not in ("sources", "dialects"):
            raise OptionError(name, "unknown parameter; use dialects, sources")
    options = GraphOptions(namespaces=(), sources=parse_names(query.get("sources"), "sources"),
                           dialects=parse_names(query.get("dialects"), "dialects"))
    return JsonResponse({"namespaces": namespaces(options=options)})


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 404 handler: JSON under /api/ (a name holding an encoded "/" lands here),
    Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": f"path: no API route {shown(request.path)}"}, status=404)
    return page_not_found(request, exception or Http404())


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    checks: dict[str, dict[str, Any]] = {}
    checks["prometheus"] = {"ok": prometheus().ready(),
                            "url": without_credentials(settings.PROMETHEUS_URL)}
    try:
        live.client().ping()
        age = live.worker_age()
        checks["redis"] = {"ok": True}
        limit = 3 * settings.MESHLENS_REFRESH_SECONDS
        checks["worker"] = {"ok": age is not None and age < limit,
                            "last_tick_seconds_ago": None if age is None else round(age, 1)}
    except redis.RedisError as exc:
        checks["redis"] = {"ok": False, "error": type(exc).__name__}
        checks["worker"] = {"ok": False, "error": "Redis is unreachable"}
    ok = all(c["ok"] for c in checks.values())
    return JsonResponse({"ok": ok, "checks": checks}, status=200 if ok else 503)


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Meshlens's own metrics, every process's, in Prometheus's text format."""
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)
