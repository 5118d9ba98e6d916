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

from dashboard import access, live, metrics, retention
from dashboard.auth import api_login, page_login
from dashboard.graphs import graph_payload, namespaces, options_from_query, prometheus
from graph.access import visible
from graph.build import gc_paused
from graph.edges import failing_edges, parse_health_filter
from graph.export import DEFAULT_FORMAT, Exported, export, parse_format
from graph.export_svg import GraphvizError
from graph.ids import NodeIdError
from graph.kiali_params import ForbiddenNamespace
from graph.options import GraphOptions, OptionError, parse_names, shown
from graph.prometheus import PrometheusError, PrometheusQueryError
from graph.promql import PromQLError

View = Callable[..., HttpResponse]


def json_errors(view: View) -> View:
    """Bad input -> 400, Prometheus (or Graphviz) down or slow -> 503, always as
    {"error": ...}."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except ForbiddenNamespace as exc:
            return JsonResponse({"error": str(exc)}, status=403)
        except (OptionError, NodeIdError, PromQLError) as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        except PrometheusQueryError as exc:
            return JsonResponse({"error": str(exc)}, status=502)
        except (PrometheusError, GraphvizError) as exc:
            return JsonResponse({"error": str(exc)}, status=503)

    return wrapper


def graph_response(make_body: Callable[[], dict[str, Any]]) -> HttpResponse:
    """A graph as JSON, encoded with orjson (several times faster than JsonResponse on the
    megabytes of a big mesh). The body is made, encoded and dropped with the collector
    held off: back on with the graph still alive, it would walk all of it for nothing."""
    with gc_paused():
        encoded = orjson.dumps(make_body())
    return HttpResponse(encoded, content_type="application/json")


def cached_body(options: GraphOptions) -> bytes | None:
    """A live scope's graph, gzip-compressed JSON, when the cache has a fresh one: at most
    one refresh period old, or three while a worker is alive. A worker refreshes its live
    scopes every tick, but a big scope's refresh takes longer than a tick (at 10,000
    workloads, its queries and build 15-20 s); a build here instead would hold a second
    copy of the scope's caches and graph in the web process (700 MB at 10,000
    workloads)."""
    if options.query_time is not None:
        return None
    period = settings.MESHLENS_REFRESH_SECONDS
    try:
        body = live.fresh_body(options.scope_key(), period)
        if body is None:
            age = live.worker_age()
            if age is not None and age < 3 * period:
                body = live.fresh_body(options.scope_key(), 3 * period)
        return body
    except redis.RedisError:
        return None


def current_graph(options: GraphOptions) -> dict[str, Any]:
    """A live scope's cached graph when fresh, else a new build."""
    body = cached_body(options)
    if body is not None:
        return orjson.loads(gzip.decompress(body))
    return graph_payload(options)


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


@require_GET
@page_login
def index(request: HttpRequest) -> HttpResponse:
    config = {
        "refreshSeconds": settings.MESHLENS_REFRESH_SECONDS,
        "retentionSeconds": retention.retention_seconds(),
        "wsPath": "/ws/graph",
        "apiPath": "/api/v1/graph",
        "namespacesPath": "/api/v1/namespaces",
        "defaults": {"namespaces": default_namespaces(), "graph_type": "workload",
                     "duration": settings.MESHLENS_DEFAULT_DURATION,
                     "inject_service_nodes": True},
    }
    return render(request, "index.html", {"config": config})


@require_GET
@api_login
@json_errors
def api_graph(request: HttpRequest) -> HttpResponse:
    query = request.GET.dict()
    output = parse_format(query.pop("format", None))
    if "compare_to" in query:
        if output != DEFAULT_FORMAT:
            raise OptionError("format", "compare_to= marks the default (cytoscape) body only")
        # Imported here: impact_views builds on this module's helpers.
        from dashboard.impact_views import marked_graph
        return marked_graph(request)
    options = options_from_query(query)
    retention.check(options.duration, options.query_time)
    if output != DEFAULT_FORMAT:
        return exported_response(export(current_graph(options), output), request)
    body = cached_body(options)
    if body is not None:
        return gzip_response(body, request)
    response = graph_response(lambda: graph_payload(options))
    return past_response(response, options, request)


# A graph of a moment this far in the past no longer changes (late scrapes have landed).
SETTLED_SECONDS = 120


def past_response(response: HttpResponse, options: GraphOptions,
                  request: HttpRequest) -> HttpResponse:
    """A graph of a settled past moment, compressed when the client takes gzip and kept by
    the browser: the page's replay prefetches frames ahead of the playhead, and the frame
    on screen is then read from the browser's cache."""
    if options.query_time is None or options.query_time > time.time() - SETTLED_SECONDS:
        return response
    if b'"failedSources"' in response.content:  # partial: asking again may give it whole
        return response
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response.content = gzip.compress(response.content, compresslevel=1)
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
        raise OptionError("version", f"{value!r} is not a snapshot version (a whole number)")
    return int(value)


@require_GET
@api_login
@json_errors
def api_edges(request: HttpRequest) -> HttpResponse:
    query = request.GET.dict()
    wanted = parse_health_filter(query.pop("health", None))
    options = options_from_query(query)
    graph = current_graph(options)
    body = {"timestamp": graph["timestamp"], "duration": graph["duration"],
            "edges": failing_edges(graph, wanted)}
    if "failedSources" in graph:
        body["failedSources"] = graph["failedSources"]
    return JsonResponse(body)


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
    checks["prometheus"] = {"ok": prometheus().ready(), "url": settings.PROMETHEUS_URL}
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
