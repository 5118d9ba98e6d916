"""A graph's JSON elements (the API's body, or build_graph's graph through to_config) read
by name, for tests that assert on nodes and edges:

    nodes, edges = elements(body)
    nodes["web"]["nodeType"], edges[("web", "api", "http")]["healthStatus"]
"""

from __future__ import annotations

from typing import Any

Nodes = dict[str, dict[str, Any]]
Edges = dict[tuple[str, ...], dict[str, Any]]


def elements(body: dict[str, Any], name: str = "label",
             protocol: bool = True) -> tuple[Nodes, Edges]:
    """Nodes by `name` (a node's label, or e.g. its workload), edges by (source's name,
    target's name, protocol), or by the two names only when not `protocol`."""
    by_id = {n["data"]["id"]: n["data"] for n in body["elements"]["nodes"]}
    edges: Edges = {}
    for e in body["elements"]["edges"]:
        data = e["data"]
        ends = (by_id[data["source"]][name], by_id[data["target"]][name])
        edges[(*ends, data["traffic"]["protocol"]) if protocol else ends] = data
    return {d[name]: d for d in by_id.values()}, edges
