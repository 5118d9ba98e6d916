"""Row plans kept as rows of numbers, with one string table.

What a distinct row key means (graph/sources/istio/traffic.py's RowPlan: its nodes, the
injected service node, its series, the rates it adds to) is worked out once and kept
across builds. Kept as objects (a RowPlan, its RowEdge, NodeSpecs, series tuple and hop
string), a 10,000-workload scope's 130,000 plans were half a million objects and 90 MB in
the worker between builds, walked by every full collection, and copied page by page into
each forked build that touched them (graph/forked.py). Here a plan is one row of `WIDTH`
int32 numbers in one array per table: its nodes by number in a table of node specs, and
its strings (labels, hosts, codes) by number in one string table (`Names`). The table's
index (row key -> plan number) is one dict of strings and ints, which the collector does
not track.

A build looks its rows' keys up and gets plan numbers: while the keys stay the same (a
live mesh's steady state) that is all it reads. Only when a Layout is made again
(graph/sources/istio/namespace_maps.py) are the plans' columns read, as arrays.

    Names:     strings (id -> str) and node specs (id -> node id, identity fields, egress)
    PlanTable: row key -> plan number; plan number -> a row of WIDTH numbers
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Sequence
from typing import Any

import numpy as np

from graph import memory
from graph.sources.istio.traffic import Dropped, NodeSpec, RowPlan

# A plan's columns: its path's node specs (the service -1 when none is injected), its
# edge's host and destination service (-1 when it names none), the row's namespace labels,
# response code and flags, protocol, and its cells.Registry template and host slot. A
# dropped row's plan is all -1.
(SOURCE, SERVICE, DEST, HOST, DS_CLUSTER, DS_NAMESPACE, DS_NAME, SOURCE_NAMESPACE,
 DEST_NAMESPACE, CODE, FLAGS, PROTOCOL, TEMPLATE, HOST_SLOT) = range(14)
WIDTH = 14
DROPPED_ROW = (-1,) * WIDTH

# A node spec's numbers: its node id, the graph type and the 7 labels it was made of (what
# makes it the same spec), its 7 identity fields, and whether it is an egress cluster.
FIELD_NAMES = ("node_type", "cluster", "namespace", "workload", "app", "version", "service")
SPEC_ID, SPEC_KEY, SPEC_FIELDS, SPEC_EGRESS = 0, slice(1, 9), slice(9, 16), 16
SPEC_WIDTH = 17
# Answers' plan numbers kept by digest per table: the shares of a metric's queries, for a
# few sets of keys each.
DIGESTS_KEPT = 32
Specs = tuple[list[str], list[dict[str, Any]], list[bool]]  # node ids, fields, egress
# Guards every table's arrays and every Names: an array.array cannot grow while numpy reads
# it (a build in another thread making its layout), and the lookups are made lazily.
LOCK = threading.RLock()


class Names:
    """One string table and one node spec table, shared by the plan tables made with it:
    equal strings (and equal specs) have equal numbers in all of them. The lookups from
    string or spec to number, and the specs as Python values, are made when first asked
    (in the build that needs them), not kept."""

    def __init__(self, strings: list[str] | None = None, specs: array | None = None) -> None:
        self.strings: list[str] = strings if strings is not None else []
        self.specs = specs if specs is not None else array("i")
        self.ids: dict[str, int] | None = None
        self.spec_ids: dict[tuple[int, ...], int] | None = None
        self.lists: Specs | None = None

    def __getstate__(self) -> object:
        return self.strings, self.specs

    def __setstate__(self, state: tuple[list[str], array]) -> None:
        self.__init__(*state)  # type: ignore[misc]

    def id(self, name: str) -> int:
        if self.ids is None:
            self.ids = dict(zip(self.strings, range(len(self.strings)), strict=True))
        number = self.ids.get(name)
        if number is None:
            number = self.ids[name] = len(self.strings)
            self.strings.append(name)
        return number

    def spec(self, spec: NodeSpec, graph_type: str) -> int:
        """The number of a node spec: the same labels under the same graph type make the
        same node (traffic.node_spec), so the labels name it."""
        key = (self.id(graph_type), *map(self.id, spec.labels))
        if self.spec_ids is None:
            rows = np.array(self.specs, np.int32).reshape(-1, SPEC_WIDTH)[:, SPEC_KEY]
            self.spec_ids = {tuple(row): n for n, row in enumerate(rows.tolist())}
        number = self.spec_ids.get(key)
        if number is None:
            assert tuple(spec.fields) == FIELD_NAMES, spec.fields
            number = self.spec_ids[key] = len(self.specs) // SPEC_WIDTH
            self.specs.extend((self.id(spec.id), *key, *map(self.id, spec.fields.values()),
                               int(spec.egress)))
            self.lists = None
        return number

    def spec_lists(self) -> Specs:
        """Every spec's node id, identity fields (a dict, as NodeSpec.fields) and egress."""
        with LOCK:
            return self.made_lists()

    def made_lists(self) -> Specs:
        if self.lists is None:
            rows = np.array(self.specs, np.int32).reshape(-1, SPEC_WIDTH)
            name = self.strings.__getitem__
            node_ids = list(map(name, rows[:, SPEC_ID].tolist()))
            fields = [dict(zip(FIELD_NAMES, map(name, values), strict=True))
                      for values in rows[:, SPEC_FIELDS].tolist()]
            self.lists = node_ids, fields, [bool(e) for e in rows[:, SPEC_EGRESS].tolist()]
        return self.lists

    def string_numbers(self, names: Sequence[str]) -> np.ndarray:
        """Each name's number, -1 for a name not in the table (without adding it)."""
        ids = self.ids
        if ids is None:
            ids = dict(zip(self.strings, range(len(self.strings)), strict=True))
        return np.array([ids.get(name, -1) for name in names], np.int64)


