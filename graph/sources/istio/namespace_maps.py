"""Kiali's namespace maps of one build, laid out on numbers and merged.

Rows are routed to the maps of the requested namespaces by their query's kind; in each
map a series counts once (the first reporter's copy). What that makes, values aside, is
a graph/cells.py Layout, worked out from the rows' plans (graph/sources/istio/traffic.py)
and kept while the next build's rows have the same keys.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Hashable, Iterable, Sequence
from itertools import count, repeat
from operator import itemgetter

import numpy as np

from graph import cells, ids, memory, traffic
from graph.options import GraphOptions
from graph.prometheus import Row
from graph.sources.dialect import TrafficQuery
from graph.sources.istio.queries import INBOUND, NODE, OUTBOUND
from graph.sources.istio.traffic import (
    DEST_NAMESPACE,
    DROPPED,
    HOP,
    HOST_SLOT,
    MISSING,
    PLANS,
    SERIES,
    SOURCE_NAMESPACE,
    TEMPLATE,
    Dropped,
    RowEdge,
    RowPlan,
    plan_row,
)


def place(copies: cells.Copies, sk: cells.Skeleton, edge: RowEdge,
          protocol: str) -> tuple[int, ...]:
    """Add the edge's nodes and edges (of this protocol) to a namespace's skeleton, and its
    destination service; return the copies its rows count in: the path's nodes, then its
    edges (-1 padded to cells.WIDTH). (Inlined: a 10,000-workload mesh places 100,000.)"""
    path, nodes, initial = edge.path, sk.nodes, copies.initial
    # Placed in Kiali's order (source, destination, service): the map keeps it.
    numbers = []
    for spec in (path[0], path[-1], path[1]) if len(path) == 3 else path:
        number = nodes.get(spec.id)
        if number is None:
            number = copies.node(sk, spec.id, spec.fields, spec.egress)
        numbers.append(number)
    service = edge.dest_service
    if len(path) == 3:
        source, dest, injected = numbers
        initial[injected]["isInjected"] = True
        if service:
            initial[injected].setdefault("destServices", {})[service] = True
        numbers[1:] = injected, dest
    else:
        dest = numbers[1]
    if service:
        initial[dest].setdefault("destServices", {})[service] = True
    out, fields = sk.out, copies.fields
    for a, b in zip(path, path[1:], strict=False):
        edges, key = out[a.id], (b.id, protocol)
        number = edges.get(key)
        if number is None:
            number = edges[key] = len(initial)
            initial.append({})
            fields.append(None)
        numbers.append(number)
    return (*numbers, *(-1,) * (cells.WIDTH - len(numbers)))


class NamespaceTraffic:
    """Kiali's namespace maps, merged: each query's rows are applied in the order of the
    query plan, each row to the maps its query kind gives: inbound rows to their
    destination's namespace, outbound rows to their source's, unserviced rows to the
    namespaces their destination service is in (but not their source's), node rows to the
    one map there is. In each map a series counts once (the first reporter's copy).

    What that makes, values aside, is a cells.Layout, worked out from the rows' plans and
    kept (LAYOUTS) while the next build's rows have the same keys (the same plans, and the
    same rows adding a value); the values are then counted into it with numpy."""

    def __init__(self, options: GraphOptions, namespaces: Sequence[str] | None = None) -> None:
        self.options = options
        self.namespaces = tuple(options.namespaces if namespaces is None else namespaces)
        self.hosts = [re.compile(rf"^.+\.{re.escape(ns)}\..+$") for ns in self.namespaces]
        inject = options.inject_service_nodes or options.graph_type == ids.SERVICE
        self.args = (options.graph_type, inject, options.rates.http, options.rates.grpc)
        self.answers: list[tuple[str, str, list[RowPlan | Dropped], np.ndarray]] = []

    def apply(self, query: TrafficQuery, rows: Sequence[Row]) -> None:
        metric = query.metric
        table = PLANS.table((metric, *self.args))
        keys = list(map(itemgetter(0), rows))
        plans = list(map(table.get, keys, repeat(MISSING, len(keys))))
        if MISSING in plans:
            made = 0
            for i, plan in enumerate(plans):
                if plan is MISSING:
                    plan = plans[i] = table.get(keys[i], MISSING)
                    if plan is MISSING:
                        plan = plans[i] = table[keys[i]] = (
                            plan_row(metric, keys[i], *self.args) or DROPPED)
                        made += 1
            PLANS.counted(made)
        values = np.fromiter(map(itemgetter(1), rows), np.float64, len(rows))
        self.answers.append((metric, query.kind, plans, values))

    def merged(self) -> traffic.TrafficMap:
        values = (np.concatenate([a[3] for a in self.answers]) if self.answers
                  else np.zeros(0))
        scope = (self.namespaces, self.args, tuple(a[:2] for a in self.answers))
        keys = ([a[2] for a in self.answers], counts(values).tobytes())
        layout = LAYOUTS.get(scope, keys)
        if layout is None:
            layout = self.layout(values)
            LAYOUTS.put(scope, keys, layout)
        return layout.traffic_map(values)

    def layout(self, values: np.ndarray) -> cells.Layout:
        """The namespace maps' skeletons and the rows that count in them. Which rows count
        (a series once per map) and where each edge is placed are decided on numbers; only
        the placements run in Python."""
        plans = [plan for answer in self.answers for plan in answer[2]]
        rows, maps = self.routes()
        series = numbered(map(SERIES, plans), len(plans))
        hops = numbered(map(HOP, plans), len(plans))
        # A series counts once per map: its first row there (the first reporter's copy).
        counted, _ = cells.first_of(maps * len(plans) + series[rows])
        rows, maps = rows[counted], maps[counted]
        # An edge is placed in a map at the first row that counts there.
        placements, placed = cells.first_of(maps * len(plans) + hops[rows])
        copies = cells.Copies()
        skeletons = [cells.Skeleton(ns) for ns in self.namespaces]
        named = np.array([place(copies, skeletons[m], plans[r].edge, plans[r].protocol)
                          for r, m in zip(rows[placements].tolist(), maps[placements].tolist(),
                                          strict=True)], np.int64).reshape(-1, cells.WIDTH)
        positive = counts(values[rows])
        rows = rows[positive]
        counting = [plans[r] for r in rows.tolist()]
        templates = np.fromiter(map(TEMPLATE, counting), np.int64, len(rows))
        hosts = np.fromiter(map(HOST_SLOT, counting), np.int64, len(rows))
        return cells.Layout(copies, skeletons, rows, templates, hosts, named[placed[positive]])

    def routes(self) -> tuple[np.ndarray, np.ndarray]:
        """(row, map) for each map a row goes to, in row order."""
        index = {ns: i for i, ns in enumerate(self.namespaces)}
        rows, maps = [], []
        start = 0
        for _, kind, plans, _ in self.answers:
            n = len(plans)
            if kind in (INBOUND, OUTBOUND):
                names = map(DEST_NAMESPACE if kind == INBOUND else SOURCE_NAMESPACE, plans)
                to = np.fromiter(map(index.get, names, repeat(-1)), np.int64, n)
            elif kind == NODE:
                to = np.where(np.fromiter(map(TEMPLATE, plans), np.int64, n) >= 0, 0, -1)
            else:
                pairs = [(r, m) for r, plan in enumerate(plans) if plan is not DROPPED
                         for m in self.unserviced(plan)]  # type: ignore[arg-type]
                rows.append(np.array([r for r, _ in pairs], np.int64) + start)
                maps.append(np.array([m for _, m in pairs], np.int64))
                start += n
                continue
            at = np.flatnonzero(to >= 0)
            rows.append(at + start)
            maps.append(to[at])
            start += n
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(rows), np.concatenate(maps)

    def unserviced(self, plan: RowPlan) -> list[int]:
        return [i for i, ns in enumerate(self.namespaces) if plan.source_namespace != ns
                and self.hosts[i].match(plan.edge.host)]


def numbered(keys: Iterable[Hashable], n: int) -> np.ndarray:
    """A number for each of `n` keys, equal keys the same (numbers below n; in C: a dict's
    setdefault mapped over the keys and a counter)."""
    numbers: dict[Hashable, int] = {}
    return np.fromiter(map(numbers.setdefault, keys, count()), np.int64, n)


def counts(values: np.ndarray) -> np.ndarray:
    """Which values a row adds (Kiali skips a value <= 0; a NaN is added)."""
    return ~(values <= 0)


class Layouts:
    """The last Layout of each scope (namespaces, options, queries), with the plans and the
    rows adding a value it was made for; the least recently made dropped first when they
    hold more than `limit` (row, cell) pairs in all. A 10,000-workload scope's layout holds
    2.5 million pairs (57 MB with its shapes); the newest is always kept."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.lock = threading.Lock()
        self.by_scope: dict[object, tuple[object, cells.Layout]] = {}
        self.changed = 0  # grows with every layout kept (memory.Kept)

    def get(self, scope: object, keys: object) -> cells.Layout | None:
        found = self.by_scope.get(scope)
        return found[1] if found is not None and found[0] == keys else None

    def put(self, scope: object, keys: object, layout: cells.Layout) -> None:
        with self.lock:
            self.by_scope.pop(scope, None)
            held = sum(len(kept.cells) for _, kept in self.by_scope.values())
            while self.by_scope and held + len(layout.cells) > self.limit:
                _, dropped = self.by_scope.pop(next(iter(self.by_scope)))
                held -= len(dropped.cells)
            self.by_scope[scope] = (keys, layout)
            self.changed += 1

    def changes(self) -> int:
        return self.changed

    def state(self) -> object:
        return self.by_scope

    def restore(self, state: object) -> None:
        with self.lock:
            self.by_scope = state  # type: ignore[assignment]


LAYOUTS = Layouts(limit=6_000_000)
memory.keep("istio layouts", LAYOUTS, dict)
