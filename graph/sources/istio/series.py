"""Which Istio series are a node's, an edge's or a whole graph's requests, for the charts
(graph/series.py): istio_requests_total and istio_request_duration_milliseconds, with the
selectors of the node graphs and exemplars (node.py).

Each request is counted once, from one reporter, as Kiali's node graphs read them: what
comes into a node from its destination proxy, what goes out of it from its source proxy.
A service node passes on what it receives (destination-reported, like its inbound, plus,
inbound only, the source-reported requests that never reached a workload); the unknown
node only sends (its requests are destination-reported: nothing else saw them). An edge is
read from its source's proxy, unless its source is the unknown node or a service node
(then from its destination's). Failed requests are those Kiali counts as errors: no
response (code 0), HTTP 4xx and 5xx, and gRPC statuses 1-16.
"""

from __future__ import annotations

from collections.abc import Sequence

from graph import ids
from graph.options import MeshConfig
from graph.promql import Matcher, Scope, any_of, eq, matches, not_matches
from graph.sources.dialect import Endpoint, RequestSeries
from graph.sources.istio.node import BUCKETS, into, out_of
from graph.sources.istio.queries import REQUESTS

# Failed requests: two disjoint sets, any protocol by its response code, and gRPC requests
# answered at the HTTP level but with a failing gRPC status.
FAILED_CODE = "0|[45].*"
FAILED = ((matches("response_code", FAILED_CODE),),
          (eq("request_protocol", "grpc"), not_matches("response_code", FAILED_CODE),
           not_matches("grpc_response_status", "0|")))
DESTINATION, SOURCE = eq("reporter", "destination"), eq("reporter", "source")
KINDS = (ids.NODE_WORKLOAD, ids.NODE_APP, ids.NODE_SERVICE, ids.NODE_UNKNOWN)


def direction(scope: Scope, *selections: tuple[Matcher, ...]) -> RequestSeries:
    """The series of requests that one of `selections` (disjoint) selects."""
    return RequestSeries(
        requests=tuple(scope.selector(REQUESTS, *s) for s in selections),
        errors=tuple(scope.selector(REQUESTS, *s, *failed)
                     for s in selections for failed in FAILED),
        buckets=tuple(scope.selector(BUCKETS, *s) for s in selections),
    )


def unserviced(dest: Endpoint) -> tuple[Matcher, ...]:
    """Requests to a service that never reached a workload (its source reported them)."""
    return (SOURCE, eq("destination_workload", ids.UNKNOWN), *into(dest))


def node_series(dest: Endpoint, scope: Scope) -> dict[str, RequestSeries]:
    if dest.kind == ids.NODE_UNKNOWN:
        return {"outbound": direction(scope, (DESTINATION, *out_of(dest)))}
    inbound = [(DESTINATION, *into(dest))]
    outbound = (SOURCE, *out_of(dest))
    if dest.kind == ids.NODE_SERVICE:
        inbound.append(unserviced(dest))
        outbound = (DESTINATION, *out_of(dest))
    return {"inbound": direction(scope, *inbound), "outbound": direction(scope, outbound)}


def edge_series(source: Endpoint, dest: Endpoint, scope: Scope) -> dict[str, RequestSeries]:
    if dest.kind == ids.NODE_UNKNOWN:
        return {}
    from_destination = source.kind in (ids.NODE_UNKNOWN, ids.NODE_SERVICE)
    reporter = DESTINATION if from_destination else SOURCE
    return {"requests": direction(scope, (reporter, *out_of(source), *into(dest)))}


def graph_series(namespaces: Sequence[str], scope: Scope) -> dict[str, RequestSeries]:
    """The requests into and out of the workloads of `namespaces`."""
    inbound = (DESTINATION, any_of("destination_workload_namespace", namespaces))
    outbound = (SOURCE, any_of("source_workload_namespace", namespaces))
    return {"inbound": direction(scope, inbound), "outbound": direction(scope, outbound)}


def request_series(source: Endpoint | None, dest: Endpoint | None, namespaces: Sequence[str],
                   mesh: MeshConfig) -> dict[str, RequestSeries] | None:
    scope = mesh.scope()
    if dest is None:
        return graph_series(namespaces, scope)
    if any(end.kind not in KINDS for end in (source, dest) if end is not None):
        return None  # trace-derived peers (databases, brokers): not Istio's
    if source is None:
        return node_series(dest, scope)
    return edge_series(source, dest, scope)
