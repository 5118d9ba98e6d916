"""Node graphs: the traffic into and out of one workload, app (version) or service.

From the node's point of view: destination telemetry for what comes in, source telemetry
for what goes out, as Kiali's node-detail graphs. The same selectors find the exemplars
(example traces) of a node or an edge in the buckets of istio_request_duration_milliseconds,
from either reporter (a request that never reached a workload is reported by its source
only; a trace seen by both is listed once, graph/exemplars.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from graph import ids
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import Query
from graph.promql import Matcher, eq, matches, regex_literal
from graph.sources.dialect import Endpoint, ExemplarQuery, NodeTarget
from graph.sources.istio.queries import (
    NODE,
    REQUESTS,
    metrics_for,
    promql,
    reporter,
    tcp_app_filter,
)
from graph.sources.istio.response_time import DURATION
from graph.sources.istio.traffic import response_code


@dataclass(frozen=True)
class NodeQuery:
    metric: str
    query: Query
    kind: str = NODE  # every row goes to the node's namespace map


def service_host(target: NodeTarget) -> Matcher:
    """The service's hosts in its namespace: `<service>.<namespace>.<anything>`."""
    return matches("destination_service", rf"^{regex_literal(target.service)}\."
                                          rf"{regex_literal(target.namespace)}\..*$")


def inbound_selector(target: NodeTarget, node_type: str, dest: Sequence[Matcher],
                     cluster: Sequence[Matcher]) -> tuple[Matcher, ...]:
    ns = target.namespace
    if node_type == ids.NODE_WORKLOAD:
        return (*dest, *cluster, eq("destination_workload_namespace", ns),
                eq("destination_workload", target.workload))
    if node_type == ids.NODE_APP:
        version = ((eq("destination_canonical_revision", target.version),)
                   if ids.is_ok(target.version) else ())
        return (*dest, *cluster, eq("destination_service_namespace", ns),
                eq("destination_canonical_service", target.app), *version)
    return (*dest, *cluster, eq("destination_service_namespace", ns), service_host(target))


def outbound_selector(target: NodeTarget, node_type: str, source: Sequence[Matcher],
                      cluster: Sequence[Matcher]) -> tuple[Matcher, ...]:
    ns = target.namespace
    if node_type == ids.NODE_WORKLOAD:
        return (*source, *cluster, eq("source_workload_namespace", ns),
                eq("source_workload", target.workload))
    version = ((eq("source_canonical_revision", target.version),)
               if ids.is_ok(target.version) else ())
    return (*source, *cluster, eq("source_workload_namespace", ns),
            eq("source_canonical_service", target.app), *version)


def node_queries(options: GraphOptions, target: NodeTarget, mesh: MeshConfig) -> list[NodeQuery]:
    """The queries of a node graph, in the order their rows are applied."""
    node_type = target.node_type(options.graph_type)
    if node_type not in (ids.NODE_WORKLOAD, ids.NODE_APP, ids.NODE_SERVICE):
        raise ids.NodeIdError(f"no node graph for a node of type {node_type}")
    rates = options.rates
    known = target.cluster != ids.UNKNOWN
    dest_cluster = (eq("destination_cluster", target.cluster),) if known else ()
    source_cluster = (eq("source_cluster", target.cluster),) if known else ()
    out = []
    for metric in metrics_for(options):
        tcp = metric.startswith("istio_tcp")
        # TCP telemetry is always read from the sidecars, whatever the ambient setting.
        dest = ((*tcp_app_filter(rates), eq("reporter", "destination")) if tcp
                else (reporter("destination", rates),))
        source = ((*tcp_app_filter(rates), eq("reporter", "source")) if tcp
                  else (reporter("source", rates),))
        selectors: list[tuple[Matcher, ...]] = []
        if node_type == ids.NODE_SERVICE and metric == REQUESTS:
            # Requests to the service that never reached a workload.
            selectors.append((reporter("source", rates), *dest_cluster,
                              eq("destination_workload", "unknown"), service_host(target)))
        selectors.append(inbound_selector(target, node_type, dest, dest_cluster))
        if node_type != ids.NODE_SERVICE:
            selectors.append(outbound_selector(target, node_type, source, source_cluster))
        out += [NodeQuery(metric, promql(metric, s, options, mesh)) for s in selectors]
    return out


# --- exemplars --------------------------------------------------------------------------------

BUCKETS = DURATION + "_bucket"
UNKNOWN_SOURCE = (eq("source_workload_namespace", ids.UNKNOWN),
                  eq("source_workload", ids.UNKNOWN))


def endpoint_target(end: Endpoint) -> NodeTarget:
    if end.kind == ids.NODE_WORKLOAD:
        return NodeTarget(end.namespace, workload=end.name)
    if end.kind == ids.NODE_APP:
        return NodeTarget(end.namespace, app=end.name, version=end.version)
    return NodeTarget(end.namespace, service=end.name)


def into(end: Endpoint) -> tuple[Matcher, ...]:
    """The requests that reached `end` (the unknown node receives none)."""
    return inbound_selector(endpoint_target(end), end.kind, (), ())


def out_of(end: Endpoint) -> tuple[Matcher, ...]:
    """The requests that `end` sent: a service sends what it received on to its workloads."""
    if end.kind == ids.NODE_UNKNOWN:
        return UNKNOWN_SOURCE
    if end.kind == ids.NODE_SERVICE:
        return into(end)
    return outbound_selector(endpoint_target(end), end.kind, (), ())


def status(labels: Mapping[str, str]) -> str:
    """The response code as Kiali reads it: the gRPC status of a gRPC request, "-" for none."""
    return response_code(labels.get("request_protocol", ""), labels.get("response_code", ""),
                         labels.get("grpc_response_status", ""))


def exemplar_query(source: Endpoint | None, dest: Endpoint,
                   mesh: MeshConfig) -> ExemplarQuery | None:
    """A node's requests in and out, or an edge's: Istio's labels name both ends."""
    if source is None:
        selectors = [out_of(dest)] if dest.kind == ids.NODE_UNKNOWN else [into(dest), out_of(dest)]
    else:
        selectors = [(*out_of(source), *into(dest))]
    scope = mesh.scope()
    return ExemplarQuery(tuple(scope.selector(BUCKETS, *s) for s in selectors),
                         unit_ms=1.0, status=status)
