"""From Prometheus to one traffic graph: query, build per namespace, merge, finalize.

    prom = Prometheus(PrometheusSettings(url="http://127.0.0.1:9090"))
    g = build_graph(prom, GraphOptions(namespaces=("bookinfo",)), MeshConfig())
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import cast

import networkx as nx

from graph import counted_finalizers, ids, memory, sources, traffic
from graph.appender_context import AppenderContext
from graph.appenders import Appender, PreparedAppender
from graph.cells import CountedMap, whole
from graph.finalizers import mark_outsiders, mark_roots, reduce_to_service_graph
from graph.health import HealthConfig, annotate_health
from graph.health_arrays import annotate_counted
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import Prometheus, Query, Row
from graph.sources.dialect import (
    Dialect,
    MergedTraffic,
    NodeTarget,
    TrafficMaps,
    TrafficQuery,
)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector while a graph is built.

    A big graph allocates a few hundred thousand small objects, none of them garbage until
    the graph is dropped; every collection the allocations trigger would walk them all
    (and the rest of the process's heap), for nothing. Reference counting still frees
    everything as usual. When the outermost pause ends, what was freed is handed back to
    the system (graph/memory.py): by then the build's graph has been dropped."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
            memory.give_back()


@dataclass(frozen=True)
class QueryPlan:
    """Every query one build sends, in one batch: traffic first, then each appender's; and
    the dialect they are in, whose rules turn the traffic rows into namespace maps."""

    traffic: Sequence[TrafficQuery]
    appenders: list[tuple[Appender, list[Query]]]
    dialect: Dialect

    def batch(self) -> list[Query]:
        return [q.query for q in self.traffic] + [q for _, qs in self.appenders for q in qs]

    def kind(self, index: int) -> str:
        """What the batch's query `index` asks: its traffic query's kind (unserviced,
        inbound, outbound, ...), or an appender's name."""
        if index < len(self.traffic):
            return str(self.traffic[index].kind)
        offset = len(self.traffic)
        for appender, qs in self.appenders:
            offset += len(qs)
            if index < offset:
                return str(getattr(appender, "name", type(appender).__name__))
        raise IndexError(index)


def dialect_of(mesh: MeshConfig, dialect: Dialect | None = None) -> Dialect:
    """The dialect given, or else the mesh's first."""
    return dialect or sources.dialect_named(mesh.dialects[0])


def plan(options: GraphOptions, mesh: MeshConfig, with_appenders: bool = True,
         dialect: Dialect | None = None) -> QueryPlan:
    dialect = dialect_of(mesh, dialect)
    appenders = dialect.appenders(options) if with_appenders else []
    ctx = AppenderContext(options, mesh)
    return QueryPlan(dialect.namespace_queries(options, mesh),
                     [(a, a.queries(ctx)) for a in appenders], dialect)


def build_graph(
    prom: Prometheus, options: GraphOptions, mesh: MeshConfig,
    health: HealthConfig | None = None, with_appenders: bool = True,
    dialect: Dialect | None = None,
) -> nx.MultiDiGraph:
    """The traffic graph of options.namespaces at options.query_time (now if unset), read
    in `dialect`, or else in each of mesh.dialects (merged by merge_dialects).

    Traffic and appender queries go to Prometheus in one parallel batch; each answer is
    worked on as soon as the rules allow, while Prometheus computes the others."""
    if dialect is None and len(mesh.dialects) > 1:
        return merge_dialects([
            build_graph(prom, options, mesh, health, with_appenders, sources.dialect_named(d))
            for d in mesh.dialects], health)
    queries = plan(options, mesh, with_appenders, dialect)
    answers = prom.query_each(queries.batch(), options.resolved_time())
    return assemble(Assembly(queries, options, mesh, health), answers)


def node_plan(options: GraphOptions, target: NodeTarget, mesh: MeshConfig,
              with_appenders: bool = True,
              dialect: Dialect | None = None) -> tuple[QueryPlan, GraphOptions]:
    """The queries of a node graph, and the options its graph is finished with: a node
    graph is not reduced to services, whatever the graph type."""
    node_options = replace(options, namespaces=(target.namespace,),
                           graph_type=ids.WORKLOAD if options.graph_type == ids.SERVICE
                           else options.graph_type)
    dialect = dialect_of(mesh, dialect)
    appenders = dialect.appenders(node_options) if with_appenders else []
    node_ctx = AppenderContext(node_options, mesh)
    return QueryPlan(dialect.node_queries(options, target, mesh),
                     [(a, a.queries(node_ctx)) for a in appenders], dialect), node_options


def build_node_graph(
    prom: Prometheus, options: GraphOptions, target: NodeTarget, mesh: MeshConfig,
    health: HealthConfig | None = None, with_appenders: bool = True,
    dialect: Dialect | None = None,
) -> nx.MultiDiGraph:
    """The traffic into and out of one node (Kiali's node-detail graph), read in `dialect`,
    or else in each of mesh.dialects (merged by merge_dialects)."""
    if dialect is None and len(mesh.dialects) > 1:
        return merge_dialects([
            build_node_graph(prom, options, target, mesh, health, with_appenders,
                             sources.dialect_named(d))
            for d in mesh.dialects], health)
    queries, node_options = node_plan(options, target, mesh, with_appenders, dialect)
    assembly = Assembly(queries, node_options, mesh, health,
                        traffic=queries.dialect.namespace_traffic(options, (target.namespace,)),
                        graph_type=options.graph_type)
    return assemble(assembly, prom.query_each(queries.batch(), options.resolved_time()))


