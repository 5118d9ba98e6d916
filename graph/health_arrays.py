"""Health on numbers, for a traffic map counted by a Layout (graph/cells.py).

While a Layout is reused (a live mesh's steady state), everything health needs that does
not depend on the values is fixed: each edge's protocol and response codes, which codes
each tolerance of its source's outbound and its destination's inbound rules counts, and
which codes each node adds up per direction and protocol. That is worked out once per
Layout and Judge (a `HealthPlan`, from the first map counted by the Layout); a build then
scores every edge and node with a few `np.bincount`s on the flag sums, and writes the
statuses into the mds.

The sums are the floats `graph/health.py`'s loops make: `np.bincount` adds in array order,
and every entry is laid out in the order the loops add (flags in code order, codes in an
edge's order, an edge's codes into its nodes in edge order, a node's codes in the order it
first saw them), so that a share exactly on a band's edge falls the same way.
"""

from __future__ import annotations

import threading
import weakref
from array import array
from typing import TYPE_CHECKING, Any

import numpy as np

from graph import memory
from graph.health import (
    DEGRADED_RANK,
    FAILURE_RANK,
    HEALTHY_RANK,
    INBOUND,
    NA_RANK,
    OUTBOUND,
    RESPONSES_KEY,
    STATUSES,
    HealthConfig,
    Judge,
    Scorer,
    judge_for,
)

if TYPE_CHECKING:
    from graph.cells import CountedMap, Layout

MAX_PLANS_PER_LAYOUT = 4  # health configs judged per layout (one, or a few, per scope)


class Groups:
    """Tolerances applied to sums: group g has its bands and the total it is a share of;
    its error sum adds `terms` (indices into the values) in order."""

    def __init__(self) -> None:
        self.owner: list[int] = []  # the edge or node key whose total it divides by
        self.degraded: list[float] = []
        self.failure: list[float] = []
        self.term_group: list[int] = []
        self.term_value: list[int] = []

    def add(self, owner: int, scorer: Scorer, codes: tuple[str, ...],
            values: list[int]) -> None:
        plan = scorer.plans.get(codes)
        if plan is None:
            plan = scorer.plan(codes)
        for degraded, failure, positions in plan:
            group = len(self.owner)
            self.owner.append(owner)
            self.degraded.append(degraded)
            self.failure.append(failure)
            for i in positions:
                self.term_group.append(group)
                self.term_value.append(values[i])

    def freeze(self) -> None:
        self.owner_a = np.array(self.owner, np.int64)
        self.degraded_a = np.array(self.degraded, np.float64)
        self.failure_a = np.array(self.failure, np.float64)
        self.group_a = np.array(self.term_group, np.int64)
        self.value_a = np.array(self.term_value, np.int64)
        del self.owner, self.degraded, self.failure, self.term_group, self.term_value

    def ranks(self, values: np.ndarray, totals: np.ndarray) -> np.ndarray:
        """Each group's rank as Scorer.rank's loop gives it (HEALTHY when no errors)."""
        errors = np.bincount(self.group_a, weights=values[self.value_a],
                             minlength=len(self.owner_a))
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = errors / totals[self.owner_a] * 100
        return np.select([pct <= 0, pct >= self.failure_a, pct >= self.degraded_a],
                         [HEALTHY_RANK, FAILURE_RANK, DEGRADED_RANK], HEALTHY_RANK)


Scored = list[tuple[int, int, int, str, tuple[str, ...], list[int]]]
Scan = tuple[Scored, list[str]]  # the scored edges, and the node ids in layout order


