"""The traffic map built from query rows: reporters, rates, ids, unknown and injected nodes.

No Prometheus here: rows are what Prometheus would answer, made by tests/mesh.py.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import pytest

from graph import ids
from graph.build import Assembly, assemble, plan
from graph.cytoscape import to_config
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import KEY_SEPARATOR, read, row_key
from graph.sources.istio import queries as istio
from graph.sources.istio.labels import RequestLabels
from graph.sources.istio.plan_tables import PLANS
from tests.mesh import (
    CLUSTER,
    DETAILS,
    INGRESS,
    PRODUCTPAGE,
    RATINGS,
    REVIEWS_V2,
    UNKNOWN,
    Workload,
    request_edge,
    traffic_answers,
)


def build(series: list[dict[str, Any]], inject: bool = False, graph_type: str = ids.WORKLOAD,
          namespace: str = "bookinfo") -> nx.MultiDiGraph:
    """The graph of one namespace from the series, as Prometheus would answer the traffic
    queries, through the assembly production uses."""
    options = GraphOptions(namespaces=(namespace,), graph_type=graph_type, query_time=1000,
                           inject_service_nodes=inject)
    queries = plan(options, MeshConfig(), with_appenders=False)
    answers = traffic_answers(queries.traffic, series)
    return assemble(Assembly(queries, options, MeshConfig(), None), enumerate(answers))


def wl(w: Workload) -> str:
    return f"wl_{CLUSTER}_{w.namespace}_{w.workload}"


def test_it_counts_a_request_reported_by_both_proxies_once() -> None:
    """reviews-v2 -> ratings (3/s, reported by source and destination)"""
    g = build(request_edge(REVIEWS_V2, RATINGS, {"200": 3.0}))
    edge = g.edges[wl(REVIEWS_V2), wl(RATINGS), "http"]["md"]
    assert edge["http"] == 3.0
    assert g.nodes[wl(RATINGS)]["md"]["httpIn"] == 3.0
    assert g.nodes[wl(REVIEWS_V2)]["md"]["httpOut"] == 3.0


def test_it_keeps_both_copies_when_the_series_differ() -> None:
    """reviews-v2 -> ratings: 200s from one reporter and 503s from the other are both real"""
    series = (request_edge(REVIEWS_V2, RATINGS, {"200": 3.0}, reporters=("destination",))
              + request_edge(REVIEWS_V2, RATINGS, {"503": 1.0}, reporters=("source",)))
    edge = build(series).edges[wl(REVIEWS_V2), wl(RATINGS), "http"]["md"]
    assert edge["http"] == 4.0
    assert edge["http5xx"] == 1.0


def test_it_splits_rates_by_response_class() -> None:
    """productpage -> details (6/s 200, 1/s 301, 2/s 404, 1/s 503)"""
    g = build(request_edge(PRODUCTPAGE, DETAILS,
                           {"200": 6.0, "301": 1.0, "404": 2.0, "503": 1.0}))
    edge = g.edges[wl(PRODUCTPAGE), wl(DETAILS), "http"]["md"]
    assert (edge["http"], edge["http3xx"], edge["http4xx"], edge["http5xx"]) == (10, 1, 2, 1)
    rates = edge_json(g)["traffic"]["rates"]
    assert rates["httpPercentErr"] == "30.0"  # 4xx and 5xx are errors, 3xx is not
    assert rates["httpPercentReq"] == "100.0"


def test_it_counts_grpc_errors_by_status() -> None:
    """frontend -> cart (gRPC: 8/s OK, 2/s UNAVAILABLE)"""
    frontend = Workload("shop", "frontend", "frontend", service="frontend")
    cart = Workload("shop", "cartservice", "cartservice", service="cartservice")
    g = build(request_edge(frontend, cart, {"grpc:0": 8.0, "grpc:14": 2.0}, protocol="grpc"),
              namespace="shop")
    edge = g.edges[wl(frontend), wl(cart), "grpc"]["md"]
    assert edge["grpc"] == 10.0 and edge["grpcErr"] == 2.0
    assert edge_json(g)["traffic"]["rates"]["grpcPercentErr"] == "20.0"
    assert edge_json(g)["healthStatus"] == "Failure"  # 20 % >= 10 %


def test_it_draws_traffic_from_outside_the_mesh_from_the_unknown_node() -> None:
    """unknown -> productpage (2/s, only the destination reports it)"""
    g = build(request_edge(UNKNOWN, PRODUCTPAGE, {"200": 2.0}))
    assert g.has_edge("unknown_unknown_source", wl(PRODUCTPAGE), "http")
    unknown = g.nodes["unknown_unknown_source"]
    assert unknown["node_type"] == "unknown"
    assert unknown["md"]["isRoot"] and unknown["md"]["isInaccessible"]


def test_it_injects_a_service_node_between_caller_and_workload() -> None:
    """productpage -> [details] -> details-v1"""
    g = build(request_edge(PRODUCTPAGE, DETAILS, {"200": 5.0}), inject=True)
    service = f"svc_{CLUSTER}_bookinfo_details"
    assert g.nodes[service]["md"]["isInjected"]
    assert g.edges[wl(PRODUCTPAGE), service, "http"]["md"]["http"] == 5.0
    assert g.edges[service, wl(DETAILS), "http"]["md"]["http"] == 5.0
    assert not g.has_edge(wl(PRODUCTPAGE), wl(DETAILS), "http")


def test_it_marks_nodes_of_other_namespaces_outside() -> None:
    """istio-ingressgateway (istio-system) -> productpage (bookinfo)"""
    g = build(request_edge(INGRESS, PRODUCTPAGE, {"200": 10.0}))
    assert g.nodes[wl(INGRESS)]["md"]["isOutside"]
    assert "isOutside" not in g.nodes[wl(PRODUCTPAGE)]["md"]
    assert g.nodes[wl(INGRESS)]["md"]["isRoot"]


def test_it_names_nodes_by_app_in_the_app_graph() -> None:
    """reviews-v2 -> ratings, as apps: app_..._reviews -> app_..._ratings"""
    g = build(request_edge(REVIEWS_V2, RATINGS, {"200": 3.0}), graph_type=ids.APP)
    assert g.has_edge(f"app_{CLUSTER}_bookinfo_reviews", f"app_{CLUSTER}_bookinfo_ratings", "http")


def test_it_hashes_ids_as_kiali_does() -> None:
    """reviews-v2 -> ratings: JSON ids are sha256 of the internal ids"""
    g = build(request_edge(REVIEWS_V2, RATINGS, {"200": 3.0}))
    edge = edge_json(g)
    source = ids.hash_id(wl(REVIEWS_V2))
    assert edge["source"] == source
    assert edge["id"] == ids.edge_hash(source, ids.hash_id(wl(RATINGS)), "http")


def edge_json(g: nx.MultiDiGraph) -> dict[str, Any]:
    edges = to_config(g)["elements"]["edges"]
    assert len(edges) == 1
    return edges[0]["data"]


def bookinfo_series() -> list[dict[str, Any]]:
    return (request_edge(PRODUCTPAGE, DETAILS, {"200": 10.0, "503": 1.0})
            + request_edge(PRODUCTPAGE, REVIEWS_V2, {"200": 5.0})
            + request_edge(REVIEWS_V2, RATINGS, {"200": 3.0, "404": 0.5}))


def test_row_plans_kept_from_the_last_build_draw_the_same_graph() -> None:
    """productpage -> details (10/s + 1/s 503), productpage -> reviews-v2 (5/s),
    reviews-v2 -> ratings (3/s + 0.5/s 404); both reporters; service nodes on"""
    PLANS.tables.clear()
    cold = to_config(build(bookinfo_series(), inject=True))
    warm = to_config(build(bookinfo_series(), inject=True))
    assert warm == cold
    edge_rates = [e["data"]["traffic"]["rates"]["http"] for e in cold["elements"]["edges"]]
    assert sorted(edge_rates) == ["11.00", "11.00", "3.50", "3.50", "5.00", "5.00"]


def test_row_plans_dropped_between_two_queries_still_count_each_series_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The same mesh, with the plan cache dropped before every query's rows: the outbound
    copies of the series the inbound query counted are still recognised."""
    expected = to_config(build(bookinfo_series(), inject=True))
    monkeypatch.setattr(PLANS, "limit", 0)
    assert to_config(build(bookinfo_series(), inject=True)) == expected


