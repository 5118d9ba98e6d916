"""The trace-derived dialect's queries: request and failure rates per edge.

Both producers (Tempo's metrics-generator and the OpenTelemetry Collector's servicegraph
connector) write `traces_service_graph_request_total` and
`traces_service_graph_request_failed_total`. The connector also puts a `failed` label on
every series; summing it away, request_total counts all requests either way, and the
failures are read from request_failed_total, which both write.

A namespace graph reads the series whose client or whose server is in a requested
namespace (two selectors joined by `or`: a series matched by both is one row). A series
without the namespace dimension is in the default namespace, so when that namespace is
requested the matcher also takes an empty value (which matches a missing label).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from graph.options import GraphOptions, MeshConfig
from graph.prometheus import Query
from graph.promql import Matcher, Scope, any_of, eq, label_list, matches, regex_literal
from graph.sources.dialect import NodeTarget
from graph.sources.traces.labels import EdgeLabels

REQUESTS = "traces_service_graph_request_total"
FAILED = "traces_service_graph_request_failed_total"
LABELS = EdgeLabels._fields
CLIENT_NS, SERVER_NS = "client_service_namespace", "server_service_namespace"
# Query kinds: a namespace graph's rows go to the namespaces of their ends, a node graph's
# to its one map.
NAMESPACE, NODE = "namespace", "node"


@dataclass(frozen=True)
class Placement:
    """Where the rows' nodes are: the mesh's cluster, and the namespace of the ends that
    name none."""

    cluster: str
    default_namespace: str

    @classmethod
    def of(cls, mesh: MeshConfig) -> Placement:
        return cls(mesh.cluster_name, mesh.default_namespace)


@dataclass(frozen=True)
class TracesQuery:
    metric: str
    kind: str
    query: Query
    placement: Placement


def in_namespaces(label: str, namespaces: Sequence[str], default: str) -> Matcher:
    """The namespace label names one of `namespaces`, or is missing when the default
    namespace is among them."""
    if default not in namespaces:
        return any_of(label, namespaces)
    return matches(label, "|".join([*(regex_literal(n) for n in namespaces), ""]))


def summed(metric: str, sides: Sequence[Sequence[Matcher]], by: Sequence[str], window: int,
           scope: Scope) -> str:
    """`sum by (by) (rate(metric{side}[window]))` for each side, joined by `or`."""
    return " or ".join(f"sum by ({label_list(by)}) "
                       f"(rate({scope.selector(metric, *side)}[{window}s]))" for side in sides)


def rate_query(metric: str, sides: Sequence[Sequence[Matcher]], options: GraphOptions,
               scope: Scope) -> Query:
    idle = "" if options.include_idle_edges else " > 0"
    rates = summed(metric, sides, LABELS, options.duration, scope)
    return Query(f"round(({rates}){idle}, 0.001)", LABELS)


def namespace_sides(namespaces: Sequence[str], default: str) -> list[tuple[Matcher, ...]]:
    return [(in_namespaces(CLIENT_NS, namespaces, default),),
            (in_namespaces(SERVER_NS, namespaces, default),)]


def node_sides(target: NodeTarget, default: str) -> list[tuple[Matcher, ...]]:
    """The series out of and into one instrumented service."""
    name = target.workload or target.app or target.service
    ns = (target.namespace,)
    return [(eq("client", name), in_namespaces(CLIENT_NS, ns, default)),
            (eq("server", name), in_namespaces(SERVER_NS, ns, default))]


def queries(sides: Sequence[Sequence[Matcher]], kind: str, options: GraphOptions,
            mesh: MeshConfig) -> list[TracesQuery]:
    if options.rates.http != "requests":
        return []  # the service graph's requests are drawn as HTTP
    placement, scope = Placement.of(mesh), mesh.scope()
    return [TracesQuery(metric, kind, rate_query(metric, sides, options, scope), placement)
            for metric in (REQUESTS, FAILED)]


def namespace_queries(options: GraphOptions, mesh: MeshConfig) -> list[TracesQuery]:
    sides = namespace_sides(options.namespaces, mesh.default_namespace)
    return queries(sides, NAMESPACE, options, mesh)


def node_queries(options: GraphOptions, target: NodeTarget,
                 mesh: MeshConfig) -> list[TracesQuery]:
    return queries(node_sides(target, mesh.default_namespace), NODE, options, mesh)