class EdgeCodes:
    """What health reads of one Layout's map, whatever the config: each scored edge's
    response codes (numbered in the order their flags were counted, md after md), the
    TCP edges, and where each edge's and node's md is."""

    def __init__(self, layout: Layout) -> None:
        flag_code: list[int] = []
        codes_of: list[dict[str, tuple[tuple[str, ...], list[int]]]] = []
        n_codes = 0
        for shape in layout.responses:
            by_key: dict[str, tuple[tuple[str, ...], list[int]]] = {}
            if shape is not None:
                for responses, code, flag_names, _ in shape:
                    names, numbers = by_key.get(responses, ((), []))
                    by_key[responses] = ((*names, code), [*numbers, n_codes])
                    flag_code.extend([n_codes] * len(flag_names))
                    n_codes += 1
            codes_of.append(by_key)
        self.n_codes = n_codes
        self.flag_code = np.array(flag_code, np.int64)
        node_index = {node_id: k for k, (node_id, _, _) in enumerate(layout.nodes)}
        node_ids = [node_id for node_id, _, _ in layout.nodes]
        self.node_mds = array("l", [i for _, _, i in layout.nodes])
        self.edge_mds = array("l")
        self.tcp: list[tuple[int, int, int, int]] = []  # (edge, md, source, target)
        # (edge, source, target, protocol, codes, code numbers) of edges with responses
        scored: list[tuple[int, int, int, str, tuple[str, ...], list[int]]] = []
        for u, node_edges in enumerate(layout.edges):
            for (target, protocol), e, _ in node_edges:
                k = len(self.edge_mds)
                self.edge_mds.append(e)
                v = node_index[target]
                if protocol == "tcp":
                    self.tcp.append((k, e, u, v))
                    continue
                found = codes_of[e].get(RESPONSES_KEY.get(protocol) or f"{protocol}Responses")
                if found:
                    scored.append((k, u, v, protocol, *found))
        # What only plans read (Python tuples: 3 MB at 1,000 workloads): dropped once a
        # plan is made, and made again for another config.
        self.scan: Scan | None = (scored, node_ids)
        self.n_scored = len(scored)
        self.scored_edges = np.array([s[0] for s in scored], np.int64)
        # Each scored edge's total: its codes in order.
        self.total_edge = np.array([j for j, s in enumerate(scored) for _ in s[5]], np.int64)
        self.total_code = np.array([c for s in scored for c in s[5]], np.int64)

    def totals(self, flag_sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each code's rate (its flags added in order) and each scored edge's total."""
        code_values = np.bincount(self.flag_code, weights=flag_sums, minlength=self.n_codes)
        return code_values, np.bincount(self.total_edge, weights=code_values[self.total_code],
                                        minlength=self.n_scored)


class HealthPlan:
    """What one Layout's edges and nodes need for health under one Judge, given which
    scored edges have traffic (a total above 0: their codes count in their nodes)."""

    def __init__(self, codes: EdgeCodes, scan: Scan, judge: Judge,
                 nodes: dict[str, dict[str, Any]], positive: np.ndarray) -> None:
        self.codes = codes
        scored, node_ids = scan
        rules = [judge.rules(nodes[node_id]) for node_id in node_ids]
        self.positive = positive
        self.edges = Groups()
        node_keys: dict[tuple[int, str, str], int] = {}
        for j, (_, u, v, protocol, names, numbers) in enumerate(scored):
            outbound = rules[u].outbound.get(protocol) or rules[u].scorer(protocol, OUTBOUND)
            inbound = rules[v].inbound.get(protocol) or rules[v].scorer(protocol, INBOUND)
            self.edges.add(j, outbound, names, numbers)
            if inbound is not outbound:
                self.edges.add(j, inbound, names, numbers)
            if positive[j]:
                node_keys.setdefault((u, OUTBOUND, protocol), len(node_keys))
                node_keys.setdefault((v, INBOUND, protocol), len(node_keys))
        self.edges.freeze()
        self.node_keys(node_keys, scored, rules, positive)

    def node_keys(self, node_keys: dict[tuple[int, str, str], int],
                  scored: list[tuple[int, int, int, str, tuple[str, ...], list[int]]],
                  rules: list[Any], positive: np.ndarray) -> None:
        """Node cells (a key's code) and the terms adding edges' codes into them, in edge
        order."""
        # Cells numbered as first seen: a key's cells are then in the order it saw them.
        cells: dict[tuple[int, str], int] = {}
        per_key: list[list[str]] = [[] for _ in node_keys]
        key_cells: list[list[int]] = [[] for _ in node_keys]
        key_of = list(node_keys)
        cell_key: list[int] = []
        term_cell: list[int] = []
        term_code: list[int] = []
        for j, (_, u, v, protocol, codes, numbers) in enumerate(scored):
            if not positive[j]:
                continue
            for number in (node_keys[(u, OUTBOUND, protocol)],
                           node_keys[(v, INBOUND, protocol)]):
                for code, c in zip(codes, numbers, strict=True):
                    cell = cells.get((number, code))
                    if cell is None:
                        cell = cells[(number, code)] = len(cell_key)
                        cell_key.append(number)
                        per_key[number].append(code)
                        key_cells[number].append(cell)
                    term_cell.append(cell)
                    term_code.append(c)
        self.n_cells = len(cell_key)
        self.cell_key = np.array(cell_key, np.int64)
        self.term_cell = np.array(term_cell, np.int64)
        self.term_code = np.array(term_code, np.int64)
        self.key_node = np.array([key[0] for key in key_of], np.int64)
        self.nodes = Groups()
        for number, (u, direction, protocol) in enumerate(key_of):
            node = rules[u]
            scorer = (node.outbound if direction == OUTBOUND else node.inbound).get(protocol) \
                or node.scorer(protocol, direction)
            self.nodes.add(number, scorer, tuple(per_key[number]), key_cells[number])
        self.nodes.freeze()

    def statuses(self, code_values: np.ndarray, totals: np.ndarray,
                 mds: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
        """(edge statuses, node statuses) in layout order."""
        codes = self.codes
        edge_rank = np.full(len(codes.edge_mds), NA_RANK, np.int64)
        # An edge is judged unless its total is 0 or less: a NaN total is judged (and
        # reaches no band), as Scorer.rank's `total <= 0` reads it on dicts; its codes
        # still count in its nodes only when the total is above 0 (`positive`).
        judged = ~(totals <= 0)
        scored_rank = judged.astype(np.int64)  # HEALTHY_RANK when judged, else NA
        ranks = self.edges.ranks(code_values, totals)
        np.maximum.at(scored_rank, self.edges.owner_a,
                      np.where(judged[self.edges.owner_a], ranks, NA_RANK))
        edge_rank[codes.scored_edges] = scored_rank
        node_rank = np.full(len(codes.node_mds), NA_RANK, np.int64)
        cell_values = np.bincount(self.term_cell, weights=code_values[self.term_code],
                                  minlength=self.n_cells)
        key_totals = np.bincount(self.cell_key, weights=cell_values,
                                 minlength=len(self.key_node))
        key_rank = (key_totals > 0).astype(np.int64)
        ranks = self.nodes.ranks(cell_values, key_totals)
        np.maximum.at(key_rank, self.nodes.owner_a,
                      np.where(key_totals[self.nodes.owner_a] > 0, ranks, NA_RANK))
        np.maximum.at(node_rank, self.key_node, key_rank)
        node_ranks = node_rank.tolist()
        edge_ranks = edge_rank.tolist()
        for k, e, u, v in codes.tcp:
            if mds[e].get("tcp", 0) > 0:
                edge_ranks[k] = HEALTHY_RANK
                node_ranks[u] = node_ranks[u] or HEALTHY_RANK
                node_ranks[v] = node_ranks[v] or HEALTHY_RANK
        statuses = STATUSES.__getitem__
        return list(map(statuses, edge_ranks)), list(map(statuses, node_ranks))


# Per Layout: its EdgeCodes (False once seen: a layout's first map is judged on dicts, so
# that a build with new keys costs no more than before), and its plans by Judge.
_codes: weakref.WeakKeyDictionary[Layout, EdgeCodes | bool] = weakref.WeakKeyDictionary()
_plans: weakref.WeakKeyDictionary[Layout, dict[Judge, HealthPlan]] = \
    weakref.WeakKeyDictionary()
_lock = threading.Lock()


class KeptHealth:
    """_codes and _plans handed back from builds in a child process (graph/forked.py): in
    one pickle with the layouts (graph/memory.py kept_state), so their keys come back as
    the very layouts the parent restores."""

    def changes(self) -> int:
        with _lock:
            made = sum(codes is not False for codes in _codes.values())
            return len(_codes) + made + sum(len(by_judge) for by_judge in _plans.values())

    def state(self) -> object:
        with _lock:
            return dict(_codes), dict(_plans)

    def restore(self, state: object) -> None:
        assert isinstance(state, tuple)
        codes, plans = state
        with _lock:
            _codes.clear()
            _codes.update(codes)
            _plans.clear()
            _plans.update(plans)


memory.keep("health arrays", KeptHealth(), lambda: ({}, {}))


def annotate_counted(tm: CountedMap, config: HealthConfig) -> bool:
    """Set `healthStatus` as `graph.health.annotate_health` does, on a map counted by a
    Layout; False (nothing done) on the layout's first map: judge it on dicts then."""
    layout, flag_sums, mds = tm.counted[:3]
    judge = judge_for(config)
    with _lock:
        codes = _codes.get(layout)
        if codes is None:
            _codes[layout] = False
            return False
        by_judge = _plans.setdefault(layout, {})
        plan = by_judge.get(judge)
    if codes is False:
        codes = EdgeCodes(layout)
        with _lock:
            _codes[layout] = codes
    assert isinstance(codes, EdgeCodes)
    code_values, totals = codes.totals(flag_sums)
    positive = totals > 0
    if plan is None or not np.array_equal(positive, plan.positive):
        scan = codes.scan  # held here: another thread may drop it meanwhile
        if scan is None:
            codes = EdgeCodes(layout)
            scan = codes.scan
            assert scan is not None
            with _lock:
                _codes[layout] = codes
        plan = HealthPlan(codes, scan, judge, tm.nodes, positive)
        codes.scan = None
        with _lock:
            while len(by_judge) >= MAX_PLANS_PER_LAYOUT and judge not in by_judge:
                del by_judge[next(iter(by_judge))]
            by_judge[judge] = plan
    edge_statuses, node_statuses = plan.statuses(code_values, totals, mds)
    for e, status in zip(codes.edge_mds, edge_statuses, strict=True):
        mds[e]["healthStatus"] = status
    for i, status in zip(codes.node_mds, node_statuses, strict=True):
        mds[i]["healthStatus"] = status
    return True
