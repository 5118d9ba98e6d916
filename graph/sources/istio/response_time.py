"""Response time on HTTP and gRPC edges: the average or a quantile of
istio_request_duration_milliseconds, in ms, formatted as Kiali formats it ("%.0f").

As in Kiali, destination-reported durations are preferred (they leave out the network
between the proxies) and source-reported ones fill in the edges without them, the first
value found for an edge wins, and with service nodes injected the value goes on the
service -> workload edge only: quantiles of several workloads cannot be combined into one
for the caller -> service edge.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import networkx as nx

from graph import traffic
from graph.appender_context import AppenderContext
from graph.options import GraphOptions
from graph.prometheus import Query, Row
from graph.promql import Matcher, Scope, any_of
from graph.sources.istio.edge_keys import EdgeResolver, rate_by
from graph.sources.istio.labels import ResponseTimeLabels
from graph.sources.istio.queries import HISTOGRAM_BUCKETS, REQUESTS, reporter, weight

DURATION = "istio_request_duration_milliseconds"
LABELS = ResponseTimeLabels._fields
QUANTILES = {"50": 0.5, "95": 0.95, "99": 0.99}


def response_time_promql(matchers: Sequence[Matcher], options: GraphOptions,
                         scope: Scope) -> str:
    window = options.duration
    if options.response_time == "avg":
        return (f"{rate_by(DURATION + '_sum', matchers, window, LABELS, scope)} / "
                f"{rate_by(DURATION + '_count', matchers, window, LABELS, scope)} > 0")
    buckets = rate_by(DURATION + "_bucket", matchers, window, ("le",) + LABELS, scope)
    return f"histogram_quantile({QUANTILES[options.response_time]}, {buckets}) > 0"


def requested_protocols(options: GraphOptions) -> frozenset[str]:
    """Response times belong to request edges: those drawn from istio_requests_total."""
    rates = options.rates
    return frozenset(p for p, rate in ((traffic.HTTP, rates.http), (traffic.GRPC, rates.grpc))
                     if rate == "requests")


class ResponseTime:
    name = "responseTime"

    def queries(self, ctx: AppenderContext) -> list[Query]:
        """Destination-reported into the namespaces' services, then source-reported out of
        their workloads; apply() reads them in this order."""
        options, mesh = ctx.options, ctx.mesh
        ns, rates = options.namespaces, options.rates
        selectors = ((reporter("destination", rates), any_of("destination_service_namespace", ns)),
                     (reporter("source", rates), any_of("source_workload_namespace", ns)))
        # A histogram's quantile reads every bucket of every request edge of the namespaces.
        heavy = weight(REQUESTS, ns) * (HISTOGRAM_BUCKETS if options.response_time != "avg"
                                        else 2)
        return [Query(response_time_promql(s, options, mesh.scope()), LABELS, weight=heavy)
                for s in selectors]

    def apply(self, g: nx.MultiDiGraph, results: Sequence[list[Row]],
              ctx: AppenderContext) -> None:
        self.annotate(g, self.prepare(results, ctx), ctx)

    def prepare(self, results: Sequence[list[Row]],
                ctx: AppenderContext) -> dict[tuple[str, str, str], float]:
        """Each edge's value (u, v, protocol), from the rows alone."""
        options = ctx.options
        protocols = requested_protocols(options)
        resolver = EdgeResolver(options, ResponseTimeLabels)
        found: dict[tuple[str, str, str], float] = {}
        for rows in results:
            for key, value in rows:
                resolved = resolver.resolve(key)
                if resolved is None or math.isnan(value):
                    continue
                row, edge = resolved
                if row.request_protocol in protocols:
                    found.setdefault((*edge.last_hop(), row.request_protocol), value)
        return found

    def annotate(self, g: nx.MultiDiGraph, found: dict[tuple[str, str, str], float],
                 ctx: AppenderContext) -> None:
        for (u, v, protocol), value in found.items():
            if g.has_edge(u, v, key=protocol):
                g.edges[u, v, protocol]["md"]["responseTime"] = f"{value:.0f}"
