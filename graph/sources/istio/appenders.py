"""Which of Istio's appenders a request gets."""

from __future__ import annotations

from graph import ids
from graph.appenders import Appender
from graph.options import GraphOptions
from graph.sources.istio.idle import IdleNodes
from graph.sources.istio.response_time import ResponseTime
from graph.sources.istio.security import SecurityPolicy
from graph.sources.istio.throughput import Throughput


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
