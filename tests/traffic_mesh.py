"""The mesh the numeric core's tests build (graph/cells.py, graph/sources/istio/namespace_maps.py),
and what they compare: namespaces a and b asked, c outside, every workload calling every
other one, and Kiali's algorithm written out row by row (`reference`).

    a1, a2 (ns a); b1-v1, b1-v2 (ns b); c1 (ns c, outside); unknown -> b1-v1

`options_of` and `mesh_answers` give a test its graph and the traffic queries' answers:

    rng = random.Random(7)
    options = options_of(ids.APP, inject=True)
    answers = mesh_answers(options, rng)
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import Any

from graph import build, ids, traffic
from graph.cells import whole
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import Row
from graph.sources.dialect import TrafficQuery
from graph.sources.istio import namespace_maps
from graph.sources.istio import queries as istio
from graph.sources.istio import traffic as istio_traffic
from tests.mesh import UNKNOWN, Workload, request_edge, tcp_edge, traffic_answers, with_labels

# The graph types and service-node settings the tests go through.
TYPES = [(ids.WORKLOAD, True), (ids.WORKLOAD, False), (ids.APP, True),
         (ids.VERSIONED_APP, False), (ids.SERVICE, True)]


def options_of(graph_type: str = ids.WORKLOAD, inject: bool = True) -> GraphOptions:
    """A graph of namespaces a and b."""
    return GraphOptions(namespaces=("a", "b"), graph_type=graph_type, query_time=1000,
                        inject_service_nodes=inject)


def traffic_queries(options: GraphOptions) -> Sequence[TrafficQuery]:
    """The traffic queries of a build, appenders' left out."""
    return build.plan(options, MeshConfig(), with_appenders=False).traffic


def mesh_answers(options: GraphOptions, rng: random.Random) -> list[list[Row]]:
    """A `mesh(rng)`'s answers to those queries, as a Prometheus would give them."""
    return traffic_answers(traffic_queries(options), mesh(rng))


A1 = Workload("a", "a1-v1", "a1", service="a1")
A2 = Workload("a", "a2-v1", "a2", service="a2")
B1 = Workload("b", "b1-v1", "b1", service="b1")
B2 = Workload("b", "b1-v2", "b1", "v2", service="b1")
C1 = Workload("c", "c1-v1", "c1", service="c1")  # namespace c is never requested: outside


def reference(options: GraphOptions, answers: list[list[Row]]) -> traffic.TrafficMap:
    """The namespace maps built row by row and merged map after map."""
    inject = options.inject_service_nodes or options.graph_type == ids.SERVICE
    args = (options.graph_type, inject, options.rates.http, options.rates.grpc)
    maps = {ns: traffic.TrafficMap() for ns in options.namespaces}
    seen: dict[str, set[tuple[str, ...]]] = {ns: set() for ns in options.namespaces}
    for query, rows in zip(traffic_queries(options), answers, strict=True):
        for key, value in rows:
            plan = istio_traffic.plan_row(query.metric, key, *args)
            if plan is None:
                continue
            if query.kind == istio.INBOUND:
                targets = [plan.dest_namespace]
            elif query.kind == istio.OUTBOUND:
                targets = [plan.source_namespace]
            else:
                targets = [ns for ns in options.namespaces if ns != plan.source_namespace
                           and re.match(rf"^.+\.{re.escape(ns)}\..+$", plan.edge.host)]
            for ns in targets:
                if ns in maps and plan.series not in seen[ns]:
                    seen[ns].add(plan.series)
                    add(maps[ns], plan, value)
    merged = traffic.TrafficMap()
    for ns, ns_map in maps.items():
        build.merge_into(merged, ns, ns_map)
    return merged