def test_it_drops_a_row_whose_key_cannot_be_read_back() -> None:
    """productpage -> details (2/s), and a row with one label too many (a label value
    holding the key separator): the edge is drawn from the good row alone"""
    series = request_edge(PRODUCTPAGE, DETAILS, {"200": 2.0}, reporters=("destination",))
    options = GraphOptions(namespaces=("bookinfo",), query_time=1000,
                           inject_service_nodes=False)
    queries = plan(options, MeshConfig(), with_appenders=False)
    answers = traffic_answers(queries.traffic, series)
    inbound = next(i for i, q in enumerate(queries.traffic) if q.kind == istio.INBOUND)
    good_key, _ = answers[inbound][0]
    answers[inbound].append((good_key.replace("details-v1", f"details{KEY_SEPARATOR}v1"), 5.0))
    g = assemble(Assembly(queries, options, MeshConfig(), None), enumerate(answers))
    assert g.edges[wl(PRODUCTPAGE), wl(DETAILS), "http"]["md"]["http"] == 2.0
    assert len(g.edges) == 1


def test_it_reads_a_row_by_label_name() -> None:
    """A key read back as a record of the query's labels"""
    key = row_key(*(f"value-{name}" for name in istio.REQUEST_LABELS))
    record = read(RequestLabels, key)
    assert record is not None
    assert record.destination_workload == "value-destination_workload"
    assert record.response_flags == "value-response_flags"
    assert read(RequestLabels, row_key("too", "few")) is None
