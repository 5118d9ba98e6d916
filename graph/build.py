"""From Prometheus to one traffic graph: query, build per namespace, merge, finalize.

    prom = Prometheus(PrometheusSettings(url="http://127.0.0.1:9090"))
    g = build_graph(prom, GraphOptions(namespaces=("bookinfo",)), MeshConfig())
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import networkx as nx

from graph import ids, traffic
from graph.appenders import Appender, appenders_for
from graph.health import HealthConfig, annotate_health
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import Prometheus, Query, Row
from graph.sources import istio, istio_node
from graph.sources.istio_node import NodeTarget


@dataclass(frozen=True)
class QueryPlan:
    """Every query one build sends, in one batch: traffic first, then each appender's."""

    traffic: list[istio.NamespaceQuery]
    appenders: list[tuple[Appender, list[Query]]]

    def batch(self) -> list[Query]:
        return [q.query for q in self.traffic] + [q for _, qs in self.appenders for q in qs]

    def split(self, results: Sequence[list[Row]]) -> list[tuple[Appender, Sequence[list[Row]]]]:
        """Each appender with its own rows, from the results after the traffic's."""
        out: list[tuple[Appender, Sequence[list[Row]]]] = []
        offset = 0
        for appender, qs in self.appenders:
            out.append((appender, results[offset:offset + len(qs)]))
            offset += len(qs)
        return out


def plan(options: GraphOptions, mesh: MeshConfig, with_appenders: bool = True) -> QueryPlan:
    appenders = appenders_for(options) if with_appenders else []
    return QueryPlan(istio.namespace_queries(options, mesh),
                     [(a, a.queries(options, mesh)) for a in appenders])


def build_graph(
    prom: Prometheus, options: GraphOptions, mesh: MeshConfig,
    health: HealthConfig | None = None, with_appenders: bool = True,
) -> nx.MultiDiGraph:
    """The traffic graph of options.namespaces at options.query_time (now if unset).

    Traffic and appender queries go to Prometheus in one parallel batch."""
    queries = plan(options, mesh, with_appenders)
    results = prom.query_all(queries.batch(), options.resolved_time())
    traffic_count = len(queries.traffic)
    maps = istio.namespace_traffic(options, queries.traffic, results[:traffic_count])
    return finish_graph(maps, options, mesh, health, queries.split(results[traffic_count:]))


def build_node_graph(
    prom: Prometheus, options: GraphOptions, target: NodeTarget, mesh: MeshConfig,
    health: HealthConfig | None = None, with_appenders: bool = True,
) -> nx.MultiDiGraph:
    """The traffic into and out of one node (Kiali's node-detail graph)."""
    # A node graph is not reduced to services, whatever the graph type.
    node_options = replace(options, namespaces=(target.namespace,),
                           graph_type=ids.WORKLOAD if options.graph_type == ids.SERVICE
                           else options.graph_type)
    queries = istio_node.node_queries(options, target, mesh)
    appenders = appenders_for(node_options) if with_appenders else []
    extra = QueryPlan([], [(a, a.queries(node_options, mesh)) for a in appenders])
    results = prom.query_all([q.query for q in queries] + extra.batch(),
                             options.resolved_time())
    g = istio_node.node_traffic(options, queries, results[:len(queries)])
    return finish_graph({target.namespace: g}, node_options, mesh, health,
                        extra.split(results[len(queries):]), graph_type=options.graph_type)


def finish_graph(
    maps: Mapping[str, nx.MultiDiGraph], options: GraphOptions, mesh: MeshConfig,
    health: HealthConfig | None = None,
    appended: Sequence[tuple[Appender, Sequence[list[Row]]]] = (),
    graph_type: str | None = None,
) -> nx.MultiDiGraph:
    g = traffic.new_map()
    for namespace, ns_map in maps.items():
        merge_into(g, namespace, ns_map)
    mark_outsiders(g, options.namespaces, mesh)
    mark_roots(g)
    if options.graph_type == ids.SERVICE:
        g = reduce_to_service_graph(g)
    for appender, rows in appended:
        appender.apply(g, rows, options)
    annotate_health(g, health or HealthConfig.default())
    g.graph.update(duration=options.duration, graph_type=graph_type or options.graph_type,
                   timestamp=options.resolved_time(), box_by=options.box_by)
    return g