class PlanTable:
    """The plans of one metric and graph options, numbered in the order they were made."""

    def __init__(self, names: Names, generation: int) -> None:
        self.names = names
        self.generation = generation  # which table: a layout's plan numbers name it
        self.index: dict[str, int] = {}
        self.rows = array("i")
        # The plan numbers of whole answers by the digest of their keys (Vector.digest):
        # a live mesh answers the same keys tick after tick. The newest few kept.
        self.by_digest: dict[bytes, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.rows) // WIDTH

    def row(self, plan: RowPlan | Dropped, graph_type: str) -> tuple[int, ...]:
        if not isinstance(plan, RowPlan):
            return DROPPED_ROW
        names, edge = self.names, plan.edge
        path = [names.spec(spec, graph_type) for spec in edge.path]
        service = edge.dest_service
        _, _, code, flags, _ = plan.series
        return (path[0], path[1] if len(path) == 3 else -1, path[-1], names.id(edge.host),
                *(map(names.id, service) if service else (-1, -1, -1)),
                names.id(plan.source_namespace), names.id(plan.dest_namespace),
                names.id(code), names.id(flags), names.id(plan.protocol), plan.template,
                plan.host_slot)

    def columns(self, numbers: np.ndarray) -> np.ndarray:
        """The rows of these plans, as an (n, WIDTH) array."""
        with LOCK:
            return np.array(self.rows, np.int32).reshape(-1, WIDTH)[numbers]


class PlanTables:
    """Plan tables by metric and graph options, kept across builds (the same rows come
    back every refresh) and dropped whole, with their Names, when they hold more than
    `limit` plans. The bench's 1,000-workload mesh has 13,000 distinct rows, its
    10,000-workload mesh 130,000: the limit must hold a whole scope, or every build starts
    cold (at 10,000 workloads a cold build costs seconds more). A build going on meanwhile
    keeps the tables it holds. graph/memory.py's Kept: handed back from builds apart."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.names = Names()
        self.tables: dict[tuple[object, ...], PlanTable] = {}
        self.size = 0
        self.made = 0  # tables made: their generations
        self.changed = 0  # grows with every plan made and every drop (memory.Kept)

    def table(self, key: tuple[object, ...]) -> PlanTable:
        with LOCK:
            if self.size > self.limit:
                self.names, self.tables, self.size = Names(), {}, 0
                self.changed += 1
            found = self.tables.get(key)
            if found is None:
                self.made += 1
                found = self.tables[key] = PlanTable(self.names, self.made)
            return found

    def add(self, table: PlanTable, key: str, plan: RowPlan | Dropped,
            graph_type: str) -> int:
        """The number of `key`'s plan in `table`, `plan` added as it when it is not there."""
        with LOCK:
            number = table.index.get(key)
            if number is None:
                number = table.index[key] = len(table)
                table.rows.extend(table.row(plan, graph_type))
                self.size += 1
                self.changed += 1
        return number

    def remember(self, table: PlanTable, digest: bytes, numbers: np.ndarray) -> None:
        """Keep the plan numbers of an answer's keys by their digest (a few per table)."""
        numbers.flags.writeable = False
        with LOCK:
            while len(table.by_digest) >= DIGESTS_KEPT:
                table.by_digest.pop(next(iter(table.by_digest)))
            table.by_digest[digest] = numbers
            self.changed += 1

    def changes(self) -> int:
        return self.changed

    def state(self) -> object:
        with LOCK:
            return self.names, self.tables, self.size, self.made

    def restore(self, state: object) -> None:
        with LOCK:
            self.names, self.tables, self.size, self.made = state  # type: ignore[misc]

    def empty(self) -> object:
        return Names(), {}, 0, self.made


PLANS = PlanTables(limit=500_000)
memory.keep("istio row plans", PLANS, PLANS.empty)