def assemble(assembly: Assembly, answers: Iterable[tuple[int, list[Row]]]) -> nx.MultiDiGraph:
    """The graph of a plan's answers, (index in the batch, rows) in any order: the one
    path from rows to graph, for namespace graphs, node graphs and tests alike.

    How long it took is left in g.graph["timings"] (see BuildTimings), for whoever
    measures builds: graph/ keeps no metrics of its own."""
    timings = assembly.timings
    start = time.perf_counter()
    for index, rows in answers:
        # The answer's latency: all the batch's queries are sent at once.
        timings.queries.append((assembly.queries.kind(index), time.perf_counter() - start,
                                len(rows)))
        assembly.add(index, rows)
    timings.stages["query"] = time.perf_counter() - start - sum(timings.stages.values())
    g = assembly.graph()
    g.graph["timings"] = timings
    return g


@dataclass
class BuildTimings:
    """Where one build spent its time, in seconds.

    `stages`: "traffic" (rows to traffic), "merge" (the namespace maps merged, Kiali's
    finalizers, health) and "appenders" are the time spent on each; "query" is the rest
    of the build's wall time, waiting on Prometheus (its answers are parsed in the query
    threads, while the build thread works on earlier answers). `queries`: one
    (kind, seconds from sending the batch to this answer, rows) per query."""

    stages: dict[str, float] = field(default_factory=dict)
    queries: list[tuple[str, float, int]] = field(default_factory=list)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages[stage] = self.stages.get(stage, 0.0) + time.perf_counter() - start


class Assembly:
    """Puts a graph together from a QueryPlan's answers in any arrival order, applying them
    in the order the rules need: the traffic queries in plan order (the first reporter's
    copy of a series wins); once all traffic is in, the merge, finalizers and health; then
    each appender in plan order once its own queries are in.

    `traffic` builds the namespace maps (by default the plan's dialect's, one per requested
    namespace, with the options' rules); `options` finish the graph; `graph_type` is stamped
    on it (by default the options')."""

    def __init__(self, queries: QueryPlan, options: GraphOptions, mesh: MeshConfig,
                 health: HealthConfig | None,
                 traffic: TrafficMaps | MergedTraffic | None = None,
                 graph_type: str | None = None) -> None:
        self.queries, self.options, self.mesh, self.health = queries, options, mesh, health
        self.traffic = traffic or queries.dialect.namespace_traffic(options)
        self.graph_type = graph_type
        self.ctx = AppenderContext(options, mesh)
        self.results: dict[int, list[Row]] = {}
        # Each appender's answers: their indices in the batch.
        starts = [len(queries.traffic)]
        for _, qs in queries.appenders:
            starts.append(starts[-1] + len(qs))
        self.wanted = [range(a, b) for a, b in pairwise(starts)]
        # What an appender with a prepare() step read of its rows, by its position in the
        # plan, until the graph is there to annotate.
        self.prepared: dict[int, object] = {}
        self.applied_traffic = 0
        self.applied_appenders = 0
        self.g: nx.MultiDiGraph | None = None
        self.timings = BuildTimings()

    def add(self, index: int, rows: list[Row]) -> None:
        self.results[index] = rows
        traffic_queries = self.queries.traffic
        timed = self.timings.timed
        if index >= len(traffic_queries):
            self.prepare_ready()
        while self.applied_traffic < len(traffic_queries) and self.applied_traffic in self.results:
            with timed("traffic"):
                self.traffic.apply(traffic_queries[self.applied_traffic],
                                   self.results.pop(self.applied_traffic))
            self.applied_traffic += 1
        if self.applied_traffic < len(traffic_queries):
            return
        if self.g is None:
            with timed("merge"):
                self.g = combine(merged(self.traffic), self.options, self.mesh, self.health)
        while self.applied_appenders < len(self.queries.appenders):
            position = self.applied_appenders
            appender, wanted = self.queries.appenders[position][0], self.wanted[position]
            if position in self.prepared:
                with timed("appenders"):
                    cast(PreparedAppender, appender).annotate(
                        self.g, self.prepared.pop(position), self.ctx)
            elif any(i not in self.results for i in wanted):
                return
            else:
                with timed("appenders"):
                    appender.apply(self.g, [self.results.pop(i) for i in wanted], self.ctx)
            self.applied_appenders += 1

    def prepare_ready(self) -> None:
        """Read the rows of each appender with a prepare() step whose answers are all in,
        without waiting for the traffic: the security appender's reading of the inbound
        answers then overlaps Prometheus's work on the others."""
        for position, (appender, _) in enumerate(self.queries.appenders):
            wanted = self.wanted[position]
            if (position >= self.applied_appenders and position not in self.prepared
                    and hasattr(appender, "prepare")
                    and all(i in self.results for i in wanted)):
                with self.timings.timed("appenders"):
                    self.prepared[position] = cast(PreparedAppender, appender).prepare(
                        [self.results.pop(i) for i in wanted], self.ctx)

    def graph(self) -> nx.MultiDiGraph:
        if self.g is None:  # no traffic query at all (nothing to ask for these rates)
            with self.timings.timed("merge"):
                self.g = combine(merged(self.traffic), self.options, self.mesh, self.health)
        if self.applied_appenders != len(self.queries.appenders):
            raise RuntimeError("graph asked for before every query was answered")
        return stamp(self.g, self.options, self.graph_type)


