"""The security appender's sums on numbers, while a scope's rows stay the same.

What graph/sources/istio/security.py works out row by row (each row resolved to its edge,
then, in Kiali's order, added into each hop's Policy) depends on the rows' values only
through the sums: which rows go into which edge, in what order, and whose principals an
edge ends up with (the first seen, or the first on mTLS) are fixed by the rows' keys. A
live mesh sends the same keys tick after tick, so that is worked out once (`Counting`, a
few arrays and two small string tables) and kept while the next build's rows have the
same keys (compared by a digest of them: no row is resolved again); a build then adds each
edge's traffic and its mTLS part with two `np.bincount`s over (row, edge) pairs laid out
in the order the Policy loop adds them, so every sum is the same float.

Only where the sums are all there is: not for the service graph (its edges are made of
several workloads' policies, security.service_to_service) nor with idle edges (which rows
count there depends on their values); nor when a value is NaN (the row path skips it).
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections import deque
from collections.abc import Iterator, Sequence
from itertools import repeat
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

import networkx as nx
import numpy as np
import orjson

from graph import answer_columns, ids, memory, traffic
from graph.answer_columns import Vector
from graph.cells import COUNTED
from graph.options import GraphOptions
from graph.prometheus import Row

if TYPE_CHECKING:
    from graph.cells import Layout

EdgeKey = tuple[str, str, str]  # source id, destination id, protocol
MTLS = "mutual_tls"


class Counting(NamedTuple):
    """What a scope's rows add up to, values aside: for each (row, hop) pair in the order
    the Policy loop adds them, the row (its place among the answers' rows in order), the
    edge and whether it is on mTLS; per edge, its ends and protocol (numbers into `names`)
    and its principals (numbers into `principals`, 0: none)."""

    digest: bytes  # of the rows' keys (keys_digest)
    rows: np.ndarray
    edges: np.ndarray
    mtls: np.ndarray
    ends: np.ndarray  # per edge: source, destination, protocol
    names: list[str]
    held: np.ndarray  # per edge: source principal, destination principal
    principals: list[str]


class Counted(NamedTuple):
    """One build's sums: per edge of the counting, its traffic and its mTLS part."""

    counting: Counting
    total: np.ndarray
    mtls: np.ndarray


def kiali_order(inbound: list[Any], outside: list[Any],
                namespaces: Sequence[str]) -> Iterator[Any]:
    """The rows Kiali's appender reads (each a tuple, its record first), in the order its
    query gives them: source in a requested namespace, then source elsewhere and
    destination service in one; each part from the inbound answer, then the outside one.
    (The first principals seen on an edge win, so the order matters.)"""
    wanted = frozenset(namespaces)
    for parts in (inbound, outside):
        yield from (r for r in parts if r[0].source_workload_namespace in wanted)
    for parts in (inbound, outside):
        yield from (r for r in parts if r[0].source_workload_namespace not in wanted
                    and r[0].destination_service_namespace in wanted)


def secured_rows(rows: Iterator[Any], protocol: str,
                 ) -> Iterator[tuple[Any, Any, str, bool, tuple[str, str]]]:
    """kiali_order's rows as (edge, the row's third item, the edge's protocol, on mTLS,
    principals): the protocol is the metric's, or for requests ("") the row's own; a row
    of any other protocol is left out. Both walks (security.policies_by_row and
    make_counting) read rows so."""
    for row, edge, third in rows:
        edge_protocol = protocol or row.request_protocol
        if edge_protocol in traffic.PROTOCOLS:
            yield (edge, third, edge_protocol, row.connection_security_policy == MTLS,
                   (row.source_principal, row.destination_principal))


def applies(options: GraphOptions) -> bool:
    return options.graph_type != ids.SERVICE and not options.include_idle_edges


def keys_digest(results: Sequence[list[Row]]) -> bytes | None:
    """A digest of every answer's row keys, in order (orjson writes the lists unambiguously,
    whatever the label values hold); None for a key JSON cannot hold (a lone surrogate).
    Answers read as columns have a digest of their keys already: those digests then."""
    if all(isinstance(rows, Vector) for rows in results):
        return b"vectors" + answer_columns.digest_of(*(rows.digest for rows in results))  # type: ignore[attr-defined]
    digest = hashlib.blake2b(digest_size=16)
    try:
        for rows in results:
            digest.update(orjson.dumps(list(map(itemgetter(0), rows))))
    except orjson.JSONEncodeError:
        return None
    return digest.digest()


def make_counting(digest: bytes, found: list[list[Any]], protocols: Sequence[str],
                  parts: Sequence[int], namespaces: Sequence[str]) -> Counting:
    """The Counting of these answers' rows, each resolved to (record, EdgeIds) or None: per
    metric (its protocol, "" for requests: each row's own), `parts` answers of inbound
    rows, then one of the rest.

    The same walk as security.policies_by_row: rows in Kiali's order, each added into each
    of its hops' edge; here only noting the pair, and offering the row's principals to the
    edge (security.Policy.offer: they do not depend on values)."""
    index: dict[EdgeKey, int] = {}
    principals: list[tuple[str, str]] = []
    on_mtls: list[bool] = []
    pairs: list[tuple[int, int, bool]] = []
    starts = np.cumsum([0, *map(len, found)]).tolist()
    answer = 0

    def rows_of(n: int) -> list[tuple[Any, Any, int]]:
        """The resolved rows of the next `n` answers: (record, EdgeIds, place)."""
        nonlocal answer
        out = []
        for a in range(answer, answer + n):
            start = starts[a]
            out += [(item[0], item[1], start + i) for i, item in enumerate(found[a])
                    if item is not None]
        answer += n
        return out

    for protocol, n in zip(protocols, parts, strict=True):
        inbound = rows_of(n)
        outside = rows_of(1)
        for edge, at, edge_protocol, is_mtls, offered in secured_rows(
                kiali_order(inbound, outside, namespaces), protocol):
            for u, v in edge.hops():
                e = index.setdefault((u, v, edge_protocol), len(index))
                if e == len(principals):
                    principals.append(offered)
                    on_mtls.append(is_mtls)
                elif is_mtls and not on_mtls[e]:
                    principals[e], on_mtls[e] = offered, True
                pairs.append((at, e, is_mtls))
    table = np.array(pairs, np.int64).reshape(-1, 3)
    names: dict[str, int] = {}
    ends = np.array([names.setdefault(name, len(names)) for key in index for name in key],
                    np.int32).reshape(-1, 3)
    held_names: dict[str, int] = {"": 0}
    held = np.array([held_names.setdefault(name, len(held_names)) for pair in principals
                     for name in pair], np.int32).reshape(-1, 2)
    return Counting(digest, table[:, 0].astype(np.int32), table[:, 1].astype(np.int32),
                    table[:, 2].astype(bool), ends, list(names), held, list(held_names))


def add_up(counting: Counting, values: np.ndarray) -> Counted:
    """The sums, added in pair order (bincount adds in array order, from 0.0): the floats
    Policy.add's `+=` gives."""
    n = len(counting.ends)
    taken = values[counting.rows]
    return Counted(counting,
                   np.bincount(counting.edges, weights=taken, minlength=n),
                   np.bincount(counting.edges, weights=np.where(counting.mtls, taken, 0.0),
                               minlength=n))


def annotate(g: nx.MultiDiGraph, counted: Counted) -> None:
    """security.Policy.annotate on every edge of the graph that the rows name: isMTLS (a
    "%.0f" share) where some traffic is on mTLS, and the principals. By the md numbers of
    the graph's Layout where it has one (graph/cells.py), else edge by edge."""
    cells_counted = g.graph.get(COUNTED)
    if cells_counted is not None and len(g) == len(cells_counted.layout.nodes):
        placement = placement_of(cells_counted.layout, counted.counting)
        if placement is not None:
            annotate_by_number(cells_counted.mds, placement, counted)
            return
    annotate_by_edge(g, counted)


def mtls_shares(counted: Counted) -> tuple[list[float], list[bool]]:
    """Each edge's mTLS share in percent (0 where none is on mTLS), and whether some is."""
    positive = counted.mtls > 0
    share = np.zeros(len(counted.counting.ends))
    share[positive] = counted.mtls[positive] / counted.total[positive] * 100
    return share.tolist(), positive.tolist()


def annotate_by_edge(g: nx.MultiDiGraph, counted: Counted) -> None:
    """annotate, finding each edge in the graph."""
    counting = counted.counting
    shares, is_mtls = mtls_shares(counted)
    principals = counting.principals
    succ = g._succ  # networkx's adjacency: g.has_edge and g.edges[...] without the views
    # The names as the graph's own strings, where it has them: a dict finds its own key
    # object without comparing characters.
    own = {name: name for name in succ}
    names = [own.get(name, name) for name in counting.names]
    for e, ((u, v, protocol), (source, dest)) in enumerate(zip(
            counting.ends.tolist(), counting.held.tolist(), strict=True)):
        data = succ.get(names[u], {}).get(names[v], {}).get(names[protocol])
        if data is None:
            continue
        md = data["md"]
        if is_mtls[e]:
            md["isMTLS"] = f"{shares[e]:.0f}"
        if source:
            md["sourcePrincipal"] = principals[source]
        if dest:
            md["destPrincipal"] = principals[dest]


class Placement(NamedTuple):
    """Where a Counting's edges are among a Layout's mds: per edge its md number (-1: not
    in the graph); the md numbers of the edges with a source principal, and those
    principals (numbers into the Counting's `principals`); the same for destinations."""

    mds: np.ndarray
    source_mds: np.ndarray
    sources: np.ndarray
    dest_mds: np.ndarray
    dests: np.ndarray


def make_placement(layout: Layout, counting: Counting) -> Placement | None:
    """The Placement of a Counting's edges in a Layout's merged map; None if two of its
    edges had one md (never in a map a Layout made: then edge by edge, as before)."""
    md_of = {(node_id, target, protocol): e
             for (node_id, _, _), node_edges in zip(layout.nodes, layout.edges, strict=True)
             for (target, protocol), e, _ in node_edges}
    names = counting.names
    mds = np.array([md_of.get((names[u], names[v], names[p]), -1)
                    for u, v, p in counting.ends.tolist()], np.int32)
    placed = mds[mds >= 0]
    if len(np.unique(placed)) != len(placed):
        return None
    source, dest = counting.held[:, 0], counting.held[:, 1]
    with_source = np.flatnonzero((mds >= 0) & (source > 0))
    with_dest = np.flatnonzero((mds >= 0) & (dest > 0))
    return Placement(mds, mds[with_source], source[with_source], mds[with_dest],
                     dest[with_dest])


def annotate_by_number(mds: list[dict[str, Any]], placement: Placement,
                       counted: Counted) -> None:
    """annotate by md number, each field set for every edge in one pass that runs in C:
    an md gets isMTLS, then its principals, as edge by edge."""
    found = placement.mds >= 0
    with_mtls = np.flatnonzero(found & (counted.mtls > 0))
    shares = counted.mtls[with_mtls] / counted.total[with_mtls] * 100
    principals = counted.counting.principals.__getitem__
    md = mds.__getitem__
    for key, at, values in (
            ("isMTLS", placement.mds[with_mtls], map("{:.0f}".format, shares.tolist())),
            ("sourcePrincipal", placement.source_mds, map(principals, placement.sources.tolist())),
            ("destPrincipal", placement.dest_mds, map(principals, placement.dests.tolist()))):
        deque(map(dict.__setitem__, map(md, at.tolist()), repeat(key), values), maxlen=0)


PLACEMENTS_PER_LAYOUT = 2  # countings placed per layout: one per scope, a spare


def placement_of(layout: Layout, counting: Counting) -> Placement | None:
    """The Placement of a Counting in a Layout, made once and kept with the layout."""
    with _lock:
        found = _placements.setdefault(layout, {}).get(counting.digest, False)
    if found is not False:
        return found
    placement = make_placement(layout, counting)
    with _lock:
        by_digest = _placements.setdefault(layout, {})
        while len(by_digest) >= PLACEMENTS_PER_LAYOUT:
            del by_digest[next(iter(by_digest))]
        by_digest[counting.digest] = placement
        _made[0] += 1
    return placement


_placements: weakref.WeakKeyDictionary[Layout, dict[bytes, Placement | None]] = \
    weakref.WeakKeyDictionary()
_made = [0]  # placements made in this process: grows with every one, replaced or not
_lock = threading.Lock()


# Handed back from builds in a child process (graph/forked.py), in one pickle with the
# layouts (graph/memory.py kept_state).
memory.keep_locked("security placements", _placements, _lock, lambda: _made[0])


class Countings(memory.ByScope[Counting]):
    """The last Counting of each scope (options and metrics); the oldest dropped past
    `limit` scopes."""

    def __init__(self, limit: int = 32) -> None:
        super().__init__()
        self.limit = limit

    def get(self, scope: object, digest: bytes) -> Counting | None:
        kept = self.by_scope.get(scope)
        return kept if kept is not None and kept.digest == digest else None

    def put(self, scope: object, counting: Counting) -> None:
        with self.lock:
            self.by_scope.pop(scope, None)
            while len(self.by_scope) >= self.limit:
                self.by_scope.pop(next(iter(self.by_scope)))
            self.by_scope[scope] = counting
            self.changed += 1


COUNTINGS = Countings()
# Handed back from builds in a child process (graph/forked.py): a child then resolves no
# row at all while the keys stay the same.
memory.keep("security countings", COUNTINGS, dict)
