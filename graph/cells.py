"""The numeric core of a build: traffic counted in numbered cells, namespace maps merged on
numbers.

A dialect routes a build's rows into namespace maps (graph/sources/*/traffic.py). What
those maps hold, values aside, depends only on the rows' keys: which node and edge copies
each namespace map places, in which order, which rows count (the duplicate series both
reporters send count once), and what Kiali's merge of the maps keeps. That is worked out
once per set of keys (a Layout) and reused while the keys stay the same: a live mesh
sends the same keys tick after tick.

Per build, the values then go through one `np.bincount`: each contribution of a row (the
source's outbound rate, the destination's inbound rates, the edge's rates and responses)
is a (row, cell) pair, and a cell is one value of one md dict of one copy that the merge
keeps. `np.bincount` adds in array order, and the pairs are in row order, so every sum is
the same float the row-by-row Python adds gave (Kiali's string rounding needs that). The
md dicts and the merged traffic map are filled from the sums; copies the merge drops are
never counted.

    copies: every node and edge copy of every namespace map, numbered (placement order)
    Layout: the merge's result (nodes, edges, the merge's outbound additions) on numbers,
            and (row, cell) pairs for the copies it keeps
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any, NamedTuple

import networkx as nx
import numpy as np

from graph import packed_layout, traffic
from graph.cell_slots import CODE, FLAG, HOST, RATE, REGISTRY
from graph.cell_slots import OWN as OWN  # re-exported: row plans name them as cells'
from graph.cell_slots import Registry as Registry
from graph.cell_slots import Slot as Slot
from graph.cell_slots import Term as Term
from graph.counted_responses import Pending, fill

WIDTH = 5  # copies a row names at most: caller, service, destination, and two edges
COUNTED = "counted"  # a graph's attribute holding what its Layout counted (CountedMap)


def first_of(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positions where each distinct key is first seen, in order; and for every
    position, the number (0..) of its key among those."""
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order], rank[inverse]


class Skeleton:
    """One namespace's traffic map without values: node and edge copies by number."""

    __slots__ = ("namespace", "nodes", "out")

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.nodes: dict[str, int] = {}
        self.out: dict[str, dict[tuple[str, str], int]] = {}


class Copies:
    """Every node and edge copy of one set of namespace maps, numbered in placement order,
    with what each copy's md holds before any value (isEgressCluster, isInjected,
    destServices), and each node's identity fields."""

    def __init__(self) -> None:
        self.initial: list[dict[str, Any]] = []
        self.fields: list[dict[str, Any] | None] = []  # a node copy's fields; None: an edge

    def node(self, sk: Skeleton, node_id: str, fields: dict[str, Any], egress: bool) -> int:
        number = sk.nodes.get(node_id)
        if number is None:
            number = sk.nodes[node_id] = len(self.initial)
            self.initial.append({"isEgressCluster": True} if egress else {})
            self.fields.append(fields)
            sk.out[node_id] = {}
        return number

    def edge(self, sk: Skeleton, source: str, target: str, protocol: str) -> int:
        edges = sk.out[source]
        number = edges.get((target, protocol))
        if number is None:
            number = edges[(target, protocol)] = len(self.initial)
            self.initial.append({})
            self.fields.append(None)
        return number


# The merge on numbers: nodes (id, md copy) in the merged map's order; per node its edges
# ((target, protocol), edge copy, source copy); the merge's outbound additions (node copy,
# edge copy) in the order merge_into makes them.
MergedNodes = list[tuple[str, int]]
MergedEdges = list[list[tuple[tuple[str, str], int, int]]]


def merge(skeletons: Sequence[Skeleton], fields: Sequence[dict[str, Any] | None],
          ) -> tuple[MergedNodes, MergedEdges, list[tuple[int, int]]]:
    """graph/build.py's merge_into, map after map, on copy numbers: a node found in several
    maps keeps the copy of its own namespace (else the first), and gains the other copies'
    edges it lacks, each added to its outbound rates."""
    kept: dict[str, int] = {}
    out: dict[str, dict[tuple[str, str], tuple[int, int]]] = {}
    added: list[tuple[int, int]] = []
    for sk in skeletons:
        for node_id, copy in sk.nodes.items():
            ns_edges = {key: (edge, copy) for key, edge in sk.out[node_id].items()}
            if node_id not in kept:
                kept[node_id], out[node_id] = copy, ns_edges
                continue
            if fields[copy]["namespace"] == sk.namespace:  # type: ignore[index]
                extra = out[node_id]
                kept[node_id], out[node_id] = copy, ns_edges
            else:
                extra = ns_edges
            kept_copy, edges = kept[node_id], out[node_id]
            for key, pair in extra.items():
                if key not in edges:
                    edges[key] = pair
                    added.append((kept_copy, pair[0]))
    nodes = list(kept.items())
    return nodes, [[(key, e, s) for key, (e, s) in out[n].items()] for n, _ in nodes], added


