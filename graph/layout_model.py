"""What the big-graph layout (graph/layout.py) lays out: the drawn nodes (leaves) with the
namespace band and unit each belongs to, and the edges between them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

BAND_GAP = 2  # empty rows between namespaces: room for a box's padding and name

Cell = tuple[int, int]  # (column, row)
Positions = dict[str, dict[str, float]]


@dataclass
class Leaf:
    """A node that is drawn (not a box), with what places it."""

    id: str
    band: str  # cluster/namespace
    unit: str  # its own id, or its app box
    key: str  # sort key: namespace, label, id


@dataclass
class Model:
    leaves: dict[str, Leaf]
    edges: list[tuple[str, str]]
    units: dict[str, list[str]] = field(default_factory=dict)  # unit -> leaf ids, sorted


def read_elements(elements: Mapping[str, Any]) -> Model:
    """The leaves and edges of Cytoscape elements ({"nodes": [...], "edges": [...]})."""
    nodes = [n["data"] for n in elements.get("nodes", [])]
    app_boxes = {d["id"] for d in nodes if d.get("isBox") == "app"}
    leaves: dict[str, Leaf] = {}
    for d in nodes:
        if d.get("isBox"):
            continue
        band = f"{d.get('cluster', '')}/{d.get('namespace', '')}"
        parent = d.get("parent")
        unit = parent if parent in app_boxes else d["id"]
        key = f"{d.get('namespace', '')}/{d.get('label', '')}/{d['id']}"
        leaves[d["id"]] = Leaf(d["id"], band, unit, key)
    edges = [(e["data"]["source"], e["data"]["target"]) for e in elements.get("edges", [])
             if e["data"]["source"] in leaves and e["data"]["target"] in leaves]
    model = Model(leaves, edges)
    for leaf in sorted(leaves.values(), key=lambda item: item.key):
        model.units.setdefault(leaf.unit, []).append(leaf.id)
    return model
