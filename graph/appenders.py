"""Appenders: extra telemetry laid onto a built graph (response time, throughput, mTLS, idle
nodes). Each asks Prometheus its own queries, sent in the same parallel batch as the traffic
queries, and annotates the graph's edges and nodes from the rows.

Each lives in its own module; this one is the registry: which appenders a request gets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import networkx as nx

from graph import ids
from graph.appender_context import AppenderContext
from graph.idle import IdleNodes
from graph.options import GraphOptions
from graph.prometheus import Query, Row
from graph.response_time import ResponseTime
from graph.security import SecurityPolicy
from graph.throughput import Throughput


class Appender(Protocol):
    """Each call gets the build's context; an appender keeps no state between calls."""

    def queries(self, ctx: AppenderContext) -> list[Query]: ...

    def apply(self, g: nx.MultiDiGraph, results: Sequence[list[Row]],
              ctx: AppenderContext) -> None: ...


def appenders_for(options: GraphOptions) -> list[Appender]:
    """The appenders every /api/v1/graph answer includes; on Kiali's route, those named in
    options.appenders (None: all). Idle nodes only when asked (include_idle_nodes).

    Response time and throughput are measured at the destination workload and drawn on the
    edge into it (the service -> workload edge when services are injected); the service
    graph has no such edge, so, as in Kiali, it has neither and they are not queried."""
    def wanted(name: str) -> bool:
        return options.appenders is None or name in options.appenders

    rates = options.rates
    by_workload = options.graph_type != ids.SERVICE
    out: list[Appender] = []
    if wanted(ResponseTime.name) and by_workload and "requests" in (rates.http, rates.grpc):
        out.append(ResponseTime())
    if wanted(SecurityPolicy.name):
        out.append(SecurityPolicy())
    if wanted(Throughput.name) and by_workload and rates.http == "requests":
        out.append(Throughput())
    if options.include_idle_nodes:
        out.append(IdleNodes())
    return out
