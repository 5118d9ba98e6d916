"""Positions for big graphs: a layered layout, left to right, that keeps a node where it
was for as long as the node exists.

The browser lays small graphs out itself (dagre), but dagre on thousands of nodes freezes
the page, so above `MIN_NODES` nodes the server gives every node a position. The layout:

- columns (layers) follow the edges: the graph of *units* (a node, or an app box whose
  versions stay together) is condensed into its strongly connected components; the
  components take layers in topological order, by longest path from the sources, and the
  units of a component of several take the layers of a breadth-first walk from where
  traffic enters it (a random mesh is mostly one big cycle: it still gets columns);
- rows are bands, one per namespace (and cluster), stacked top to bottom, so that a
  namespace is one horizontal strip: its box never overlaps another (the page arranges
  folded namespaces itself: static/js/collapse.js);
- within a band and a layer, units are ordered by the barycentre of what calls them
  (fewer crossings), then by name; a column too tall for the picture wraps into several
  sub-columns, as many as keep the whole graph about as wide as a screen is.

Positions lie on a grid. Given the previous positions (the last graph of the same
scope), every node that still exists keeps its cell, and a new node takes the free cell
nearest to its neighbours, inside its own namespace's band: nothing on screen moves.

A fresh layout depends only on the drawn nodes (their ids, bands, boxes and names) and the
edges between them, in order: the last few are kept by a digest of those (`LAYOUTS`), so
that the API, which lays out every big graph it answers afresh, pays once per shape of the
mesh rather than once per request (about 300 ms at 10,000 workloads).
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx

from graph import memory
from graph.layout_model import BAND_GAP, Cell, Leaf, Model, Positions, read_elements
from graph.layout_new_nodes import place_new

__all__ = ["BAND_GAP", "Cell", "Leaf", "Model", "Positions", "read_elements", "place_new"]

MIN_NODES = 300  # below this, the browser lays the graph out itself
CELL_X = 120.0  # px between sub-columns; a layer ends with one empty column
CELL_Y = 70.0  # px between rows (a 34 px node and its label)
ASPECT = 1.6  # the width : height the wrapping of tall columns aims at
MAX_WRAP = 64
LAYOUTS_KEPT = 4  # fresh layouts kept, by digest of what they laid out

def positions(elements: Mapping[str, Any],
              previous: Mapping[str, Mapping[str, float]] | None = None) -> Positions:
    """{node id: {"x", "y"}} for every node that is not a box (Cytoscape places boxes
    around their members). Nodes in `previous` keep their position there.

    >>> els = {"nodes": [{"data": {"id": "a"}}, {"data": {"id": "b"}}],
    ...        "edges": [{"data": {"source": "a", "target": "b"}}]}
    >>> positions(els)
    {'a': {'x': 0.0, 'y': 0.0}, 'b': {'x': 240.0, 'y': 0.0}}
    """
    return place(read_elements(elements), previous)


def place(model: Model, previous: Mapping[str, Mapping[str, float]] | None = None,
          ) -> Positions:
    """positions() of a model however it was read (graph/cytoscape_json.py reads its own)."""
    kept = {i: to_cell(p) for i, p in (previous or {}).items() if i in model.leaves}
    cells = place_new(model, kept) if kept else kept_fresh_layout(model)
    return {i: {"x": c * CELL_X, "y": r * CELL_Y} for i, (c, r) in cells.items()}


def kept_positions(leaves: Iterable[str], previous: Mapping[str, Mapping[str, float]] | None,
                   ) -> Positions | None:
    """place()'s answer when every leaf was placed before, without the model: each keeps
    its cell (a live scope whose nodes stay, tick after tick). None when a leaf is new."""
    if not previous:
        return None
    out: Positions = {}
    for i in leaves:
        p = previous.get(i)
        if p is None:
            return None
        out[i] = {"x": round(p["x"] / CELL_X) * CELL_X, "y": round(p["y"] / CELL_Y) * CELL_Y}
    return out


def add_positions(elements: dict[str, Any],
                  previous: Mapping[str, Mapping[str, float]] | None = None) -> None:
    """Give every drawn node of a graph of `MIN_NODES` nodes or more a `position` member
    beside its `data` (Cytoscape's element JSON), keeping the `previous` positions (those of
    the scope's last graph, `positions_of`). Smaller graphs are left as they are."""
    nodes = elements.get("nodes", [])
    if len(nodes) < MIN_NODES:
        return
    placed = positions(elements, previous)
    for n in nodes:
        where = placed.get(n["data"]["id"])
        if where is not None:
            n["position"] = where


def positions_of(elements: Mapping[str, Any]) -> Positions:
    """The positions a graph's nodes carry, by id (none below `MIN_NODES` nodes)."""
    return {n["data"]["id"]: n["position"] for n in elements.get("nodes", []) if "position" in n}


def to_cell(p: Mapping[str, float]) -> Cell:
    return round(p["x"] / CELL_X), round(p["y"] / CELL_Y)


LAYOUTS: OrderedDict[bytes, dict[str, Cell]] = OrderedDict()
# Handed back from builds in a child process (graph/forked.py).
memory.keep_dicts("page layouts", LAYOUTS)


def digest(model: Model) -> bytes:
    """What a fresh layout of `model` depends on, hashed: the leaves with their bands, units
    and sort keys, and the edges, in order."""
    text = "\n".join(f"{leaf.id}\t{leaf.band}\t{leaf.unit}\t{leaf.key}"
                     for leaf in model.leaves.values())
    text += "\n\n" + "\n".join(f"{s}\t{t}" for s, t in model.edges)
    return hashlib.blake2b(text.encode(), digest_size=20).digest()


def kept_fresh_layout(model: Model) -> dict[str, Cell]:
    """fresh_layout(model), from LAYOUTS when the same model was laid out lately."""
    key = digest(model)
    cells = LAYOUTS.get(key)
    if cells is None:
        cells = fresh_layout(model)
        LAYOUTS[key] = cells
        while len(LAYOUTS) > LAYOUTS_KEPT:
            LAYOUTS.popitem(last=False)
    else:
        LAYOUTS.move_to_end(key)
    return cells


# --- layers ----------------------------------------------------------------------------------


def unit_graph(model: Model) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(model.units)
    unit = {i: leaf.unit for i, leaf in model.leaves.items()}
    g.add_edges_from((unit[s], unit[t]) for s, t in model.edges if unit[s] != unit[t])
    return g


def layers(g: nx.DiGraph, unit_keys: Mapping[str, str]) -> dict[str, int]:
    """The layer (column) of every unit: edges point right wherever a cycle allows.

    The condensation of `g` (its strongly connected components, and the edges between
    them), walked in topological order; built here rather than by nx.condensation, which
    copies the whole graph once more.
    """
    members: dict[str, int] = {}
    by_component: list[list[str]] = []
    for comp, units in enumerate(nx.strongly_connected_components(g)):
        by_component.append(list(units))
        for unit in units:
            members[unit] = comp
    preds: list[set[int]] = [set() for _ in by_component]
    for u, v in g.edges:
        if members[u] != members[v]:
            preds[members[v]].add(members[u])
    waiting = [len(p) for p in preds]
    succs: list[list[int]] = [[] for _ in by_component]
    for comp, ps in enumerate(preds):
        for p in ps:
            succs[p].append(comp)
    ready = [comp for comp, n in enumerate(waiting) if n == 0]
    end: dict[int, int] = {}  # component -> the first layer free after it
    layer: dict[str, int] = {}
    while ready:
        comp = ready.pop()
        start = max((end[p] for p in preds[comp]), default=0)
        inside = walk_component(g, by_component[comp], members, comp, unit_keys)
        for unit, depth in inside.items():
            layer[unit] = start + depth
        end[comp] = start + max(inside.values()) + 1
        for nxt in succs[comp]:
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                ready.append(nxt)
    return layer


def walk_component(g: nx.DiGraph, units: list[str], members: Mapping[str, int], comp: int,
                   unit_keys: Mapping[str, str]) -> dict[str, int]:
    """Depth of each unit of one strongly connected component in a breadth-first walk
    from the units that traffic enters by (or the first by name when none). A depth is a
    shortest distance, so the order of the walk does not change it."""
    if len(units) == 1:
        return {units[0]: 0}
    entries = [u for u in units if any(members[p] != comp for p in g.predecessors(u))]
    if not entries:
        entries = [min(units, key=unit_keys.__getitem__)]
    depth = dict.fromkeys(entries, 0)
    frontier = entries
    while frontier:
        following = []
        for u in frontier:
            for v in g.successors(u):
                if v not in depth and members[v] == comp:
                    depth[v] = depth[u] + 1
                    following.append(v)
        frontier = following
    return depth


# --- the fresh layout ------------------------------------------------------------------------


def fresh_layout(model: Model) -> dict[str, Cell]:
    if not model.leaves:
        return {}
    g = unit_graph(model)
    unit_keys = {u: model.leaves[ids[0]].key for u, ids in model.units.items()}
    layer = layers(g, unit_keys)
    band_of = {u: model.leaves[ids[0]].band for u, ids in model.units.items()}
    size = {u: len(ids) for u, ids in model.units.items()}
    # Rows a unit needs in a column: its members, and a gap above a box of several.
    need = {u: n + (1 if n > 1 else 0) for u, n in size.items()}
    blocks: dict[tuple[str, int], list[str]] = defaultdict(list)
    for u in model.units:
        blocks[band_of[u], layer[u]].append(u)
    bands = sorted({b for b, _ in blocks})
    n_layers = max(layer.values()) + 1
    load = {block: sum(need[u] for u in us) for block, us in blocks.items()}  # rows wanted
    tallest: dict[str, int] = defaultdict(int)
    for (b, _), rows_wanted in load.items():
        tallest[b] = max(tallest[b], rows_wanted)
    rows = choose_rows(load, bands, tallest, n_layers)
    band_start, row = {}, 0
    for b in bands:
        band_start[b] = row
        row += rows[b] + BAND_GAP + 1
    cells: dict[str, Cell] = {}
    y_of: dict[str, float] = {}  # unit -> mean row, for the barycentres of the next layers
    col = 0
    for lay in range(n_layers):
        last = col
        for band in bands:
            units = blocks.get((band, lay), [])
            order = sorted(units, key=lambda u: (barycentre(g, u, y_of), unit_keys[u]))
            last = max(last, fill(order, model, need, rows[band], col, band_start[band],
                                  cells, y_of))
        col = last + 2  # an empty column between layers
    return cells


def choose_rows(load: Mapping[tuple[str, int], int], bands: list[str],
                tallest: Mapping[str, int], n_layers: int) -> dict[str, int]:
    """Rows per band: its tallest column cut in k pieces, the k that makes the picture's
    width : height nearest `ASPECT`."""
    best: tuple[float, dict[str, int]] | None = None
    for k in range(1, MAX_WRAP + 1):
        rows = {b: max(1, math.ceil(tallest[b] / k)) for b in bands}
        width = sum(max(max(1, math.ceil(load.get((b, lay), 0) / rows[b])) for b in bands) + 1
                    for lay in range(n_layers))
        heights = sum(rows[b] + BAND_GAP for b in bands)
        miss = abs(math.log(width * CELL_X / (heights * CELL_Y) / ASPECT))
        if best is None or miss < best[0]:
            best = (miss, rows)
        if all(r == 1 for r in rows.values()):
            break
    assert best is not None
    return best[1]


def barycentre(g: nx.DiGraph, unit: str, y_of: Mapping[str, float]) -> float:
    ys = [y_of[p] for p in g.predecessors(unit) if p in y_of]
    return sum(ys) / len(ys) if ys else math.inf


def fill(order: Iterable[str], model: Model, need: Mapping[str, int], rows: int, col0: int,
         row0: int, cells: dict[str, Cell], y_of: dict[str, float]) -> int:
    """Units down one sub-column after another; a box's members stay in one column.
    Returns the last column used."""
    col, row = col0, 0
    for u in order:
        members = model.units[u]
        if row and row + need[u] > rows and need[u] <= rows:
            col, row = col + 1, 0
        if len(members) > 1 and row:
            row += 1
        for leaf_id in members:
            if row >= rows:  # a box taller than the band: wrap inside it
                col, row = col + 1, 0
            cells[leaf_id] = (col, row0 + row)
            row += 1
        y_of[u] = row0 + row - (len(members) + 1) / 2
    return col


# --- new nodes among kept ones ---------------------------------------------------------------