def runs(values: np.ndarray) -> list[tuple[int, int, int]]:
    """(value, start, end) of each run of equal values."""
    if not len(values):
        return []
    starts = np.flatnonzero(np.diff(values)) + 1
    ends = np.append(starts, len(values))
    starts = np.insert(starts, 0, 0)
    return list(zip(values[starts].tolist(), starts.tolist(), ends.tolist(), strict=True))


class Counted(NamedTuple):
    """What a Layout counted in one build: the flag sums in the order they went into the
    mds, and the mds by number (graph/health_arrays.py judges health on them); every
    cell's sum (graph/traffic_columns.py writes the edges' rates from them); and the
    responses left out of the mds, if any (graph/counted_responses.py)."""

    layout: Layout
    flag_sums: np.ndarray
    mds: list[dict[str, Any]]
    sums: np.ndarray
    pending: Pending | None = None


def make_responses(counted: Counted | None) -> None:
    """Put into the mds the responses a counted map left out (nothing if none were): for
    a reader of the dicts without a column path."""
    if counted is not None and counted.pending is not None:
        counted.pending.make()


def whole(g: nx.MultiDiGraph | traffic.TrafficMap) -> None:
    """make_responses for a graph, or a traffic map, that a Layout counted."""
    if isinstance(g, CountedMap):
        make_responses(g.counted)
    elif isinstance(g, nx.Graph):
        make_responses(g.graph.get(COUNTED))


class CountedMap(traffic.TrafficMap):
    """A merged traffic map as a Layout counted it."""

    __slots__ = ("counted",)

    def __init__(self, counted: Counted) -> None:
        super().__init__()
        self.counted = counted

    def to_networkx(self) -> nx.MultiDiGraph:
        """The graph, holding what the layout counted: the JSON writes the edges' rates
        from its sums (graph/traffic_columns.py)."""
        g = super().to_networkx()
        g.graph[COUNTED] = self.counted
        return g


