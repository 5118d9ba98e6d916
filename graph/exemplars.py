"""Example traces of a node or an edge: the exemplars that the dialects' latency histograms
carry, read with Prometheus's /api/v1/query_exemplars, slowest first, with a link into the
trace UI.

A mesh proxy (or an OpenTelemetry SDK) that samples a request into a trace can attach the
trace's id to the histogram bucket the request's latency fell in; Prometheus keeps such
exemplars when it runs with `--enable-feature=exemplar-storage` and scrapes OpenMetrics.
Which series are about a node or an edge is the dialect's business (its `exemplar_query`,
graph/sources/dialect.py); what is done with the exemplars then is the same for all.

    GET /api/v1/exemplars?edge=workload:bookinfo/reviews-v2,workload:bookinfo/ratings-v1
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from graph import ids
from graph.options import (
    MeshConfig,
    OptionError,
    parse_duration,
    parse_name,
    parse_names,
    parse_namespaces,
    parse_query_time,
    shown,
)
from graph.prometheus import Exemplar, Prometheus
from graph.sources import dialect_named
from graph.sources.dialect import Endpoint, ExemplarQuery, ExemplarSource

# The label names trace ids and span ids go by: OpenTelemetry's exporters, Tempo's
# metrics-generator, Grafana's defaults.
TRACE_ID_LABELS = ("trace_id", "traceID", "traceId", "TraceID", "trace")
SPAN_ID_LABELS = ("span_id", "spanID", "spanId", "SpanID", "span")
# What a link template may hold besides the URL.
PLACEHOLDER = re.compile(r"\{(trace_id|span_id|start_ms|end_ms)\}")
TRACE_ID = re.compile(r"[0-9A-Za-z_-]{1,128}")

DEFAULT_LIMIT = 20
MAX_LIMIT = 200
KINDS = {"workload": ids.NODE_WORKLOAD, "app": ids.NODE_APP, "service": ids.NODE_SERVICE}
# Trace-derived peers: named by the spans that call them (a host, a db.name, host:port).
PEER_KINDS = {kind: kind for kind in ids.PEER_NODE_TYPES}
PEER_NAME = re.compile(r"[^,\x00-\x1f\x7f]{1,253}")


@dataclass(frozen=True)
class ExemplarRequest:
    """A node (`source` None) or an edge source -> dest, over [start, end]."""

    dest: Endpoint
    source: Endpoint | None
    start: int
    end: int
    limit: int = DEFAULT_LIMIT
    sources: tuple[str, ...] = ()  # data sources to read, by name; empty: every one
    dialects: tuple[str, ...] = ()  # dialects to read, by name; empty: every one


def parse_edge(edge: str) -> tuple[Endpoint, Endpoint]:
    """`edge=SOURCE,DESTINATION`: its two ends (OptionError naming `edge`)."""
    ends = edge.split(",")
    if len(ends) != 2:
        raise OptionError("edge", f"{shown(edge)} is not SOURCE,DESTINATION (two nodes)")
    source, dest = parse_endpoint(ends[0], "edge"), parse_endpoint(ends[1], "edge")
    if dest.kind == ids.NODE_UNKNOWN:
        raise OptionError("edge", "the unknown node is a source only")
    return source, dest


def parse_endpoint(value: str, param: str) -> Endpoint:
    """`workload:NS/NAME`, `service:NS/NAME`, `app:NS/APP`, `app:NS/APP/VERSION`, a
    trace-derived peer (`database:NS/NAME`, `messaging:NS/NAME`, `virtual:NS/NAME`), or
    `unknown` (the unknown source)."""
    if value == ids.UNKNOWN:
        return Endpoint(ids.NODE_UNKNOWN)
    kind, _, path = value.partition(":")
    if kind in PEER_KINDS:
        return parse_peer(kind, path, value, param)
    parts = path.split("/")
    usage = ("is not a node: use workload:NAMESPACE/NAME, service:NAMESPACE/NAME, "
             "app:NAMESPACE/APP[/VERSION], database:, messaging: or virtual:NAMESPACE/NAME, "
             "or unknown")
    if kind not in KINDS or len(parts) not in (2, 3) or (len(parts) == 3 and kind != "app"):
        raise OptionError(param, f"{shown(value)} {usage}")
    namespace = parse_namespaces(parts[0], param)[0]
    if parts[0] != namespace:
        raise OptionError(param, f"{shown(parts[0])} is not a valid namespace name")
    name = parse_name(parts[1], param, kind)
    version = parse_name(parts[2], param, "version") if len(parts) == 3 else ""
    return Endpoint(KINDS[kind], namespace, name, version)


def parse_peer(kind: str, path: str, value: str, param: str) -> Endpoint:
    namespace, _, name = path.partition("/")
    if parse_namespaces(namespace, param) != (namespace,):
        raise OptionError(param, f"{shown(namespace)} is not a valid namespace name")
    if not PEER_NAME.fullmatch(name):
        raise OptionError(param, f"{shown(value)}: a {kind} node's name is 1 to 253 "
                                 "characters, no comma or control character")
    return Endpoint(PEER_KINDS[kind], namespace, name)


def parse_request(query: Mapping[str, str]) -> ExemplarRequest:
    """The exemplars route's parameters; OptionError names a bad one."""
    known = {"namespaces", "node", "edge", "duration", "query_time", "limit", "sources",
             "dialects"}
    for name in query:
        if name not in known:
            raise OptionError(name, f"unknown parameter; use {', '.join(sorted(known))}")
    if query.get("namespaces"):
        parse_namespaces(query["namespaces"])  # the graph's, as the page sends them: checked
    node, edge = query.get("node"), query.get("edge")
    if bool(node) == bool(edge):
        raise OptionError("node" if node or "node" in query else "edge",
                          "give either node=... or edge=...")
    source: Endpoint | None = None
    if edge:
        source, dest = parse_edge(edge)
    else:
        dest = parse_endpoint(str(node), "node")
    duration = parse_duration(query.get("duration"))
    end = parse_query_time(query.get("query_time")) or int(time.time())
    return ExemplarRequest(dest, source, end - duration, end, parse_limit(query.get("limit")),
                           parse_names(query.get("sources"), "sources"),
                           parse_names(query.get("dialects"), "dialects"))


