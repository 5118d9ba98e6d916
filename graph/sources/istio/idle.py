"""Idle nodes: workloads, apps and services of the requested namespaces that have telemetry
in the window but no traffic now.

Kiali adds the services and workloads the Kubernetes API defines and the traffic never
reached. Meshlens reads no Kubernetes API, so its idle nodes are those that the request
and TCP series still name with a zero rate: what Kiali's idle edges would reach. They are
added without edges, marked isIdle. Nodes the graph already has but that carry no traffic
(those reached by idle edges only, when idle edges are drawn) are marked isIdle too, so
that a node's idleness does not depend on whether its idle edges are shown.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx

from graph import ids, traffic
from graph.appender_context import AppenderContext
from graph.options import GraphOptions
from graph.prometheus import Query, Row
from graph.promql import Matcher, Scope, any_of
from graph.sources.istio.edge_keys import EdgeIds, EdgeResolver, rate_by
from graph.sources.istio.labels import EdgeLabels
from graph.sources.istio.queries import EDGE_LABELS, metrics_for, reporter, tcp_app_filter
from graph.sources.istio.traffic import NodeLabels

RATE_KEYS = tuple(traffic.IN_RATE.values()) + tuple(traffic.OUT_RATE.values())
EGRESS_CLUSTERS = ("PassthroughCluster", "BlackHoleCluster")


def idle_promql(metric: str, app: Sequence[Matcher], options: GraphOptions,
                scope: Scope) -> str:
    """Edges with series but no traffic, read as the traffic's inbound and outbound
    queries read them."""
    ns, rates = options.namespaces, options.rates
    inbound = (*app, reporter("destination", rates), any_of("destination_workload_namespace", ns))
    outbound = (*app, reporter("source", rates), any_of("source_workload_namespace", ns))
    return (f"{rate_by(metric, inbound, options.duration, EDGE_LABELS, scope)} == 0 or "
            f"{rate_by(metric, outbound, options.duration, EDGE_LABELS, scope)} == 0")


class IdleNodes:
    name = "idleNode"

    def queries(self, ctx: AppenderContext) -> list[Query]:
        options, mesh = ctx.options, ctx.mesh
        if options.include_idle_edges:
            return []  # the traffic queries kept the zero-rate series: their nodes are drawn
        # One query per metric: a node is idle when no metric shows traffic, and any node
        # with traffic is already in the graph.
        return [Query(idle_promql(
                    metric, tcp_app_filter(options.rates) if metric.startswith("istio_tcp")
                    else (), options, mesh.scope()), EDGE_LABELS)
                for metric in metrics_for(options)]

    def apply(self, g: nx.MultiDiGraph, results: Sequence[list[Row]],
              ctx: AppenderContext) -> None:
        options = ctx.options
        for _, n in g.nodes(data=True):
            if not any(key in n["md"] for key in RATE_KEYS):
                n["md"]["isIdle"] = True
        resolver = EdgeResolver(options, EdgeLabels)
        for rows in results:
            for key, _ in rows:
                resolved = resolver.resolve(key)
                if resolved is not None:
                    for labels in node_labels(resolved[1]):
                        self.add_idle_node(g, labels, ctx)

    def add_idle_node(self, g: nx.MultiDiGraph, labels: NodeLabels,
                      ctx: AppenderContext) -> None:
        options = ctx.options
        node = ids.node_id(*labels, options.graph_type)
        cluster, service_ns, service, workload_ns = labels[:4]
        namespace = workload_ns if ids.is_ok(workload_ns) else service_ns
        if (node.id in g or namespace not in options.namespaces
                or node.node_type == ids.NODE_UNKNOWN or service in EGRESS_CLUSTERS):
            return
        if options.graph_type == ids.SERVICE and node.node_type != ids.NODE_SERVICE:
            return  # the service graph shows services only (and traffic roots)
        md = g.nodes[traffic.add_node(g, *labels, options.graph_type)]["md"]
        md["isIdle"] = True
        if not ctx.mesh.is_accessible(cluster, namespace):
            md["isInaccessible"] = True


def node_labels(edge: EdgeIds) -> list[NodeLabels]:
    """The nodes an idle row names: its two ends, and the service node between them."""
    out = [edge.ends.source, edge.ends.dest]
    if edge.service is not None:
        out.append(edge.ends.service())
    return out
