"""Which trace-derived series are a node's, an edge's or a whole graph's requests, for the
charts (graph/series.py): traces_service_graph_request_total and ..._failed_total, and the
request duration histograms (in seconds, under both producers' names, as
response_time.py reads them).

A series is one client -> server pair. What comes into an instrumented service is the
series it is the server of, timed by the server histogram (the server span's duration,
as the graph's response time); what goes out of it, the series it is the client of, timed
by the client histogram (the caller's view). An edge between two instrumented services is
the series of that pair; the injected service node passes on what comes into its
service. The peers that send no spans (databases, brokers, virtual ends) are named by the
series in ways one selector cannot say (labels.py): no charts for them.
"""

from __future__ import annotations

from collections.abc import Sequence

from graph import ids
from graph.options import MeshConfig
from graph.promql import Matcher, Scope, eq
from graph.sources.dialect import Endpoint, RequestSeries
from graph.sources.traces.queries import CLIENT_NS, FAILED, REQUESTS, SERVER_NS, in_namespaces
from graph.sources.traces.response_time import HISTOGRAMS

SERVICE_KINDS = (ids.NODE_WORKLOAD, ids.NODE_APP, ids.NODE_SERVICE)


def direction(scope: Scope, side: str, matchers: Sequence[Matcher]) -> RequestSeries:
    """The series that `matchers` select, timed by the `side` ("server" or "client")
    histogram."""
    return RequestSeries(
        requests=(scope.selector(REQUESTS, *matchers),),
        errors=(scope.selector(FAILED, *matchers),),
        # One producer writes one of the names: the two select disjoint series.
        buckets=tuple(scope.selector(f"{name}_bucket", *matchers)
                      for name in HISTOGRAMS[side]),
        unit_ms=1000.0,
    )


def server(end: Endpoint, default: str) -> tuple[Matcher, ...]:
    return (eq("server", end.name), in_namespaces(SERVER_NS, (end.namespace,), default))


def client(end: Endpoint, default: str) -> tuple[Matcher, ...]:
    return (eq("client", end.name), in_namespaces(CLIENT_NS, (end.namespace,), default))


def request_series(source: Endpoint | None, dest: Endpoint | None, namespaces: Sequence[str],
                   mesh: MeshConfig) -> dict[str, RequestSeries] | None:
    scope, default = mesh.scope(), mesh.default_namespace
    if dest is None:
        return {"inbound": direction(scope, "server",
                                     (in_namespaces(SERVER_NS, namespaces, default),)),
                "outbound": direction(scope, "client",
                                      (in_namespaces(CLIENT_NS, namespaces, default),))}
    if dest.kind not in SERVICE_KINDS:
        return None
    if source is None:
        return {"inbound": direction(scope, "server", server(dest, default)),
                "outbound": direction(scope, "client", client(dest, default))}
    if source.kind not in SERVICE_KINDS:
        return None
    if source.kind == ids.NODE_SERVICE and (source.namespace, source.name) == (
            dest.namespace, dest.name):
        return {"requests": direction(scope, "server", server(dest, default))}
    return {"requests": direction(scope, "server", (*client(source, default),
                                                    *server(dest, default)))}
