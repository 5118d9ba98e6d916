"""Node graphs: the traffic into and out of one workload, app (version) or service.

From the node's point of view: destination telemetry for what comes in, source telemetry
for what goes out, as Kiali's node-detail graphs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from graph import ids
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import Query
from graph.promql import Matcher, eq, matches, regex_literal
from graph.sources.dialect import NodeTarget
from graph.sources.istio.queries import (
    NODE,
    REQUESTS,
    metrics_for,
    promql,
    reporter,
    tcp_app_filter,
)


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
