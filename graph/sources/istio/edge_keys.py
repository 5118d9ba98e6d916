"""Which nodes and edges of the graph a row of Istio telemetry is about.

Appender queries group by `istio.EDGE_LABELS` first (their own labels come after), so that
a row names its source and destination exactly as a traffic row does. `EdgeResolver`
reads a row's key as a record (graph/sources/istio/labels.py) and turns its edge labels
into node ids by the traffic builder's rules (unknown clusters, the egress gateway, bad
telemetry, node ids per graph type, service-node injection), so an appender's value lands
on the edge the traffic drew.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic

from graph import ids
from graph.options import GraphOptions
from graph.prometheus import Record, joined_sum, read
from graph.promql import Matcher, Scope, any_of, label_list, none_of
from graph.sources.istio.labels import edge_of
from graph.sources.istio.traffic import MISSING, Endpoints, PlanCache, row_edge


@dataclass(frozen=True, slots=True)
class EdgeIds:
    """The node ids of a row: source, destination, and the injected service node if any."""

    ends: Endpoints
    source: str
    dest: str
    service: str | None

    def hops(self) -> tuple[tuple[str, str], ...]:
        """The edges the row's traffic is drawn on: caller -> service -> workload, or one."""
        if self.service is None:
            return ((self.source, self.dest),)
        return ((self.source, self.service), (self.service, self.dest))

    def last_hop(self) -> tuple[str, str]:
        """The edge into the destination: where measurements made there belong.

        Kiali sets response time and throughput only there: the values of the several
        workloads behind one service cannot be combined into the caller -> service edge."""
        return (self.service or self.source, self.dest)


class EdgeResolver(Generic[Record]):
    """Row keys -> (the row as a record, its EdgeIds) for one graph type, cached across
    builds (a mesh sends the same rows every refresh): a key is read and resolved the first
    time it is seen. None for a row whose key cannot be read or whose telemetry names no
    node."""

    def __init__(self, options: GraphOptions, record: type[Record]) -> None:
        self.record = record
        self.graph_type = options.graph_type
        self.inject = options.inject_service_nodes or options.graph_type == ids.SERVICE
        self.cache = RESOLVED.table((record, self.graph_type, self.inject))

    def resolve(self, key: str) -> tuple[Record, EdgeIds] | None:
        found = self.cache.get(key, MISSING)
        if found is MISSING:
            found = self.cache[key] = self.edge_ids(key)
            RESOLVED.counted(1)
        return found  # type: ignore[no-any-return]

    def edge_ids(self, key: str) -> tuple[Record, EdgeIds] | None:
        record = read(self.record, key)
        if record is None:
            return None
        edge = row_edge(edge_of(record), self.graph_type, self.inject)
        if edge is None:
            return None
        return record, EdgeIds(edge.ends, edge.source_node.id, edge.dest_node.id,
                               edge.service_id)


RESOLVED = PlanCache(limit=500_000)


def rate_at_either_end(metric: str, base: Sequence[Matcher], namespaces: Sequence[str],
                       duration: int, labels: Sequence[str], scope: Scope) -> str:
    """`sum(rate(metric)) by (labels) > 0`, the labels joined in one (read the rows with
    Query(..., joined=True)), over the rows Kiali's per-namespace appender queries read
    together: source workload in a requested namespace, or destination service in one.
    The two selectors are made disjoint (the second one's source is elsewhere), so that
    each series is read once and one sum covers both."""
    source = any_of("source_workload_namespace", namespaces)
    elsewhere = none_of("source_workload_namespace", namespaces)
    dest = any_of("destination_service_namespace", namespaces)
    rates = (f"(rate({scope.selector(metric, *base, source)}[{duration}s]) or "
             f"rate({scope.selector(metric, *base, elsewhere, dest)}[{duration}s]))")
    return f"{joined_sum(rates, labels)} > 0"


def rate_by(metric: str, matchers: Sequence[Matcher], duration: int, labels: Sequence[str],
            scope: Scope) -> str:
    """`sum(rate(metric{matchers}[duration])) by (labels)`. One metric per query: the rates
    of several in one selector would lose their names and clash."""
    selector = scope.selector(metric, *matchers)
    return f"sum(rate({selector}[{duration}s])) by ({label_list(labels)})"
