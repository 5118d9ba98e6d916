"""Response time on HTTP and gRPC edges, from Linkerd's response_latency_ms histogram: the
average or a quantile, in ms, formatted as Kiali formats it ("%.0f").

Linkerd measures the time to the response's first byte. The latency of a call between two
meshed workloads is read from the caller's proxy (outbound: the only series that names
both ends), that of an unmeshed caller from the callee's proxy (inbound, without identity).
As with Istio, the value goes on the edge into the destination workload: with service
nodes injected, the service -> workload edge, whose quantile is then taken over every
caller's requests together (Linkerd's histograms add up: the outbound query is grouped by
destination only). The histogram has no gRPC status label, so an edge's value is set on
its HTTP and its gRPC edge alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import networkx as nx

from graph import ids, traffic
from graph.appender_context import AppenderContext
from graph.options import GraphOptions
from graph.prometheus import KEY_SEPARATOR, Query, Row, read
from graph.promql import label_list
from graph.sources.linkerd import nodes
from graph.sources.linkerd.labels import (
    DESTINATION,
    OUTBOUND,
    POD,
    OutboundLabels,
    PodLabels,
)
from graph.sources.linkerd.queries import (
    IN,
    LATENCY,
    NO_IDENTITY,
    OUT,
    rate_at_either_end,
    rate_in,
    workloads_query,
)

QUANTILES = {"50": 0.5, "95": 0.95, "99": 0.99}


def latency_promql(rates: Callable[[str], str], labels: Sequence[str],
                   options: GraphOptions) -> str:
    """The average or quantile of LATENCY by `labels`; `rates(metric)` is the rate of one
    of its series (_bucket, _sum, _count) over the rows wanted."""
    by = label_list(labels)
    if options.response_time == "avg":
        return (f"sum by ({by}) ({rates(LATENCY + '_sum')}) / "
                f"sum by ({by}) ({rates(LATENCY + '_count')}) > 0")
    return (f"histogram_quantile({QUANTILES[options.response_time]}, "
            f"sum by (le,{by}) ({rates(LATENCY + '_bucket')})) > 0")


def outbound_labels(options: GraphOptions) -> tuple[str, ...]:
    injected = options.inject_service_nodes or options.graph_type == ids.SERVICE
    return DESTINATION if injected else OUTBOUND


class ResponseTime:
    name = "responseTime"

    def queries(self, ctx: AppenderContext) -> list[Query]:
        """The workloads' labels, then outbound latencies, then those of unmeshed callers;
        apply() reads them in this order."""
        options, scope = ctx.options, ctx.mesh.scope()
        ns, window = options.namespaces, options.duration

        def outbound(metric: str) -> str:
            return rate_at_either_end(metric, (OUT,), ns, window, scope)

        def unmeshed(metric: str) -> str:
            return rate_in(metric, (IN, NO_IDENTITY), ns, window, scope)

        labels = outbound_labels(options)
        return [workloads_query(options, scope),
                Query(latency_promql(outbound, labels, options), labels),
                Query(latency_promql(unmeshed, POD, options), POD)]

    def apply(self, g: nx.MultiDiGraph, results: Sequence[list[Row]],
              ctx: AppenderContext) -> None:
        options, cluster = ctx.options, ctx.mesh.cluster_name
        workloads, outbound, unmeshed = results
        apps = nodes.apps_of(workloads)
        labels = outbound_labels(options)
        found: dict[tuple[str, str], float] = {}
        for key, value in outbound:
            hop = outbound_hop(key, labels, cluster, apps, options)
            if hop is not None and not math.isnan(value):
                found.setdefault(hop, value)
        for key, value in unmeshed:
            pod = read(PodLabels, key)
            dest = pod and nodes.callee_labels(cluster, pod)
            if not dest or math.isnan(value):
                continue
            path = nodes.path_of(nodes.UNKNOWN_SOURCE, dest, options.graph_type, False)
            if path is not None:
                found.setdefault((path[0][0].id, path[1][0].id), value)
        for (u, v), value in found.items():
            for protocol in (traffic.HTTP, traffic.GRPC):
                if g.has_edge(u, v, key=protocol):
                    g.edges[u, v, protocol]["md"]["responseTime"] = f"{value:.0f}"


def outbound_hop(key: str, labels: tuple[str, ...], cluster: str, apps: nodes.Apps,
                 options: GraphOptions) -> tuple[str, str] | None:
    """The edge into the destination workload that a latency row is about."""
    values = dict(zip(labels, key.split(KEY_SEPARATOR), strict=False))
    row = OutboundLabels(**{name: values.get(name, "") for name in OutboundLabels._fields})
    source, dest = nodes.outbound_ends(cluster, row, apps)
    if dest is None or not dest[4]:
        return None  # no workload: a service only, measured from no one edge
    injected = labels == DESTINATION
    path = nodes.path_of(source, dest, options.graph_type, injected)
    if path is None or (injected and len(path) != 3):
        return None
    return path[-2][0].id, path[-1][0].id

