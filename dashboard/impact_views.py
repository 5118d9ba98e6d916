"""The API's "what it hits" and "what changed": GET /api/v1/impact and /api/v1/graph/diff,
and /api/v1/graph?compare_to=. Thin: parse, get the graphs, call graph/impact.py or
graph/diff.py."""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from typing import Any

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from dashboard import shared_answers
from dashboard.auth import api_login
from dashboard.graphs import graph_body, options_from_query
from dashboard.views import current_graph, graph_response, json_errors
from graph.compression import gzipped
from graph.diff import graph_diff, mark_diff, parse_compare_to, parse_thresholds
from graph.impact import blast_radius
from graph.options import GraphOptions

DIFF_PARAMS = ("compare_to", "threshold_error", "threshold_p95")


def header(graph: Mapping[str, Any]) -> dict[str, Any]:
    return {k: graph[k] for k in ("timestamp", "duration", "graphType") if k in graph}


@require_GET
@api_login
@json_errors
def impact(request: HttpRequest) -> HttpResponse:
    """The blast radius of `node=<id>` or `edge=<id>` in the graph of the other parameters."""
    query = request.GET.dict()
    node, edge = query.pop("node", None), query.pop("edge", None)
    graph = current_graph(options_from_query(query))
    return JsonResponse(header(graph) | blast_radius(graph, node=node, edge=edge))


def compared(request: HttpRequest) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The graph now, the same window ending at compare_to, and what changed between."""
    query = request.GET.dict()
    diff_query = {k: query.pop(k) for k in DIFF_PARAMS if k in query}
    thresholds = parse_thresholds(diff_query)
    options = options_from_query(query)
    # Checked before any build: a bad value costs no Prometheus query.
    parse_compare_to(diff_query.get("compare_to"), options.resolved_time())
    now = current_graph(options)
    earlier = parse_compare_to(diff_query.get("compare_to"), int(now["timestamp"]))
    # Shared only for a graph of now, as every shared answer: a request naming its time
    # gets its own build.
    then = (earlier_graph(options.at(earlier)) if options.query_time is None
            else orjson.loads(graph_body(options.at(earlier))))
    return now, then, graph_diff(now, then, thresholds) | {"compareTo": then["timestamp"]}


# How long an earlier graph is kept for the other viewers of its scope. Live, the graph now
# moves on every refresh and the earlier time with it, so viewers share it within a refresh;
# a fixed compare_to (a Unix time) is shared for as long as it is kept.
EARLIER_TTL_MIN_S = 60
# How long a viewer waits for another's build of the earlier graph before making its own.
EARLIER_WAIT_S = 120.0


def earlier_graph(options: GraphOptions) -> dict[str, Any]:
    """The graph the comparison is against, built once for every viewer of the same scope,
    window and earlier time (dashboard/shared_answers.py)."""
    key = shared_answers.key_of("earlier", {
        "scope": options.scope_key(), "at": str(options.query_time),
        "prometheus": str(settings.PROMETHEUS_URL)}, {}, None, options.access)
    ttl = max(EARLIER_TTL_MIN_S, 3 * settings.MESHLENS_REFRESH_SECONDS)
    _, body = shared_answers.shared(key, ttl, EARLIER_WAIT_S, lambda: (
        200, gzipped(graph_body(options))))
    graph: dict[str, Any] = orjson.loads(gzip.decompress(body))
    return graph


@require_GET
@api_login
@json_errors
def graph_diff_view(request: HttpRequest) -> HttpResponse:
    """What changed between the graph now and the same window ending at compare_to."""
    now, _, changes = compared(request)
    return JsonResponse(header(now) | changes)


def marked_graph(request: HttpRequest) -> HttpResponse:
    """/api/v1/graph?compare_to=: the graph now, its elements marked with `diff`."""
    now, then, changes = compared(request)
    mark_diff(now, then, changes)
    now["compareTo"] = changes["compareTo"]
    now["thresholds"] = changes["thresholds"]
    return graph_response(lambda: now)
