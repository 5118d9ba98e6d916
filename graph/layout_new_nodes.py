"""New nodes in a kept layout (graph/layout.py): every node that was placed keeps its cell, and
each new one takes the free cell nearest to its placed neighbours, inside its namespace's band,
so that nothing on screen moves."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from graph.layout_model import BAND_GAP, Cell, Model

SEARCH_RADIUS = 400  # cells searched around a new node's ideal spot


def place_new(model: Model, kept: Mapping[str, Cell]) -> dict[str, Cell]:
    """Kept nodes where they were; each new one in the free cell nearest to its placed
    neighbours (or its app box's other members), inside its namespace's band."""
    cells = dict(kept)
    taken = set(kept.values())
    band_rows: dict[str, list[int]] = defaultdict(list)
    for i, (_, r) in kept.items():
        band_rows[model.leaves[i].band].append(r)
    spans = {b: (min(rs), max(rs)) for b, rs in band_rows.items()}
    pending = sorted((i for i in model.leaves if i not in cells), key=lambda i: model.leaves[i].key)
    new = set(pending)
    neighbours: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for s, t in model.edges:
        if t in new:
            neighbours[t].append((s, 2))  # a caller: one layer (two columns) to the left
        if s in new:
            neighbours[s].append((t, -2))
    while pending:
        left = []
        for i in pending:
            ideal = ideal_cell(model, i, cells, neighbours)
            if ideal is None:
                left.append(i)
                continue
            put(model, i, ideal, cells, taken, spans)
        if len(left) == len(pending):  # connected to nothing placed: below its band
            i = left.pop(0)
            put(model, i, below(model.leaves[i].band, spans, cells), cells, taken, spans)
        pending = left
    return cells


def ideal_cell(model: Model, node: str, cells: Mapping[str, Cell],
               neighbours: Mapping[str, list[tuple[str, int]]]) -> Cell | None:
    siblings = [cells[s] for s in model.units[model.leaves[node].unit] if s in cells]
    if siblings:
        return siblings[0]
    spots = [(cells[n][0] + dx, cells[n][1]) for n, dx in neighbours.get(node, []) if n in cells]
    if not spots:
        return None
    return (round(sum(c for c, _ in spots) / len(spots)),
            round(sum(r for _, r in spots) / len(spots)))


def below(band: str, spans: Mapping[str, tuple[int, int]], cells: Mapping[str, Cell]) -> Cell:
    if band in spans:
        return (0, spans[band][1] + 1)
    return (0, max((r for _, r in cells.values()), default=-BAND_GAP - 1) + BAND_GAP + 1)


def put(model: Model, node: str, ideal: Cell, cells: dict[str, Cell], taken: set[Cell],
        spans: dict[str, tuple[int, int]]) -> None:
    band = model.leaves[node].band
    others = [span for b, span in spans.items() if b != band]
    if band in spans:  # stay in the band: the search need not cross other bands
        ideal = (ideal[0], min(max(ideal[1], spans[band][0]), spans[band][1]))
    else:  # a new namespace: a band of its own below everything
        ideal = below(band, spans, cells)
    cell = nearest_free(ideal, taken, others)
    cells[node] = cell
    taken.add(cell)
    low, high = spans.get(band, (cell[1], cell[1]))
    spans[band] = (min(low, cell[1]), max(high, cell[1]))


def nearest_free(ideal: Cell, taken: set[Cell], others: list[tuple[int, int]]) -> Cell:
    """The free cell nearest to `ideal` (rings of growing radius, in a fixed order) whose
    row is outside the other bands' rows (and the gap around them)."""

    def free(c: int, r: int) -> bool:
        return (c, r) not in taken and c >= 0 and not any(
            low - BAND_GAP <= r <= high + BAND_GAP for low, high in others)

    c0, r0 = ideal
    for radius in range(SEARCH_RADIUS):
        for dr in sorted(range(-radius, radius + 1), key=abs):
            for dc in ((radius, -radius) if abs(dr) != radius else
                       sorted(range(-radius, radius + 1), key=abs)):
                if free(c0 + dc, r0 + dr):
                    return (c0 + dc, r0 + dr)
    bottom = max([r for _, r in taken] + [high for _, high in others] + [r0])
    return (c0, bottom + BAND_GAP + 1)