def add(g: traffic.TrafficMap, plan: istio_traffic.RowPlan, value: float) -> None:
    path = plan.edge.path
    for spec in (path[0], path[-1], *path[1:-1]):
        if spec.id not in g:
            g.add_node(spec.id, **spec.fields, md={"isEgressCluster": True} if spec.egress else {})
    service = plan.edge.dest_service
    if len(path) == 3:
        g.nodes[path[1].id]["md"]["isInjected"] = True
        if service:
            g.nodes[path[1].id]["md"].setdefault("destServices", {})[service] = True
    if service:
        g.nodes[path[-1].id]["md"].setdefault("destServices", {})[service] = True
    _, _, code, flags, host = plan.series
    counted = "-" if plan.protocol == traffic.TCP else code
    out_key, dest_keys, edge_keys = traffic.rate_keys(plan.protocol, counted)
    for source, dest in zip(path, path[1:], strict=False):
        edge_md = g.edge_data(source.id, dest.id, plan.protocol)["md"]
        if value <= 0:
            continue
        traffic.add_value(g.nodes[source.id]["md"], out_key, value)
        for key in dest_keys:
            traffic.add_value(g.nodes[dest.id]["md"], key, value)
        for key in edge_keys:
            traffic.add_value(edge_md, key, value)
        traffic.add_response(edge_md, plan.protocol, counted or "-", flags, host, value)


def canonical(md: dict[str, Any]) -> list[tuple[str, Any]]:
    """An md to compare: top-level keys in any order (nothing reads them in order), the
    responses in their order (the JSON lists them so)."""
    def nested(value: Any) -> Any:
        return [(k, nested(v)) for k, v in value.items()] if isinstance(value, dict) else value
    return sorted((key, nested(value)) for key, value in md.items())


def assert_same_map(got: traffic.TrafficMap, expected: traffic.TrafficMap) -> None:
    whole(got)  # a reused layout's map makes its responses when they are read
    whole(expected)
    assert list(got.nodes) == list(expected.nodes)
    for node_id, n in expected.nodes.items():
        assert {**got.nodes[node_id], "md": None} == {**n, "md": None}
        assert canonical(got.nodes[node_id]["md"]) == canonical(n["md"]), node_id
        assert list(got.out[node_id]) == list(expected.out[node_id]), node_id
        for key, data in expected.out[node_id].items():
            mine = got.out[node_id][key]
            assert mine["protocol"] == data["protocol"]
            assert canonical(mine["md"]) == canonical(data["md"]), (node_id, key)
            assert canonical(mine["source_md"]) == canonical(data["source_md"]), (node_id, key)


def merged(options: GraphOptions, answers: list[list[Row]]) -> traffic.TrafficMap:
    nt = namespace_maps.NamespaceTraffic(options)
    for query, rows in zip(traffic_queries(options), answers, strict=True):
        nt.apply(query, rows)
    return nt.merged()


def last_layout() -> object:
    return next(reversed(namespace_maps.LAYOUTS.by_scope.values()))[1]


def jitter(answers: list[list[Row]], rng: random.Random) -> list[list[Row]]:
    """The same keys with new values, awkward ones (sums that depend on the order)."""
    return [[(key, rng.choice((0.1, 0.2, 0.3, 1e-9, 1e9)) * rng.uniform(0.5, 2.0))
             for key, _ in rows] for rows in answers]


def mesh(rng: random.Random) -> list[dict[str, Any]]:
    """Every workload calls every other one (HTTP, gRPC or TCP), both reporters, each with
    values of its own; plus unknown callers, and a second flag on some responses."""
    workloads = (A1, A2, B1, B2, C1)
    series: list[dict[str, Any]] = []
    for src in workloads:
        for dst in workloads:
            if src is dst or rng.random() < 0.2:
                continue
            kind = rng.choice(("http", "grpc", "tcp"))
            if kind == "tcp":
                series += tcp_edge(src, dst, rng.uniform(1, 1e4), rng.uniform(1, 1e4))
                continue
            codes = ["200", "503"] if kind == "http" else ["grpc:0", "grpc:14"]
            for reporter in ("source", "destination"):
                series += request_edge(src, dst, {c: rng.uniform(0.01, 9.0) for c in codes},
                                       protocol=kind, reporters=(reporter,))
    series += request_edge(UNKNOWN, B1, {"200": 0.7, "404": 0.3})
    # A second flag on some codes: a response's flags keep their order too.
    series += with_labels(request_edge(A1, B1, {"503": 0.4, "200": 0.1}), response_flags="UF")
    series += with_labels(request_edge(B2, A2, {"200": 0.3}), response_flags="DC")
    return series
