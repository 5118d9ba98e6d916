"""Istio as the engine sees it: one object behind graph/sources/dialect.py's protocol."""

from __future__ import annotations

from collections.abc import Sequence

from graph.appenders import Appender
from graph.options import GraphOptions, MeshConfig
from graph.sources.dialect import Discovery, Endpoint, ExemplarQuery, NodeTarget, RequestSeries
from graph.sources.istio import appenders, node, queries, series
from graph.sources.istio.namespace_maps import NamespaceTraffic


class Istio:
    name = "istio"
    # Request and TCP telemetry name the namespaces of both ends.
    discovery = Discovery(
        metrics=(queries.REQUESTS, queries.TCP_SENT),
        labels=("destination_workload_namespace", "source_workload_namespace"),
    )

    def namespace_queries(self, options: GraphOptions,
                          mesh: MeshConfig) -> list[queries.NamespaceQuery]:
        return queries.namespace_queries(options, mesh)

    def node_queries(self, options: GraphOptions, target: NodeTarget,
                     mesh: MeshConfig) -> list[node.NodeQuery]:
        return node.node_queries(options, target, mesh)

    def namespace_traffic(self, options: GraphOptions,
                          namespaces: Sequence[str] | None = None) -> NamespaceTraffic:
        return NamespaceTraffic(options, namespaces)

    def appenders(self, options: GraphOptions) -> list[Appender]:
        return appenders.appenders_for(options)

    def exemplar_query(self, source: Endpoint | None, dest: Endpoint,
                       mesh: MeshConfig) -> ExemplarQuery | None:
        return node.exemplar_query(source, dest, mesh)

    def request_series(self, source: Endpoint | None, dest: Endpoint | None,
                       namespaces: Sequence[str],
                       mesh: MeshConfig) -> dict[str, RequestSeries] | None:
        return series.request_series(source, dest, namespaces, mesh)


ISTIO = Istio()
