"""What keeps a big scope's memory down: row edges that share their nodes' specs, the
live JSON written into one buffer, the freed heap given back."""

from __future__ import annotations

import orjson
import pytest

from graph import ids, memory
from graph.delta import encode_graph, fingerprint
from graph.prometheus import KEY_SEPARATOR
from graph.sources.istio.labels import EdgeLabels
from graph.sources.istio.traffic import endpoints, row_edge


def labels(dest_service: str = "reviews.bookinfo.svc.cluster.local",
           dest_workload: str = "reviews-v1") -> EdgeLabels:
    return EdgeLabels("east", "bookinfo", "productpage-v1", "productpage", "v1",
                      "east", "bookinfo", dest_service, dest_service.split(".")[0],
                      "bookinfo", dest_workload, "reviews", "v1")


@pytest.mark.parametrize("graph_type", ids.GRAPH_TYPES)
@pytest.mark.parametrize("inject", [True, False])
def test_it_reads_a_row_edges_nodes_from_its_shared_specs(graph_type: str,
                                                           inject: bool) -> None:
    """productpage-v1 -> [reviews service ->] reviews-v1: the nodes, labels and key are
    those the edge's labels give, and the specs are shared with other edges of a node."""
    edge = row_edge(labels(), graph_type, inject)
    assert edge is not None
    ends = endpoints(labels())
    assert ends is not None
    assert edge.ends == ends
    assert edge.source_node == ids.node_id(*ends.source, graph_type)
    assert edge.dest_node == ids.node_id(*ends.dest, graph_type)
    injected = inject and edge.dest_node.node_type != ids.NODE_SERVICE
    assert edge.service_node == (ids.node_id(*ends.service(), graph_type) if injected
                                 else None)
    assert edge.service_id == (edge.service_node.id if edge.service_node else None)
    assert edge.key == KEY_SEPARATOR.join((*ends.source, *ends.dest))
    other = row_edge(labels(dest_service="ratings.bookinfo.svc.cluster.local",
                            dest_workload="ratings-v1"), graph_type, inject)
    assert other is not None and other.path[0] is edge.path[0]


def test_it_encodes_the_graph_as_orjson_writes_it() -> None:
    """Head fields, both groups (one empty) and an extra group, in their order."""
    graph = {"timestamp": 3, "duration": 60, "elements": {
        "edges": [{"data": {"id": "e1", "rate": 1.5}}, {"data": {"id": "e2"}}],
        "nodes": [], "boxes": [1]}}
    encoded = encode_graph(graph)
    assert encoded.body == orjson.dumps(
        {"timestamp": 3, "duration": 60,
         "elements": {"nodes": [], "edges": graph["elements"]["edges"], "boxes": [1]}})
    assert encoded.fingerprints == {
        e["data"]["id"]: fingerprint(orjson.dumps(e), "edges")
        for e in graph["elements"]["edges"]}
    assert encode_graph({"elements": {}}).body == b'{"elements":{"nodes":[],"edges":[]}}'


def test_it_gives_the_freed_heap_back_on_glibc() -> None:
    assert memory.give_back() is (memory.MALLOC_TRIM is not None)
