"""Throughput on HTTP edges: request or response bytes per second, formatted as Kiali
formats it ("%.0f").

Request bytes are read where they are sent (source proxy), response bytes where they are
sent back (destination proxy). The rows of an edge add up; with service nodes injected
the value goes on the service -> workload edge, as Kiali does, since the caller's bytes
cannot be split among the workloads behind the service.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import networkx as nx

from graph import traffic
from graph.appender_context import AppenderContext
from graph.options import GraphOptions
from graph.prometheus import Query, Row
from graph.promql import Scope, eq
from graph.sources.istio.edge_keys import EdgeResolver, rate_at_either_end
from graph.sources.istio.labels import EdgeLabels
from graph.sources.istio.queries import EDGE_LABELS, reporter


def throughput_promql(options: GraphOptions, scope: Scope) -> str:
    metric = f"istio_{options.throughput}_bytes_sum"
    kind = "source" if options.throughput == "request" else "destination"
    base = (reporter(kind, options.rates), eq("request_protocol", "http"))
    return rate_at_either_end(metric, base, options.namespaces, options.duration, EDGE_LABELS,
                              scope)


class Throughput:
    name = "throughput"

    def queries(self, ctx: AppenderContext) -> list[Query]:
        return [Query(throughput_promql(ctx.options, ctx.mesh.scope()), EDGE_LABELS,
                      joined=True)]

    def apply(self, g: nx.MultiDiGraph, results: Sequence[list[Row]],
              ctx: AppenderContext) -> None:
        self.annotate(g, self.prepare(results, ctx), ctx)

    def prepare(self, results: Sequence[list[Row]],
                ctx: AppenderContext) -> dict[tuple[str, str], float]:
        """Each edge's bytes per second (u, v), from the rows alone."""
        options = ctx.options
        resolver = EdgeResolver(options, EdgeLabels)
        found: dict[tuple[str, str], float] = {}
        for rows in results:
            for key, value in rows:
                resolved = resolver.resolve(key)
                if resolved is not None and not math.isnan(value):
                    hop = resolved[1].last_hop()
                    found[hop] = found.get(hop, 0.0) + value
        return found

    def annotate(self, g: nx.MultiDiGraph, found: dict[tuple[str, str], float],
                 ctx: AppenderContext) -> None:
        for (u, v), value in found.items():
            if g.has_edge(u, v, key=traffic.HTTP):
                g.edges[u, v, traffic.HTTP]["md"]["throughput"] = f"{value:.0f}"
