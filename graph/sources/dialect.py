"""What a telemetry dialect gives the engine (graph/build.py), and all the engine knows of it.

A dialect (Istio, Linkerd, trace-derived service-graph metrics) is a package under
graph/sources/ that reads one family of metrics. It tells the engine:

- which traffic queries a namespace graph sends (`namespace_queries`) and a node graph
  sends (`node_queries`), in the order their rows must be applied;
- how those rows become one traffic map per namespace (`namespace_traffic`: an object
  that is fed each query's rows in plan order, then hands over the maps, or the maps
  already merged as the engine would merge them, if it knows how to do that faster: Istio
  does it on numbers with graph/cells.py). The maps are
  graph/traffic.py's: nodes by graph/ids.py's ids, rates in `md` under Kiali's keys
  (traffic.rate_keys), and each edge's responses by code and flag (traffic.add_response;
  "-" for no flag: health counts responses by flag, as Kiali does);
- which appenders decorate the graph for given options (`appenders`);
- where namespaces are seen (`discovery`: metric names and namespace labels).

Everything after the maps (merge, outsiders, roots, service graph, health, the appenders'
place in the batch, JSON) is the engine's and the same for every dialect.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from graph import ids, traffic
from graph.appenders import Appender
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import Query, Row


@dataclass(frozen=True)
class NodeTarget:
    """The node a node graph is about; names left empty are not part of it."""

    namespace: str
    workload: str = ""
    app: str = ""
    version: str = ""
    service: str = ""
    cluster: str = ids.UNKNOWN  # unknown: not narrowed to one cluster

    def node_type(self, graph_type: str) -> str:
        return ids.node_id(self.cluster, self.namespace, self.service, self.namespace,
                           self.workload, self.app, self.version, graph_type).node_type


class TrafficQuery(Protocol):
    """A traffic query: its metric, its kind (how the dialect routes its rows), the query."""

    @property
    def metric(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def query(self) -> Query: ...


class TrafficMaps(Protocol):
    """One build's traffic maps, one per namespace, filled as the answers come in."""

    def apply(self, query: TrafficQuery, rows: Iterable[Row]) -> None: ...

    def maps(self) -> dict[str, traffic.TrafficMap]: ...


@runtime_checkable
class MergedTraffic(Protocol):
    """Or: one build's namespace maps, handed over already merged as Kiali merges them
    (graph/build.py's merge_into), e.g. on numbers by graph/cells.py."""

    def apply(self, query: TrafficQuery, rows: Sequence[Row]) -> None: ...

    def merged(self) -> traffic.TrafficMap: ...


@dataclass(frozen=True)
class Discovery:
    """Where a dialect's telemetry names namespaces: any series of `metrics` whose
    `labels` hold one (the value `unknown` is not a namespace). With `default_when_unnamed`,
    a series that has none of the labels is in the mesh's default namespace."""

    metrics: tuple[str, ...]
    labels: tuple[str, ...]
    default_when_unnamed: bool = False


class Dialect(Protocol):
    name: str
    discovery: Discovery

    def namespace_queries(self, options: GraphOptions,
                          mesh: MeshConfig) -> Sequence[TrafficQuery]: ...

    def node_queries(self, options: GraphOptions, target: NodeTarget,
                     mesh: MeshConfig) -> Sequence[TrafficQuery]: ...

    def namespace_traffic(self, options: GraphOptions,
                          namespaces: Sequence[str] | None = None,
                          ) -> TrafficMaps | MergedTraffic:
        """Maps for `namespaces` (by default options.namespaces)."""
        ...

    def appenders(self, options: GraphOptions) -> list[Appender]: ...


@dataclass(frozen=True)
class Endpoint:
    """One node as the exemplars API names it: `kind` is ids.NODE_WORKLOAD, NODE_APP,
    NODE_SERVICE or NODE_UNKNOWN (the unknown source: no namespace or name)."""

    kind: str
    namespace: str = ""
    name: str = ""
    version: str = ""  # apps only: a versioned app


@dataclass(frozen=True)
class ExemplarQuery:
    """Where a dialect keeps the exemplars of a node or an edge: `selectors` over its
    latency histogram's bucket series (PromQL, built with graph/promql.py), `keep` for what
    a selector cannot say (None keeps every series), the histogram's unit in ms, and
    `status` (a series' labels -> the response code its requests ended with)."""

    selectors: tuple[str, ...]
    unit_ms: float
    status: Callable[[Mapping[str, str]], str]
    keep: Callable[[Mapping[str, str]], bool] | None = None


@runtime_checkable
class ExemplarSource(Protocol):
    """A dialect whose latency histograms may carry exemplars (trace ids). A node's are
    those of the requests into and out of it; an edge's, those of its requests. None: the
    dialect cannot tell which of its series are about that element."""

    def exemplar_query(self, source: Endpoint | None, dest: Endpoint,
                       mesh: MeshConfig) -> ExemplarQuery | None:
        """An edge source -> dest, or, without `source`, the node `dest`."""
        ...


@dataclass(frozen=True)
class RequestSeries:
    """Where a dialect keeps one direction of a node's requests (or an edge's): selectors
    (graph/promql.py's) of its request counter, of that counter's failed requests, and of
    its latency histogram's bucket series, whose unit is `unit_ms` milliseconds. The
    selectors of one tuple name disjoint series (graph/series.py adds them up)."""

    requests: tuple[str, ...]
    errors: tuple[str, ...]
    buckets: tuple[str, ...]
    unit_ms: float = 1.0


@runtime_checkable
class SeriesSource(Protocol):
    """A dialect that can say which of its series are a node's, an edge's or a whole
    graph's requests, for the charts of graph/series.py."""

    def request_series(self, source: Endpoint | None, dest: Endpoint | None,
                       namespaces: Sequence[str],
                       mesh: MeshConfig) -> dict[str, RequestSeries] | None:
        """By direction: `inbound` and `outbound` for the node `dest` (no `source`) or,
        with neither, for the workloads of `namespaces`; `requests` for the edge
        source -> dest. A direction the element has none of is left out; None: the
        dialect cannot tell which of its series are that element's."""
        ...
