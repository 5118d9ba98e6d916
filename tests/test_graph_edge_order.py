"""The edges' sorted order, kept across builds while the edge set stays the same."""

from __future__ import annotations

from typing import Any

from graph.cytoscape import EdgeOrder, to_config
from tests.mesh import DETAILS, PRODUCTPAGE, RATINGS, REVIEWS_V2, request_edge, tcp_edge
from tests.test_graph_traffic import build


def edge(source: str, target: str, protocol: str) -> dict[str, Any]:
    return {"id": f"{source}.{target}.{protocol}", "source": source, "target": target,
            "traffic": {"protocol": protocol}}


def kiali_order(edges: list[dict[str, Any]]) -> list[int]:
    return sorted(range(len(edges)), key=lambda i: (
        edges[i]["source"], edges[i]["target"], edges[i]["traffic"]["protocol"]))


def test_it_sorts_by_source_target_and_protocol() -> None:
    """c -> a (http), a -> b (tcp), a -> b (http), b -> a (grpc)"""
    edges = [edge("c", "a", "http"), edge("a", "b", "tcp"), edge("a", "b", "http"),
             edge("b", "a", "grpc")]
    assert list(EdgeOrder()(edges)) == [2, 1, 3, 0]


def test_it_sorts_again_when_the_edge_set_changes() -> None:
    """a -> b, b -> c; then b -> a added in the middle, then a -> b removed, then the
    first set again, in another order: each order is the sorted one."""
    order = EdgeOrder(size=2)
    first = [edge("b", "c", "http"), edge("a", "b", "http")]
    sets = [first, first, [first[0], edge("b", "a", "http"), first[1]], [first[0]],
            [first[1], first[0]], first]
    for edges in sets:
        assert list(order(edges)) == kiali_order(edges)
    assert len(order.orders) == 2  # the oldest set was let go


def test_it_writes_the_same_elements_on_a_second_build() -> None:
    """productpage -> details, productpage -> reviews-v2 (http and tcp), reviews-v2 ->
    ratings: built twice (the second reuses the order), then with productpage -> ratings
    added (sorted afresh), the edges are sorted as Kiali sorts them."""
    series = (request_edge(PRODUCTPAGE, DETAILS, {"200": 1.0})
              + request_edge(PRODUCTPAGE, REVIEWS_V2, {"200": 2.0})
              + tcp_edge(PRODUCTPAGE, REVIEWS_V2, 10.0, 1.0)
              + request_edge(REVIEWS_V2, RATINGS, {"200": 1.0, "503": 1.0}))
    first, second = to_config(build(series)), to_config(build(series))
    assert first == second
    grown = to_config(build(series + request_edge(PRODUCTPAGE, RATINGS, {"200": 0.5})))
    for config, count in ((first, 4), (grown, 5)):
        edges = [e["data"] for e in config["elements"]["edges"]]
        assert len(edges) == count
        assert kiali_order(edges) == list(range(count))