def merge_dialects(graphs: Sequence[nx.MultiDiGraph],
                   health: HealthConfig | None) -> nx.MultiDiGraph:
    """One graph from the graphs of several dialects, by node id (the same cluster,
    namespace and name are the same node): the first graph's copy of a node or an edge
    (protocol) wins, with its rates and graph attributes; the others add the nodes and
    edges it lacks. Health and isRoot are then worked out again over the merged edges.
    A first rule, kept simple: a node's rates are not added up across dialects."""
    for g in graphs:
        whole(g)  # health is judged again on the dicts
    merged = graphs[0]
    for g in graphs[1:]:
        for node_id, attrs in g.nodes(data=True):
            if node_id not in merged:
                merged.add_node(node_id, **attrs)
        for u, v, key, data in g.edges(keys=True, data=True):
            if not merged.has_edge(u, v, key=key):
                merged.add_edge(u, v, key=key, **data)
    for node_id, md in merged.nodes(data="md"):
        md.pop("isRoot", None)
        if merged.out_degree(node_id) and not merged.in_degree(node_id):
            md["isRoot"] = True
    annotate_health(merged.nodes, merged.edges(keys=True, data=True),
                    health or HealthConfig.default())
    return merged


def merged(maps: TrafficMaps | MergedTraffic) -> traffic.TrafficMap:
    """A dialect's namespace maps merged as Kiali merges them: by the dialect itself when
    it can (graph/cells.py's numeric core), else map after map."""
    if isinstance(maps, MergedTraffic):
        return maps.merged()
    return merge_maps(maps.maps())


def merge_maps(maps: Mapping[str, traffic.TrafficMap]) -> traffic.TrafficMap:
    tm = traffic.TrafficMap()
    for namespace, ns_map in maps.items():
        merge_into(tm, namespace, ns_map)
    return tm


def combine(tm: traffic.TrafficMap, options: GraphOptions, mesh: MeshConfig,
            health: HealthConfig | None) -> nx.MultiDiGraph:
    """The merged traffic map finalized, with health."""
    finalize(tm, options.namespaces, mesh)
    if options.graph_type == ids.SERVICE:
        whole(tm)  # the reduction adds up the edges' responses
        tm = reduce_to_service_graph(tm)
    judge_map(tm, health or HealthConfig.default())
    return tm.to_networkx()


def finalize(tm: traffic.TrafficMap, namespaces: tuple[str, ...], mesh: MeshConfig) -> None:
    """Kiali's finalizers: mark_outsiders, mark_roots; on a map a reused Layout counted, the
    flags they set on its first map, set again by number (graph/counted_finalizers.py)."""
    def finalizers() -> None:
        mark_outsiders(tm, namespaces, mesh)
        mark_roots(tm)

    if isinstance(tm, CountedMap):
        counted_finalizers.finalize(tm, (namespaces, mesh), finalizers)
    else:
        finalizers()


def judge_map(tm: traffic.TrafficMap, config: HealthConfig) -> None:
    """Health of a finalized map: on numbers when a reused Layout counted it (and the
    finalizers only flagged it), else on its dicts."""
    if not (isinstance(tm, CountedMap) and annotate_counted(tm, config)):
        whole(tm)
        annotate_health(tm.nodes, tm.edges(), config)


def stamp(g: nx.MultiDiGraph, options: GraphOptions,
          graph_type: str | None = None) -> nx.MultiDiGraph:
    g.graph.update(duration=options.duration, graph_type=graph_type or options.graph_type,
                   timestamp=options.resolved_time(), box_by=options.box_by)
    return g


def merge_into(tm: traffic.TrafficMap, namespace: str, ns_map: traffic.TrafficMap) -> None:
    """Merge one namespace's map as Kiali does: a node found in both keeps the copy built
    for its own namespace, and gains the other copy's edges that it lacks."""
    for node_id, attrs in ns_map.nodes.items():
        ns_edges = ns_map.out[node_id]
        if node_id not in tm:
            tm.add_node(node_id, **attrs)
            tm.out[node_id] = dict(ns_edges)
            continue
        if attrs["namespace"] == namespace:
            extra = tm.out[node_id]
            tm.nodes[node_id] = attrs
            tm.out[node_id] = dict(ns_edges)
        else:
            extra = ns_edges
        kept_md = tm.nodes[node_id]["md"]
        edges = tm.out[node_id]
        for key, data in extra.items():
            if key not in edges:
                edges[key] = data
                traffic.add_outgoing(kept_md, data["md"])
