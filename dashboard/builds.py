"""The answers that take a build, as a view may hand them to a worker (dashboard/answers.py):
each takes the request's query parameters (and route variables) and returns its JSON."""

from __future__ import annotations

import gzip
from typing import Any

import orjson
import redis
from django.conf import settings

from dashboard import answers, frames, graphs, live
from dashboard.answers import Query
from graph.build import gc_paused
from graph.edges import failing_edges, parse_edge_limit, parse_health_filter
from graph.options import GraphOptions
from graph.prometheus import PrometheusError, PrometheusUnavailable
from graph.since import UNHEALTHY, add_since


def cached_body(options: GraphOptions) -> bytes | None:
    """A live scope's graph, gzip-compressed JSON, when the cache has a fresh one: at most
    one refresh period old, or three while a worker is alive. A worker refreshes its live
    scopes every tick, but a big scope's refresh takes longer than a tick (at 10,000
    workloads, its queries and build 15-20 s); building it again for the API would hold a
    second copy of the scope's caches and graph (700 MB at 10,000 workloads)."""
    if options.query_time is not None:
        return frames.cached_frame(options)  # a replay frame the workers built ahead
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
    return graphs.graph_payload(options)


def graph_scope(query: Query, path: Query) -> str:
    return graphs.options_from_query(query).scope_key()


@answers.builder("graph", graph_scope)
def graph_json(query: Query, path: Query) -> bytes:
    """GET /api/v1/graph, built now. The body is made, encoded and dropped with the
    collector held off: back on with the graph still alive, it would walk all of it for
    nothing."""
    return graphs.graph_body(graphs.options_from_query(query))


def last_graph(options: GraphOptions) -> dict[str, Any] | None:
    """A live scope's last graph whatever its age, stale or not, if one is kept."""
    if options.query_time is not None:
        return None
    try:
        cached = live.load(options.scope_key())
        body = None if cached is None else live.load_body(options.scope_key(), cached.version)
    except redis.RedisError:
        return None
    return None if body is None else orjson.loads(gzip.decompress(body))


def edges_scope(query: Query, path: Query) -> str:
    rest = {k: v for k, v in query.items() if k not in ("health", "limit")}
    return graphs.options_from_query(rest).scope_key()


@answers.builder("edges", edges_scope)
def edges_json(query: Query, path: Query) -> bytes:
    """GET /api/v1/edges: the failing edges of the cached graph, or of a new build. When
    Prometheus cannot be reached, those of a live scope's last graph, marked stale: the page
    keeps that graph on screen through an outage, and asks for its list after each update
    (one may come just before the outage), and the on-call needs the list most then."""
    rest = dict(query)
    wanted = parse_health_filter(rest.pop("health", None))
    limit = parse_edge_limit(rest.pop("limit", None))
    with gc_paused():
        options = graphs.options_from_query(rest)
        stale = None
        try:
            graph = current_graph(options)
        except PrometheusUnavailable as exc:
            last = last_graph(options)
            if last is None:
                raise
            graph, stale = last, str(exc)
        edges = failing_edges(graph, wanted)
        total = len(edges)
        # Worst first: the page draws the worst few hundred of a big mesh's 50,000.
        edges = edges[:limit]
        body = {"timestamp": graph["timestamp"], "duration": graph["duration"],
                "total": total, "edges": edges}
        if stale is not None:
            body["staleError"] = stale
            # Prometheus is down: the range query would only fail too (or time out).
            for edge in edges:
                edge["since"] = None
            problem: str | None = stale
        else:
            problem = with_since(options, graph, edges)
        if problem:
            body["sinceError"] = problem
        if "failedSources" in graph:
            body["failedSources"] = graph["failedSources"]
        return orjson.dumps(body)


def kiali_scope(query: Query, path: Query) -> str:
    return graphs.kiali_scope(graphs.kiali_request(query, path))


@answers.builder("kiali", kiali_scope)
def kiali_json(query: Query, path: Query) -> bytes:
    """Kiali's graph routes (`path`: the route's variables)."""
    return graphs.kiali_body(graphs.kiali_request(query, path))


# How long a scope's `since` answers are kept: a little over a refresh period is enough,
# as every tick brings a graph of another timestamp.
SINCE_TTL_S = 120


def with_since(options: GraphOptions, graph: dict[str, Any],
               edges: list[dict[str, Any]]) -> str | None:
    """`since` on each listed edge: worked out for every unhealthy edge of the graph, whatever
    the `health` filter, once per scope and graph (the page asks after every update of a
    live graph, in every browser that shows it, and the range query is the same for all).
    When Prometheus cannot answer the range query, every `since` is None and the problem is
    returned: the list itself comes from the graph, and the on-call needs it most then."""
    scope = live.scope_hash(f"{settings.PROMETHEUS_URL} {options.scope_key()}")
    key = f"meshlens:since:{scope}:{graph['timestamp']}"
    try:
        cached = live.client().get(key)
    except redis.RedisError:
        cached = None
    if cached is not None:
        known = orjson.loads(cached)
    else:
        unhealthy = failing_edges(graph, UNHEALTHY)
        try:
            add_since(graphs.prometheus(), unhealthy, graph["timestamp"], graph["duration"],
                      graphs.health_config(), graphs.mesh_config().scope())
        except PrometheusError as exc:
            for edge in edges:
                edge["since"] = None
            return str(exc)
        known = {edge["id"]: edge["since"] for edge in unhealthy}
        try:
            live.client().set(key, orjson.dumps(known), ex=SINCE_TTL_S)
        except redis.RedisError:
            pass  # no cache: the next viewer asks Prometheus again
    for edge in edges:
        edge["since"] = known.get(edge["id"])
    return None
