"""Which trace-derived series hold the exemplars of a node or an edge: the buckets of the
request duration histograms, the server's and the client's, under both producers' names
(with and without the `_seconds` suffix, as response_time.py reads them). The client's
count too: a virtual server sends no span, and its server histogram holds zeros.

Series are selected by the name of the client or the server, and kept when the ends that
labels.ends() reads from them (namespaces, peers, brokers) are the element's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from graph import ids
from graph.options import MeshConfig
from graph.promql import Matcher, eq
from graph.sources.dialect import Endpoint, ExemplarQuery
from graph.sources.traces.labels import MESSAGING_SYSTEM, SERVICE, EdgeLabels, End, ends

BUCKETS = tuple(f"traces_service_graph_request_{side}{unit}_bucket"
                for side in ("server", "client") for unit in ("_seconds", ""))


def is_end(endpoint: Endpoint, end: End | None) -> bool:
    """Whether a node of the API is this end: an instrumented service is a workload, an
    app and a service of one name; a peer is its own kind."""
    if end is None or (endpoint.namespace, endpoint.name) != (end.namespace, end.name):
        return False
    if end.kind == SERVICE:
        return endpoint.kind in (ids.NODE_WORKLOAD, ids.NODE_APP, ids.NODE_SERVICE)
    return endpoint.kind == end.kind


def keeper(source: Endpoint | None, dest: Endpoint,
           default_namespace: str) -> Callable[[Mapping[str, str]], bool]:
    def keep(labels: Mapping[str, str]) -> bool:
        found = ends(EdgeLabels(*(labels.get(name, "") for name in EdgeLabels._fields)),
                     default_namespace)
        if found is None:
            return False
        client, server, broker = found.client, found.server, found.broker
        if source is None:
            return any(is_end(dest, end) for end in (client, server, broker))
        if is_end(dest, broker):
            return is_end(source, client)
        # caller -> server, the injected service node -> server, the broker -> consumer
        return is_end(dest, server) and (is_end(source, client) or is_end(source, broker)
                                         or (source.kind == ids.NODE_SERVICE
                                             and is_end(source, server)))

    return keep


def by_name(end: Endpoint) -> list[tuple[Matcher, ...]]:
    """Series that may name `end`: as client or server, or as a broker (named by the
    producer's messaging.system, or by default)."""
    if end.kind == ids.NODE_MESSAGING:
        return [(eq("connection_type", MESSAGING_SYSTEM),)]
    return [(eq("client", end.name),), (eq("server", end.name),)]


def status(labels: Mapping[str, str]) -> str:
    """The OpenTelemetry connector's `failed` label: "failed" or "ok" ("-" without it)."""
    return {"true": "failed", "false": "ok"}.get(labels.get("failed", ""), "-")


def exemplar_query(source: Endpoint | None, dest: Endpoint,
                   mesh: MeshConfig) -> ExemplarQuery | None:
    if dest.kind == ids.NODE_UNKNOWN or (source is not None
                                          and source.kind == ids.NODE_UNKNOWN):
        return None  # the service graph has no unknown node (its callers are virtual)
    named = by_name(dest) if dest.kind == ids.NODE_MESSAGING or source is None else (
        [(eq("server", dest.name),)])
    scope = mesh.scope()
    return ExemplarQuery(tuple(scope.selector(metric, *m) for metric in BUCKETS for m in named),
                         unit_ms=1000.0, status=status,
                         keep=keeper(source, dest, mesh.default_namespace))