class Layout:
    """What one set of row keys makes, values aside: the merged map on numbers, and the
    (row, cell) pairs that count the values into the md copies it keeps.

    Made of one (row, template, own slot, copies) per row that counts in a namespace map,
    in row order (`rows`, `templates`, `own`, `named`): the row's index in the build's
    values, its contributions (a Registry template), the slot its OWN terms count in, and
    the copies it names (WIDTH numbers, -1 padded)."""

    def __init__(self, copies: Copies, skeletons: Sequence[Skeleton], rows: np.ndarray,
                 templates: np.ndarray, own: np.ndarray, named: np.ndarray) -> None:
        nodes, edges, added = merge(skeletons, copies.fields)
        # Only the copies the merged map refers to get an md: renumbered 0.. in that order.
        used = np.fromiter(chain(
            (c for _, c in nodes),
            (c for node_edges in edges for _, e, s in node_edges for c in (e, s)),
            (c for pair in added for c in pair)), np.int64)
        kept = used[first_of(used)[0]]
        renumbered = np.full(len(copies.initial) + 1, -1, np.int64)
        renumbered[kept] = np.arange(len(kept))
        renumber = renumbered.tolist()
        self.initial = [copies.initial[c] or None for c in kept.tolist()]
        self.nodes = [(node_id, copies.fields[c], renumber[c]) for node_id, c in nodes]
        self.edges = [[(key, renumber[e], renumber[s]) for key, e, s in node_edges]
                      for node_edges in edges]
        self.added = [(renumber[c], renumber[e]) for c, e in added]
        self.count(renumbered, rows, templates, own, named)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (handed back from a build apart, graph/forked.py) with its Python parts
        packed (graph/packed_layout.py): the process that keeps it between builds holds a
        few arrays and shared values, not 900,000 objects (at 10,000 workloads)."""
        state = self.__dict__
        found = state.get("packed")
        if found is None:
            found = state["packed"] = packed_layout.pack(self)
        return {**{k: v for k, v in state.items() if k not in packed_layout.LISTS},
                "packed": found}

    def __getattr__(self, name: str) -> Any:
        """A packed layout's Python parts, unpacked when first read."""
        packed = self.__dict__.get("packed")
        if packed is None or name not in packed_layout.LISTS:
            raise AttributeError(name)
        self.__dict__.update(packed_layout.unpack(packed))
        return self.__dict__[name]

    def count(self, renumber: np.ndarray, rows: np.ndarray, templates: np.ndarray,
              own: np.ndarray, named: np.ndarray) -> None:
        """The (row, cell) pairs, and how each md is made of the cells' sums."""
        roles, slots, starts, lengths, parents, kinds = REGISTRY.arrays()
        # One entry per (row, term): at 10,000 workloads 2.5 million, so each array is
        # dropped as soon as it is used (a build's peak memory), and kept small.
        which = np.asarray(templates, np.int64)
        counts = lengths[which]
        occurrence = np.repeat(np.arange(len(which), dtype=np.int32), counts)
        ends = np.cumsum(counts)
        term = np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.int32)
        term -= np.repeat((ends - counts - starts[which]).astype(np.int32), counts)
        md = renumber[np.asarray(named, np.int64).reshape(-1, WIDTH)[occurrence, roles[term]]]
        keep = np.flatnonzero(md >= 0)
        slot = slots[term]
        del term
        mine = np.flatnonzero(slot < 0)
        slot[mine] = np.asarray(own, np.int64)[occurrence[mine]]
        del mine
        n_slots = len(parents)
        raw = md[keep]
        del md
        raw *= n_slots
        raw += slot[keep]
        del slot
        self.rows = np.asarray(rows, np.int32)[occurrence[keep]]
        del occurrence, keep
        unique, first, cells = np.unique(raw, return_index=True, return_inverse=True)
        del raw
        self.cells = cells.astype(np.int32)
        del cells
        self.n_cells = len(unique)
        cell_md, cell_slot = unique // n_slots, unique % n_slots
        cell_kind = kinds[cell_slot]
        # A flag or host is ordered after its code (the detail it goes in), the code by
        # when rows first reach it; an md's rates by when rows first reach them.
        parent = np.searchsorted(unique, cell_md * n_slots + parents[cell_slot])
        order = np.lexsort((first, first[parent], cell_md))
        self.fill = {kind: order[cell_kind[order] == kind].astype(np.int32)
                     for kind in (RATE, FLAG, HOST)}
        self.shape(cell_md, cell_slot, cell_kind, order, parent)

    def shape(self, cell_md: np.ndarray, cell_slot: np.ndarray, cell_kind: np.ndarray,
              order: np.ndarray, parent: np.ndarray) -> None:
        """Per md: its rate keys, and its responses (responses key, code, flag names, host
        names), as tuples shared between mds of the same shape."""
        slot_list = REGISTRY.slot_list
        shared: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self.rate_keys: list[tuple[str, ...]] = [()] * len(self.initial)
        rate = self.fill[RATE]
        name = REGISTRY.names.__getitem__
        keys = list(map(name, cell_slot[rate].tolist()))
        for md, a, b in runs(cell_md[rate]):
            found = tuple(keys[a:b])
            self.rate_keys[md] = shared.setdefault(found, found)
        names: list[dict[int, tuple[str, ...]]] = []
        for kind in (FLAG, HOST):
            cells = self.fill[kind]
            of_kind = list(map(name, cell_slot[cells].tolist()))
            names.append({detail: tuple(of_kind[a:b]) for detail, a, b in runs(parent[cells])})
        code = order[cell_kind[order] == CODE]
        flags, hosts = names[0].get, names[1].get
        details = [(*slot_list[slot][1:3], flags(cell, ()), hosts(cell, ()))
                   for cell, slot in zip(code.tolist(), cell_slot[code].tolist(), strict=True)]
        self.responses: list[tuple[Any, ...] | None] = [None] * len(self.initial)
        for md, a, b in runs(cell_md[code]):
            found = tuple(details[a:b])
            self.responses[md] = shared.setdefault(found, found)

    def traffic_map(self, values: np.ndarray) -> traffic.TrafficMap:
        """The merged traffic map of one build's values (the rows' values, in the order the
        rows were given when the layout was made).

        The layout's first map is made whole; later ones leave the responses out of the
        mds (counted_responses.Pending: made when a reader of the dicts needs them), since
        from the second map on health and the JSON read them from the sums."""
        sums = np.bincount(self.cells, weights=values[self.rows], minlength=self.n_cells)
        rate = iter(sums[self.fill[RATE]].tolist()).__next__
        flag_sums = sums[self.fill[FLAG]]
        host_sums = sums[self.fill[HOST]]
        lazy = getattr(self, "counted_before", False)
        self.counted_before = True
        flag = iter(flag_sums.tolist()).__next__
        host = iter(host_sums.tolist()).__next__
        mds = []
        for keys, shape, initial in zip(self.rate_keys, self.responses, self.initial,
                                        strict=True):
            md = {key: rate() for key in keys}
            if initial:
                md.update(initial)
                if "destServices" in initial:
                    md["destServices"] = dict(initial["destServices"])
            if shape is not None and not lazy:
                fill(md, shape, flag, host)
            mds.append(md)
        pending = Pending(mds, self.rate_keys, self.initial, self.responses, flag_sums,
                          host_sums) if lazy else None
        tm = CountedMap(Counted(self, flag_sums, mds, sums, pending))
        for (node_id, fields, i), node_edges in zip(self.nodes, self.edges, strict=True):
            tm.nodes[node_id] = {**fields, "md": mds[i]}
            tm.out[node_id] = {key: {"protocol": key[1], "md": mds[e], "source_md": mds[s]}
                               for key, e, s in node_edges}
        for i, e in self.added:
            traffic.add_outgoing(mds[i], mds[e])
        return tm