def merge_into(g: nx.MultiDiGraph, namespace: str, ns_map: nx.MultiDiGraph) -> None:
    """Merge one namespace's map as Kiali does: a node found in both keeps the copy built
    for its own namespace, and gains the other copy's edges that it lacks."""
    for node_id, attrs in ns_map.nodes(data=True):
        ns_edges = [(v, k, d) for _, v, k, d in ns_map.out_edges(node_id, keys=True, data=True)]
        if node_id not in g or "md" not in g.nodes[node_id]:
            g.add_node(node_id, **attrs)
            add_edges(g, node_id, ns_edges)
            continue
        if attrs["namespace"] == namespace:
            old_edges = [(v, k, d) for _, v, k, d in g.out_edges(node_id, keys=True, data=True)]
            g.remove_edges_from([(node_id, v, k) for v, k, _ in old_edges])
            g.nodes[node_id].clear()
            g.nodes[node_id].update(attrs)
            add_edges(g, node_id, ns_edges)
            extra = old_edges
        else:
            extra = ns_edges
        kept_md = g.nodes[node_id]["md"]
        for v, k, d in extra:
            if not g.has_edge(node_id, v, key=k):
                add_edges(g, node_id, [(v, k, d)])
                traffic.add_outgoing(kept_md, d["md"])


def add_edges(g: nx.MultiDiGraph, source: str, edges: list[tuple[str, str, dict]]) -> None:
    for target, key, data in edges:
        g.add_edge(source, target, key=key, **data)


def mark_outsiders(g: nx.MultiDiGraph, namespaces: tuple[str, ...], mesh: MeshConfig) -> None:
    """isOutside: a namespace not requested; isInaccessible: one the user may not see."""
    for _, n in g.nodes(data=True):
        md = n["md"]
        node_type, namespace = n["node_type"], n["namespace"]
        if node_type == ids.NODE_UNKNOWN or (node_type == ids.NODE_SERVICE and (
                namespace == ids.UNKNOWN or md.get("isEgressCluster"))):
            md["isInaccessible"] = True
        elif namespace != ids.UNKNOWN and namespace not in namespaces:
            md["isOutside"] = True
        if "isInaccessible" not in md and not mesh.is_accessible(n["cluster"], namespace):
            md["isInaccessible"] = True


def mark_roots(g: nx.MultiDiGraph) -> None:
    """isRoot: a node that sends traffic and receives none (a traffic generator)."""
    for node_id, n in g.nodes(data=True):
        if g.out_degree(node_id) and not g.in_degree(node_id):
            n["md"]["isRoot"] = True


def reduce_to_service_graph(g: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Kiali's service graph: service -> service edges through the workloads between them;
    roots that call services stay as they are."""
    reduced = traffic.new_map()
    for node_id, n in g.nodes(data=True):
        if n["node_type"] != ids.NODE_SERVICE:
            if n["md"].get("isRoot"):
                out_edges = g.out_edges(node_id, keys=True, data=True)
                to_services = [(v, k, d) for _, v, k, d in out_edges
                               if g.nodes[v]["node_type"] == ids.NODE_SERVICE]
                if to_services:
                    traffic.reset_outgoing(n["md"])
                    reduced.add_node(node_id, **n)
                    for v, k, d in to_services:
                        traffic.add_outgoing(n["md"], d["md"])
                        reduced.add_edge(node_id, v, key=k, **d)
            continue
        reduced.add_node(node_id, **n)
        traffic.reset_outgoing(n["md"])
        for _, workload, _k in list(g.out_edges(node_id, keys=True)):
            for _, service, key, d in g.out_edges(workload, keys=True, data=True):
                if g.nodes[service]["node_type"] != ids.NODE_SERVICE:
                    continue
                if reduced.has_edge(node_id, service, key=key):
                    existing = reduced.edges[node_id, service, key]
                    traffic.add_outgoing(n["md"], d["md"])
                    traffic.aggregate_edge(existing["md"], d["md"], key)
                else:
                    reduced.add_edge(node_id, service, key=key, **{**d, "source_md": n["md"]})
                    traffic.add_outgoing(n["md"], d["md"])
    # Edges may name services that only appear as destinations: give them their attributes.
    for node_id in reduced.nodes:
        if "md" not in reduced.nodes[node_id]:
            reduced.nodes[node_id].update(g.nodes[node_id])
    return reduced