def parse_limit(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise OptionError("limit", f"{shown(value)} is not a whole number from 1 to {MAX_LIMIT}")
    return int(value)


@dataclass(frozen=True)
class TraceLinks:
    """Links into a trace UI, from a URL template (MESHLENS_TRACE_URL) holding
    `{trace_id}`, and optionally `{span_id}`, `{start_ms}`, `{end_ms}` (the request's
    window, for UIs that search by time). Other braces (Grafana's JSON) stay as written."""

    template: str

    @classmethod
    def parse(cls, template: str) -> TraceLinks:
        """Raises ValueError saying what is wrong with the template."""
        url = urlsplit(template)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise ValueError("use an http(s) URL, e.g. http://jaeger:16686/trace/{trace_id}")
        if "{trace_id}" not in template:
            raise ValueError("the URL must hold {trace_id} where the trace id goes")
        return cls(template)

    def link(self, trace_id: str, span_id: str, at: float) -> str:
        values = {"trace_id": trace_id, "span_id": span_id,
                  "start_ms": str(int(at * 1000) - 3_600_000),
                  "end_ms": str(int(at * 1000) + 3_600_000)}
        return PLACEHOLDER.sub(lambda m: values[m.group(1)], self.template)


def first_label(labels: Mapping[str, str], names: Sequence[str]) -> str:
    return next((labels[n] for n in names if labels.get(n)), "")


def example(exemplar: Exemplar, query: ExemplarQuery,
            links: TraceLinks | None) -> dict[str, Any] | None:
    """One exemplar as the API lists it; None without a usable trace id."""
    trace_id = first_label(exemplar.labels, TRACE_ID_LABELS)
    if not TRACE_ID.fullmatch(trace_id):
        return None
    span_id = first_label(exemplar.labels, SPAN_ID_LABELS)
    if span_id and not TRACE_ID.fullmatch(span_id):
        span_id = ""
    item: dict[str, Any] = {
        "traceId": trace_id,
        "latencyMs": round(exemplar.value * query.unit_ms, 3),
        "time": exemplar.timestamp,
        "status": query.status(exemplar.series),
    }
    if span_id:
        item["spanId"] = span_id
    if links is not None:
        item["link"] = links.link(trace_id, span_id, exemplar.timestamp)
    return item


def list_exemplars(prometheus: Prometheus, request: ExemplarRequest, mesh: MeshConfig,
                   links: TraceLinks | None = None) -> list[dict[str, Any]]:
    """The example traces of the request's node or edge in every dialect of `mesh` that
    has them: one per trace (its slowest request there), slowest first, `limit` at most."""
    found: list[dict[str, Any]] = []
    for name in mesh.dialects:
        dialect = dialect_named(name)
        if not isinstance(dialect, ExemplarSource):
            continue
        query = dialect.exemplar_query(request.source, request.dest, mesh)
        if query is None or not query.selectors:
            continue
        promql = " or ".join(query.selectors)
        for exemplar in prometheus.query_exemplars(promql, request.start, request.end):
            if query.keep is not None and not query.keep(exemplar.series):
                continue
            item = example(exemplar, query, links)
            if item is not None:
                found.append(item)
    return ranked(found, request.limit)


def ranked(items: Iterable[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """One item per trace, its slowest (several series, dialects or data sources may hold
    the same trace), slowest first, `limit` at most."""
    best: dict[str, dict[str, Any]] = {}
    for item in items:
        kept = best.get(item["traceId"])
        if kept is None or item["latencyMs"] > kept["latencyMs"]:
            best[item["traceId"]] = item
    order = sorted(best.values(), key=lambda e: (-e["latencyMs"], -e["time"], e["traceId"]))
    return order[:limit]
