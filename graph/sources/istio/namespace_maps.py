"""Kiali's namespace maps of one build, laid out on numbers and merged.

Rows are routed to the maps of the requested namespaces by their query's kind; in each
map a series counts once (the first reporter's copy). What that makes, values aside, is
a graph/cells.py Layout, worked out from the rows' plans (graph/sources/istio/traffic.py
makes them, graph/sources/istio/plan_tables.py keeps them as numbers) and kept while the
next build's rows have the same keys.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Sequence
from itertools import count, repeat
from operator import itemgetter

import numpy as np

from graph import cells, ids, memory, traffic
from graph.answer_columns import Vector
from graph.options import GraphOptions
from graph.prometheus import Row
from graph.sources.dialect import TrafficQuery
from graph.sources.istio import plan_tables as pt
from graph.sources.istio.plan_tables import PLANS, Names, PlanTable, Specs
from graph.sources.istio.queries import INBOUND, NODE, OUTBOUND
from graph.sources.istio.traffic import DROPPED, NodeSpec, plan_row


def place(copies: cells.Copies, sk: cells.Skeleton, specs: Specs, path: list[int],
          service: tuple[str, str, str] | None, protocol: str) -> tuple[int, ...]:
    """Add an edge's nodes (`path`: its node specs, caller [-> service] -> destination) and
    edges (of this protocol) to a namespace's skeleton, and its destination service; return
    the copies its rows count in: the path's nodes, then its edges (-1 padded to
    cells.WIDTH). (Inlined: a 10,000-workload mesh places 100,000.)"""
    node_ids, fields, egress = specs
    nodes, initial = sk.nodes, copies.initial
    # Placed in Kiali's order (source, destination, service): the map keeps it.
    numbers = []
    for spec in (path[0], path[-1], path[1]) if len(path) == 3 else path:
        number = nodes.get(node_ids[spec])
        if number is None:
            number = copies.node(sk, node_ids[spec], fields[spec], egress[spec])
        numbers.append(number)
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
    out, kinds = sk.out, copies.fields
    for a, b in zip(path, path[1:], strict=False):
        edges, key = out[node_ids[a]], (node_ids[b], protocol)
        number = edges.get(key)
        if number is None:
            number = edges[key] = len(initial)
            initial.append({})
            kinds.append(None)
        numbers.append(number)
    return (*numbers, *(-1,) * (cells.WIDTH - len(numbers)))


Answer = tuple[str, str, PlanTable, np.ndarray, np.ndarray]  # metric, kind, plans, values


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
        self.answers: list[Answer] = []

    def apply(self, query: TrafficQuery, rows: Sequence[Row]) -> None:
        metric = query.metric
        table = PLANS.table((metric, *self.args))
        if isinstance(rows, Vector):
            numbers = self.picked(table, metric, rows)
            self.answers.append((metric, query.kind, table, numbers, rows.values))
            return
        keys = list(map(itemgetter(0), rows))
        numbers = self.numbers(table, metric, keys)
        values = np.fromiter(map(itemgetter(1), rows), np.float64, len(keys))
        self.answers.append((metric, query.kind, table, numbers, values))

    def picked(self, table: PlanTable, metric: str, vector: Vector) -> np.ndarray:
        """The plan numbers of an answer read as columns. The numbers of all its keys (-1
        for a key not planned: one of a row not kept, which the row path never plans
        either) are kept by their digest, and picked: while the answer's keys stay the same
        no key is looked up, nor decoded, whichever of its rows are kept."""
        base = vector.base
        every = table.by_digest.get(base.digest)
        made = every is None
        if every is None:
            keys = base.list()
            every = np.fromiter(map(table.index.get, keys, repeat(-1, len(keys))), np.int32,
                                len(keys))
        rows = vector.base_rows()
        numbers = every[rows]
        missing = np.flatnonzero(numbers < 0)
        if len(missing):
            numbers[missing] = self.numbers(table, metric,
                                            [base.list()[i] for i in rows[missing].tolist()])
            every = every.copy()
            every[rows[missing]] = numbers[missing]
            made = True
        if made:
            PLANS.remember(table, base.digest, every)
        return numbers

    def numbers(self, table: PlanTable, metric: str, keys: list[str]) -> np.ndarray:
        """The plan number of each key, plans made for the keys the table lacks."""
        n = len(keys)
        numbers = np.fromiter(map(table.index.get, keys, repeat(-1, n)), np.int32, n)
        for i in np.flatnonzero(numbers < 0).tolist():
            number = table.index.get(keys[i])
            if number is None:
                plan = plan_row(metric, keys[i], *self.args) or DROPPED
                number = PLANS.add(table, keys[i], plan, self.args[0])
            numbers[i] = number
        return numbers

    def merged(self) -> traffic.TrafficMap:
        values = (np.concatenate([a[4] for a in self.answers]) if self.answers
                  else np.zeros(0))
        scope = (self.namespaces, self.args, tuple(a[:2] for a in self.answers))
        keys = (tuple((a[2].generation, a[3].tobytes()) for a in self.answers),
                counts(values).tobytes())
        layout = LAYOUTS.get(scope, keys)
        if layout is None:
            layout = self.layout(values)
            LAYOUTS.put(scope, keys, layout)
        return layout.traffic_map(values)

    def layout(self, values: np.ndarray) -> cells.Layout:
        """The namespace maps' skeletons and the rows that count in them. Which rows count
        (a series once per map) and where each edge is placed are decided on numbers; only
        the placements run in Python."""
        names, plans = self.plans()
        n = len(plans)
        rows, maps = self.routes(names, plans)
        metric = np.repeat(np.arange(len(self.answers)), [len(a[3]) for a in self.answers])
        metric = numbered([a[0] for a in self.answers], len(self.answers))[metric]
        # Kiali's series (metric, both ends' labels and protocol, code, flags, host) and hop
        # (the ends and protocol): the nodes' specs stand for their labels.
        ends = plans[:, [pt.SOURCE, pt.DEST, pt.PROTOCOL]]
        series = row_numbers(np.column_stack(
            (metric, ends, plans[:, [pt.CODE, pt.FLAGS, pt.HOST]])))
        hops = row_numbers(ends)
        # A series counts once per map: its first row there (the first reporter's copy).
        counted, _ = cells.first_of(maps * n + series[rows])
        rows, maps = rows[counted], maps[counted]
        # An edge is placed in a map at the first row that counts there.
        placements, placed = cells.first_of(maps * n + hops[rows])
        copies = cells.Copies()
        skeletons = [cells.Skeleton(ns) for ns in self.namespaces]
        specs = names.spec_lists()
        name = names.strings.__getitem__
        named = np.array([
            place(copies, skeletons[m], specs, [s for s in row[:3] if s >= 0],
                  tuple(map(name, row[3:6])) if row[3] >= 0 else None, name(row[6]))
            for row, m in zip(plans[rows[placements]][:, [
                pt.SOURCE, pt.SERVICE, pt.DEST, pt.DS_CLUSTER, pt.DS_NAMESPACE, pt.DS_NAME,
                pt.PROTOCOL]].tolist(), maps[placements].tolist(), strict=True)],
            np.int64).reshape(-1, cells.WIDTH)
        positive = counts(values[rows])
        rows = rows[positive]
        return cells.Layout(copies, skeletons, rows, plans[rows, pt.TEMPLATE],
                            plans[rows, pt.HOST_SLOT], named[placed[positive]])

    def plans(self) -> tuple[Names, np.ndarray]:
        """The rows' plans, as one (rows, WIDTH) array naming strings and specs in one
        Names (the tables' own, unless the plans were dropped between two queries)."""
        names = self.answers[0][2].names if self.answers else Names()
        parts = []
        for _, _, table, numbers, _ in self.answers:
            columns = table.columns(numbers)
            if table.names is not names:
                columns = rebased(columns, table.names, names, self.args[0])
            parts.append(columns)
        return names, (np.concatenate(parts) if parts
                       else np.zeros((0, pt.WIDTH), np.int32)).astype(np.int64)

    def routes(self, names: Names, plans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, map) for each map a row goes to, in row order."""
        # A namespace's map by the number of its name (-1: none, as for a dropped plan's).
        index = np.full(len(names.strings) + 1, -1, np.int64)
        for i, number in enumerate(names.string_numbers(self.namespaces).tolist()):
            if number >= 0:
                index[number] = i
        rows, maps = [], []
        start = 0
        for _, kind, _, numbers, _ in self.answers:
            n = len(numbers)
            part = plans[start:start + n]
            if kind in (INBOUND, OUTBOUND):
                to = index[part[:, pt.DEST_NAMESPACE if kind == INBOUND else pt.SOURCE_NAMESPACE]]
            elif kind == NODE:
                to = np.where(part[:, pt.TEMPLATE] >= 0, 0, -1)
            else:
                name = names.strings.__getitem__
                pairs = [(r, m) for r, (source_ns, host) in enumerate(
                    part[:, [pt.SOURCE_NAMESPACE, pt.HOST]].tolist()) if host >= 0
                    for m in self.unserviced(name(source_ns), name(host))]
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

    def unserviced(self, source_namespace: str, host: str) -> list[int]:
        return [i for i, ns in enumerate(self.namespaces) if source_namespace != ns
                and self.hosts[i].match(host)]


def rebased(columns: np.ndarray, old: Names, new: Names, graph_type: str) -> np.ndarray:
    """Plans of a table dropped while a build went on, named in another table's Names."""
    with pt.LOCK:  # `new` grows: another build may be adding to it
        return renamed(columns.astype(np.int64), old, new, graph_type)


def renamed(out: np.ndarray, old: Names, new: Names, graph_type: str) -> np.ndarray:
    strings = [pt.HOST, pt.DS_CLUSTER, pt.DS_NAMESPACE, pt.DS_NAME, pt.SOURCE_NAMESPACE,
               pt.DEST_NAMESPACE, pt.CODE, pt.FLAGS, pt.PROTOCOL]
    node_ids, fields, egress = old.spec_lists()
    keys = np.array(old.specs, np.int32).reshape(-1, pt.SPEC_WIDTH)[:, pt.SPEC_KEY].tolist()
    for row in out:
        if row[pt.SOURCE] < 0:
            continue
        for c in strings:
            if row[c] >= 0:
                row[c] = new.id(old.strings[row[c]])
        for c in (pt.SOURCE, pt.SERVICE, pt.DEST):
            if row[c] >= 0:
                s = int(row[c])
                labels = tuple(old.strings[k] for k in keys[s][1:])
                spec = NodeSpec(node_ids[s], fields[s]["node_type"], labels,  # type: ignore[arg-type]
                                fields[s], egress[s])
                row[c] = new.spec(spec, graph_type)
    return out


def row_numbers(matrix: np.ndarray) -> np.ndarray:
    """A number for each row of `matrix`, equal rows the same (numbers below its length)."""
    if not len(matrix):
        return np.zeros(0, np.int64)
    _, inverse = np.unique(matrix, axis=0, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64)


def numbered(keys: Iterable[Hashable], n: int) -> np.ndarray:
    """A number for each of `n` keys, equal keys the same (numbers below n; in C: a dict's
    setdefault mapped over the keys and a counter)."""
    numbers: dict[Hashable, int] = {}
    return np.fromiter(map(numbers.setdefault, keys, count()), np.int64, n)


def counts(values: np.ndarray) -> np.ndarray:
    """Which values a row adds (Kiali skips a value <= 0; a NaN is added)."""
    return ~(values <= 0)


class Layouts(memory.ByScope[tuple[object, cells.Layout]]):
    """The last Layout of each scope (namespaces, options, queries), with the plans and the
    rows adding a value it was made for; the least recently made dropped first when they
    hold more than `limit` (row, cell) pairs in all. A 10,000-workload scope's layout holds
    2.5 million pairs (57 MB with its shapes); the newest is always kept."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

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


LAYOUTS = Layouts(limit=6_000_000)
memory.keep("istio layouts", LAYOUTS, dict)
