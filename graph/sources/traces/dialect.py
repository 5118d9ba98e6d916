"""Trace-derived service graphs as the engine sees them: one object behind
graph/sources/dialect.py's protocol."""

from __future__ import annotations

from collections.abc import Sequence

from graph import ids
from graph.appenders import Appender
from graph.options import GraphOptions
from graph.sources.dialect import Discovery
from graph.sources.traces import exemplars, queries, series
from graph.sources.traces.response_time import ResponseTime
from graph.sources.traces.traffic import NamespaceTraffic


class Traces:
    name = "traces"
    # The service.namespace dimension of either end; series with neither are in the
    # configured default namespace.
    discovery = Discovery(metrics=(queries.REQUESTS,),
                          labels=(queries.CLIENT_NS, queries.SERVER_NS),
                          default_when_unnamed=True)

    # The protocol's calls that are a module's function, with the same arguments.
    namespace_queries = staticmethod(queries.namespace_queries)
    node_queries = staticmethod(queries.node_queries)
    exemplar_query = staticmethod(exemplars.exemplar_query)
    request_series = staticmethod(series.request_series)

    def namespace_traffic(self, options: GraphOptions,
                          namespaces: Sequence[str] | None = None) -> NamespaceTraffic:
        return NamespaceTraffic(options, namespaces)

    def appenders(self, options: GraphOptions) -> list[Appender]:
        """Response time, measured at the server and drawn on the edge into it: the
        service graph has no such edge, so, as with Istio, it has none."""
        wanted = options.appenders is None or ResponseTime.name in options.appenders
        if (wanted and options.graph_type != ids.SERVICE
                and options.rates.http == "requests"):
            return [ResponseTime()]
        return []


TRACES = Traces()
