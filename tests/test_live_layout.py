"""A big live graph through the real refresh path (a real Prometheus and Redis): laid out by
the server, and laid out again around what is already on screen when the mesh grows."""

from __future__ import annotations

import gzip
import time
from typing import Any

import orjson
import pytest

from dashboard import live, publish
from graph.delta import diff_elements
from graph.layout import MIN_NODES, positions_of
from graph.options import graph_options_from_query
from tests import mesh

pytestmark = pytest.mark.django_db(transaction=True)

APPS = 110  # each a service and 2 versions: 330 nodes with the service nodes


def big_mesh(extra: int = 0) -> list[dict[str, Any]]:
    """
    front-v1 -> (app-000) -> app-000-v1, app-000-v2 -> (app-001) -> ... (a chain of apps,
    over 3 namespaces); with `extra`, the first `extra` apps get a version v0 too, which a
    fresh layout would put above v1 and v2, moving them
    """
    front = mesh.Workload("ns0", "front-v1", "front", "v1", service="front")
    series = []
    callers = [front]
    for i in range(APPS):
        app = f"app-{i:03d}"
        versions = [mesh.Workload(f"ns{i % 3}", f"{app}-v{v}", app, f"v{v}", service=app)
                    for v in ((0, 1, 2) if i < extra else (1, 2))]
        for caller in callers:
            for callee in versions:
                series += mesh.request_edge(caller, callee, {"200": 1.0})
        callers = versions[-2:-1]
    return series


def cached_graph(scope: str, cached: live.Cached | None) -> dict[str, Any]:
    assert cached is not None
    body = live.load_body(scope, cached.version)
    assert body is not None
    graph: dict[str, Any] = orjson.loads(gzip.decompress(body))
    return graph


def test_it_keeps_every_node_in_place_when_the_mesh_grows(
        prometheus_with: Any, meshlens_redis: str, settings: Any) -> None:
    """Two refreshes of one scope, the second after two workloads appeared: the nodes of
    the first keep their positions; the new ones get theirs, in the delta too."""
    now = int(time.time()) // 15 * 15
    before, after = prometheus_with(big_mesh(), now), prometheus_with(big_mesh(extra=2), now)
    scope = graph_options_from_query(
        {"namespaces": "ns0,ns1,ns2", "duration": "60s"}).scope_key()
    live.client().flushdb()

    settings.PROMETHEUS_URL = before.url
    first = cached_graph(scope, publish.refresh(scope))
    placed = positions_of(first["elements"])
    assert len(first["elements"]["nodes"]) >= MIN_NODES
    assert len(placed) == len([n for n in first["elements"]["nodes"]
                               if not n["data"].get("isBox")])

    # The next build in another process: it reads the positions back from Redis.
    publish.LAST.clear()
    settings.PROMETHEUS_URL = after.url
    second = cached_graph(scope, publish.refresh(scope))
    moved = positions_of(second["elements"])
    assert {i: moved[i] for i in placed} == placed
    new = set(moved) - set(placed)
    assert len(new) == 2
    spots = {(p["x"], p["y"]) for p in moved.values()}
    assert len(spots) == len(moved), "no two nodes on one spot"

    added = diff_elements(first["elements"], second["elements"]).added
    assert {e["data"]["id"]: e["position"] for e in added if e["group"] == "nodes"} == {
        i: moved[i] for i in new}
