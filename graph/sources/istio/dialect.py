"""Istio as the engine sees it: one object behind graph/sources/dialect.py's protocol."""

from __future__ import annotations

from collections.abc import Sequence

from graph.appenders import Appender
from graph.options import GraphOptions
from graph.sources.dialect import Discovery
from graph.sources.istio import appenders, node, queries, series
from graph.sources.istio.namespace_maps import NamespaceTraffic


class Istio:
    name = "istio"
    # Request and TCP telemetry name the namespaces of both ends.
    discovery = Discovery(
        metrics=(queries.REQUESTS, queries.TCP_SENT),
        labels=("destination_workload_namespace", "source_workload_namespace"),
    )

    # The protocol's calls that are a module's function, with the same arguments.
    namespace_queries = staticmethod(queries.namespace_queries)
    node_queries = staticmethod(node.node_queries)
    exemplar_query = staticmethod(node.exemplar_query)
    request_series = staticmethod(series.request_series)

    def namespace_traffic(self, options: GraphOptions,
                          namespaces: Sequence[str] | None = None) -> NamespaceTraffic:
        return NamespaceTraffic(options, namespaces)

    def appenders(self, options: GraphOptions) -> list[Appender]:
        return appenders.appenders_for(options)


ISTIO = Istio()
