"""Linkerd as the engine sees it: one object behind graph/sources/dialect.py's protocol."""

from __future__ import annotations

from collections.abc import Sequence

from graph import ids
from graph.appenders import Appender
from graph.options import GraphOptions
from graph.sources.dialect import Discovery
from graph.sources.linkerd import exemplars, queries, series
from graph.sources.linkerd.idle import IdleNodes
from graph.sources.linkerd.response_time import ResponseTime
from graph.sources.linkerd.traffic import LinkerdTraffic


class Linkerd:
    name = "linkerd"
    # Each proxy's series name its own namespace; outbound ones their destination's too.
    discovery = Discovery(metrics=(queries.RESPONSES,), labels=("namespace", "dst_namespace"))

    # The protocol's calls that are a module's function, with the same arguments.
    namespace_queries = staticmethod(queries.namespace_queries)
    node_queries = staticmethod(queries.node_queries)
    exemplar_query = staticmethod(exemplars.exemplar_query)
    request_series = staticmethod(series.request_series)

    def namespace_traffic(self, options: GraphOptions,
                          namespaces: Sequence[str] | None = None) -> LinkerdTraffic:
        return LinkerdTraffic(options, namespaces)

    def appenders(self, options: GraphOptions) -> list[Appender]:
        """Response time, as Istio's: not in service graphs (their edges join several
        workloads), only with request rates read; idle nodes when asked. mTLS comes with
        the traffic itself (traffic.py); Linkerd has no request or response size metrics
        for throughput."""
        rates = options.rates
        wanted = options.appenders is None or ResponseTime.name in options.appenders
        out: list[Appender] = []
        if (wanted and options.graph_type != ids.SERVICE
                and "requests" in (rates.http, rates.grpc)):
            out.append(ResponseTime())
        if options.include_idle_nodes:
            out.append(IdleNodes())
        return out


LINKERD = Linkerd()
