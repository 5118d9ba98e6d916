"""Response time on service-graph edges, in ms as Kiali formats it ("%.0f"): the average
or a quantile of the request duration histograms.

The server histogram (`traces_service_graph_request_server_seconds`, the server span's
duration) is preferred, as Istio's destination-reported durations are: it leaves out the
network. The client histogram (`..._client_seconds`, the client span's) fills in the edges
without it, and is the one read when the server is uninstrumented (a virtual peer sends no
server span: the connector records 0 s for it). For a database, which sends no span
either, the connector copies the client span's duration into both. Each histogram is read
under both producers' names: with the `_seconds` unit suffix (Tempo, and the connector's
Prometheus exporter) and without it (the connector's own metric names, as they reach
Prometheus when unit suffixes are off). The value goes on the edge into the server (after
the injected service node or the broker), which, as in Istio, the service graph lacks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import networkx as nx

from graph import ids, traffic
from graph.appender_context import AppenderContext
from graph.options import GraphOptions
from graph.prometheus import Query, Row, read
from graph.promql import Matcher, Scope
from graph.sources.traces.labels import EdgeLabels, ends
from graph.sources.traces.nodes import path
from graph.sources.traces.queries import LABELS, Placement, namespace_sides, summed

HISTOGRAMS = {side: (f"traces_service_graph_request_{side}_seconds",
                     f"traces_service_graph_request_{side}")
              for side in ("server", "client")}
QUANTILES = {"50": 0.5, "95": 0.95, "99": 0.99}


def either(suffix: str, names: Sequence[str], sides: Sequence[Sequence[Matcher]],
           by: Sequence[str], window: int, scope: Scope) -> str:
    """The rate of `<name><suffix>` under any of its names, summed by `by`."""
    return " or ".join(f"({summed(name + suffix, sides, by, window, scope)})" for name in names)


def response_time_promql(names: Sequence[str], sides: Sequence[Sequence[Matcher]],
                         options: GraphOptions, scope: Scope) -> str:
    window = options.duration
    if options.response_time == "avg":
        total = either("_sum", names, sides, LABELS, window, scope)
        count = either("_count", names, sides, LABELS, window, scope)
        return f"({total}) / ({count}) * 1000 > 0"
    buckets = either("_bucket", names, sides, ("le", *LABELS), window, scope)
    return f"histogram_quantile({QUANTILES[options.response_time]}, {buckets}) * 1000 > 0"


class ResponseTime:
    name = "responseTime"

    def queries(self, ctx: AppenderContext) -> list[Query]:
        """The server histogram's, then the client histogram's; apply() reads them in this
        order."""
        options, mesh = ctx.options, ctx.mesh
        sides = namespace_sides(options.namespaces, mesh.default_namespace)
        return [Query(response_time_promql(names, sides, options, mesh.scope()), LABELS)
                for names in HISTOGRAMS.values()]

    def apply(self, g: nx.MultiDiGraph, results: Sequence[list[Row]],
              ctx: AppenderContext) -> None:
        options = ctx.options
        placement = Placement.of(ctx.mesh)
        inject = options.inject_service_nodes or options.graph_type == ids.SERVICE
        found: dict[tuple[str, str], float] = {}
        for side, rows in zip(HISTOGRAMS, results, strict=True):
            for key, value in rows:
                labels = read(EdgeLabels, key)
                edge = None if labels is None else ends(labels, placement.default_namespace)
                if edge is None or math.isnan(value):
                    continue
                hops = path(edge, placement.cluster, options.graph_type, inject)
                hop = (hops[-2].id, hops[-1].id)
                if side == "client" and edge.server.kind == ids.NODE_VIRTUAL:
                    found[hop] = value  # no server span: the server histogram holds zeros
                else:
                    found.setdefault(hop, value)
        for (u, v), value in found.items():
            if g.has_edge(u, v, key=traffic.HTTP):
                g.edges[u, v, traffic.HTTP]["md"]["responseTime"] = f"{value:.0f}"
