"""Idle nodes: workloads and services of the requested namespaces that Linkerd's series
name in the window but that have no traffic now (include_idle_nodes), as the Istio
dialect's idle nodes: added without edges, marked isIdle, and nodes of the graph without
traffic marked isIdle too.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx

from graph import ids, traffic
from graph.appender_context import AppenderContext
from graph.prometheus import Query, Row, joined_sum, read
from graph.sources.linkerd import nodes
from graph.sources.linkerd.labels import OUTBOUND, POD, OutboundLabels, PodLabels
from graph.sources.linkerd.queries import (
    IN,
    NO_IDENTITY,
    OUT,
    RESPONSES,
    rate_at_either_end,
    rate_in,
    workloads_query,
)

RATE_KEYS = tuple(traffic.IN_RATE.values()) + tuple(traffic.OUT_RATE.values())


class IdleNodes:
    name = "idleNode"

    def queries(self, ctx: AppenderContext) -> list[Query]:
        """The workloads' labels, then the outbound and the unmeshed series without
        traffic; none when idle edges are drawn (their nodes are in the graph already)."""
        options, scope = ctx.options, ctx.mesh.scope()
        if options.include_idle_edges:
            return []
        ns, window = options.namespaces, options.duration
        outbound = rate_at_either_end(RESPONSES, (OUT,), ns, window, scope)
        unmeshed = rate_in(RESPONSES, (IN, NO_IDENTITY), ns, window, scope)
        return [workloads_query(options, scope),
                Query(f"{joined_sum(outbound, OUTBOUND)} == 0", OUTBOUND, joined=True),
                Query(f"{joined_sum(unmeshed, POD)} == 0", POD, joined=True)]

    def apply(self, g: nx.MultiDiGraph, results: Sequence[list[Row]],
              ctx: AppenderContext) -> None:
        for _, n in g.nodes(data=True):
            if not any(key in n["md"] for key in RATE_KEYS):
                n["md"]["isIdle"] = True
        if not results:
            return
        workloads, outbound, unmeshed = results
        cluster = ctx.mesh.cluster_name
        apps = nodes.apps_of(workloads)
        for key, _ in outbound:
            row = read(OutboundLabels, key)
            if row is None:
                continue
            source, dest = nodes.outbound_ends(cluster, row, apps)
            if dest is not None:
                self.add_path(g, source, dest, ctx)
        for key, _ in unmeshed:
            pod = read(PodLabels, key)
            dest = pod and nodes.callee_labels(cluster, pod)
            if dest:
                self.add_path(g, nodes.UNKNOWN_SOURCE, dest, ctx)

    def add_path(self, g: nx.MultiDiGraph, source: nodes.NodeLabels, dest: nodes.NodeLabels,
                 ctx: AppenderContext) -> None:
        options = ctx.options
        inject = options.inject_service_nodes or options.graph_type == ids.SERVICE
        for node, labels in nodes.path_of(source, dest, options.graph_type, inject) or ():
            cluster, service_ns, _, workload_ns = labels[:4]
            namespace = workload_ns if ids.is_ok(workload_ns) else service_ns
            if (node.id in g or namespace not in options.namespaces
                    or node.node_type == ids.NODE_UNKNOWN):
                continue
            if options.graph_type == ids.SERVICE and node.node_type != ids.NODE_SERVICE:
                continue  # the service graph shows services only (and traffic roots)
            traffic.place_node(g, node, labels, options.graph_type)
            md = g.nodes[node.id]["md"]
            md["isIdle"] = True
            if not ctx.mesh.is_accessible(cluster, namespace):
                md["isInaccessible"] = True
