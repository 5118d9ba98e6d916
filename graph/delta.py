"""What changed between two sets of Cytoscape elements, by id.

    >>> old = {"nodes": [{"data": {"id": "a"}}], "edges": []}
    >>> new = {"nodes": [{"data": {"id": "a", "x": 1}}, {"data": {"id": "b"}}], "edges": []}
    >>> d = diff_elements(old, new)
    >>> [e["data"]["id"] for e in d.added], d.removed, [e["data"]["id"] for e in d.changed]
    (['b'], [], ['a'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Elements = dict[str, list[dict[str, Any]]]


@dataclass
class Delta:
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)

    def size(self) -> int:
        return len(self.added) + len(self.removed) + len(self.changed)


def by_id(elements: Elements) -> dict[str, tuple[str, dict[str, Any]]]:
    return {e["data"]["id"]: (group, e["data"])
            for group in ("nodes", "edges") for e in elements.get(group, [])}


def positions(elements: Elements) -> dict[str, Any]:
    """Node positions of a big graph (graph/layout.py); a node keeps its position, so only
    added nodes carry one."""
    return {n["data"]["id"]: n["position"] for n in elements.get("nodes", []) if "position" in n}


def diff_elements(old: Elements, new: Elements) -> Delta:
    before, after = by_id(old), by_id(new)
    placed = positions(new)
    delta = Delta()
    for element_id, (group, data) in after.items():
        if element_id not in before:
            element = {"group": group, "data": data}
            if element_id in placed:
                element["position"] = placed[element_id]
            delta.added.append(element)
        elif before[element_id][1] != data:
            delta.changed.append({"group": group, "data": data})
    # Edges go before nodes, so that a client never holds an edge to a removed node.
    delta.removed = sorted((i for i in before if i not in after),
                           key=lambda i: before[i][0] != "edges")
    return delta
