"""Edges' traffic JSON from a Layout's sums, as columns (graph/cells.py).

graph/json_pieces.py's `edge_traffic_text` writes an edge's {"protocol", "rates",
"responses"} by one %-format of its shape, gathering some twenty values from its md dicts
one Python operation at a time. When a Layout counted the map, those values are the cells'
sums, and where each edge's sit among them is fixed by the layout: worked out once per
layout (`EdgeColumns`), a build then gathers every edge's rates, percentages and response
shares with a few numpy operations over all edges at once, and each edge's text is one
%-format of a slice of one list. The operations are those edge_traffic_text makes, value
for value (the same float divisions and left-to-right additions, the same decimals), so
the text is the same, byte for byte; and the %-formats are its own (json_pieces.TEMPLATES).

Only an edge whose md the layout filled and nothing changed since is written so: the
graph's edges are matched to the layout's mds by identity, and the others (a service graph
reduced from the map, edges an appender added, another dialect's) go through
edge_traffic_text. A build with a NaN among the sums goes through it whole.
"""

from __future__ import annotations

import threading
import weakref
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np

from graph import memory
from graph.cells import make_responses
from graph.cytoscape import EDGE_SHAPES, edge_shape
from graph.json_pieces import (
    EDGE_HEADS,
    TEMPLATES,
    compiled,
    edge_head,
    element_writer,
    rate_precisions,
)

if TYPE_CHECKING:
    from graph.cells import Counted, Layout

RATE, FLAG, HOST = 0, 2, 3  # graph/cells.py's kinds of slot


class EdgeColumns:
    """Where one Layout's edges find their values among the cells' sums, per protocol
    (`Group`); and the edges' mds by number."""

    def __init__(self, layout: Layout) -> None:
        from graph.cells import FLAG as CELL_FLAG
        from graph.cells import HOST as CELL_HOST
        from graph.cells import RATE as CELL_RATE

        assert (CELL_RATE, CELL_FLAG, CELL_HOST) == (RATE, FLAG, HOST)
        n = len(layout.initial)
        rate_at = starts_of([len(keys) for keys in layout.rate_keys])
        flag_at = starts_of([sum(len(r[2]) for r in shape) if shape else 0
                             for shape in layout.responses])
        host_at = starts_of([sum(len(r[3]) for r in shape) if shape else 0
                             for shape in layout.responses])
        rate_cells = layout.fill[RATE]
        by_protocol: dict[str, list[tuple[int, int]]] = {}
        for node_edges in layout.edges:
            for (_, protocol), e, s in node_edges:
                by_protocol.setdefault(protocol, []).append((e, s))
        self.groups = [Group(protocol, edges, layout, rate_at, flag_at, host_at, rate_cells)
                       for protocol, edges in by_protocol.items()]
        self.n_mds = n


def starts_of(counts: list[int]) -> list[int]:
    """Each item's first position when items of these counts are laid end to end."""
    out = [0] * (len(counts) + 1)
    total = 0
    for i, c in enumerate(counts):
        out[i] = total
        total += c
    out[-1] = total
    return out


class Group:
    """One protocol's edges of a layout: for each, where its summed rates, error rates and
    response flags and hosts are among the sums (-1: absent, read as 0.0), its source's md,
    and its responses' part of the %-format key."""

    def __init__(self, protocol: str, edges: list[tuple[int, int]], layout: Layout,
                 rate_at: list[int], flag_at: list[int], host_at: list[int],
                 rate_cells: np.ndarray) -> None:
        shape = EDGE_SHAPES.get(protocol) or edge_shape(protocol)
        self.protocol, self.shape = protocol, shape
        self.mds = np.array([e for e, _ in edges], np.int32)
        self.sources = np.array([s for _, s in edges], np.int32)
        rate_cells_l = rate_cells.tolist()
        summed: list[list[int]] = []
        errors: list[list[int]] = []
        tails: list[tuple[Any, ...]] = []
        response_count: list[int] = []
        response_index: list[int] = []  # into the flag sums, then the host sums
        n_flags = len(layout.fill[FLAG])
        for e, _ in edges:
            keys = layout.rate_keys[e]
            at = {key: rate_cells_l[rate_at[e] + i] for i, key in enumerate(keys)}
            summed.append([at.get(name, -1) for name in shape.summed])
            errors.append([at.get(name, -1) for name in shape.errors])
            tail: list[Any] = []
            count = 0
            flag, host = flag_at[e], host_at[e]
            for responses, code, flag_names, host_names in layout.responses[e] or ():
                if responses == shape.responses:
                    tail += (code, tuple(flag_names), tuple(host_names))
                    response_index += [*range(flag, flag + len(flag_names)),
                                       *range(n_flags + host, n_flags + host + len(host_names))]
                    count += len(flag_names) + len(host_names)
                flag += len(flag_names)
                host += len(host_names)
            tails.append(tuple(tail))
            response_count.append(count)
        width = len(shape.summed)
        self.summed = np.array(summed, np.int32).reshape(len(edges), width)
        self.errors = np.array(errors, np.int32).reshape(len(edges), len(shape.errors))
        self.tails = tails
        self.response_count = np.array(response_count, np.int32)
        self.responses = np.array(response_index, np.int32)
        # Which response values are each edge's: edge number per value.
        self.response_edge = np.repeat(np.arange(len(edges), dtype=np.int32), self.response_count)
        # The %-format of each edge's last key (None: not made yet), and which rates and
        # percentages that key had (its `head`; -1: none made).
        self.made: tuple[np.ndarray, list[bytes]] = (
            np.full(len(edges), -1, np.int64), [b""] * len(edges))


def group_texts(group: Group, sums: np.ndarray, responses: np.ndarray,
                mds: list[dict[str, Any]]) -> list[bytes]:
    """Each edge's traffic text."""
    shape = group.shape
    n = len(group.mds)
    rates = sums[group.summed]  # sums ends with a 0.0: -1 reads it
    total = sums[group.summed[:, 0]] if shape.summed[:1] == (group.protocol,) else \
        np.fromiter(map(dict.get, [mds[e] for e in group.mds.tolist()],
                        repeat(group.protocol), repeat(0.0)), np.float64, n)
    busy = ~(total <= 0)  # an edge without traffic is written {"protocol"}: no arguments
    present = (rates > 0) & busy[:, None]
    precision = np.where(rates >= 1, 2, rate_precisions(rates.ravel()).reshape(rates.shape))
    # percentErr and percentReq: only for protocols with error rates (not TCP).
    if shape.errors:
        errors = np.zeros(n)
        for j in range(len(shape.errors)):
            errors = errors + sums[group.errors[:, j]]
        with np.errstate(divide="ignore", invalid="ignore"):
            percent_err = errors / total * 100
            out = np.fromiter(map(dict.get, [mds[s] for s in group.sources.tolist()],
                                  repeat(shape.out_rate), repeat(0.0)), np.float64, n)
            percent_req = np.where(out != 0, total / out * 100, 0.0)
        has_err, has_req = (errors > 0) & busy, (percent_req > 0) & busy
    else:
        percent_err = percent_req = np.zeros(n)
        has_err = has_req = np.zeros(n, bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = responses[group.responses]
        shares = raw / total[group.response_edge] * 100
    response_count = np.where(busy, group.response_count, 0)
    shares = shares[busy[group.response_edge]]
    # Each edge's arguments, laid end to end, all floats: its rates present, then
    # percentErr and percentReq if present, then the response shares. (The rates' decimals
    # are in its %-format: `head`.)
    n_rates = present.sum(axis=1)
    counts = n_rates + has_err + has_req + response_count
    start = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=start[1:])
    args = np.empty(int(start[-1]))
    rate_at = start[:-1, None] + (np.cumsum(present, axis=1) - present)
    args[rate_at[present]] = rates[present]
    after = start[:-1] + n_rates
    args[after[has_err]] = percent_err[has_err]
    args[(after + has_err)[has_req]] = percent_req[has_req]
    first = np.repeat(after + has_err + has_req, response_count)
    within = np.arange(len(shares)) - np.repeat(
        np.cumsum(response_count) - response_count, response_count)
    args[first + within] = shares
    # Which rates are present with how many decimals (3 bits each), percentErr, percentReq.
    heads = (np.where(present, precision, 0) << (3 * np.arange(present.shape[1]))).sum(axis=1) \
        + (has_err.astype(np.int64) << ERR_BIT) + (has_req.astype(np.int64) << REQ_BIT)
    return format_edges(group, args, start, np.where(busy, heads, IDLE))


ERR_BIT, REQ_BIT = 20, 21  # a head's bits for percentErr and percentReq
IDLE = -2  # the head of an edge without traffic (-1: none made yet)


def edge_key(group: Group, i: int, head: int) -> tuple[Any, ...]:
    """json_pieces.make_template's key of edge i with this head: each rate present as
    (name, decimals)."""
    shape = group.shape
    rates = [(name, head >> (3 * j) & 7) for j, name in enumerate(shape.summed)
             if head >> (3 * j) & 7]
    return (group.protocol, *rates, None,
            *((shape.percent_err,) if head >> ERR_BIT & 1 else ()),
            *((shape.percent_req,) if head >> REQ_BIT & 1 else ()), None, *group.tails[i])


def format_edges(group: Group, flat: np.ndarray, start: np.ndarray,
                 heads: np.ndarray) -> list[bytes]:
    """Each edge's "traffic" piece: its %-format applied to its arguments (a slice of
    `flat`), by graph/rate_text.pyx; the format made again only for an edge whose head
    changed."""
    # Builds in threads of one process share the group: each reads one (heads, formats)
    # pair and replaces it whole.
    last_heads, formats = group.made
    changed = np.flatnonzero(heads != last_heads).tolist()
    if changed:
        formats = list(formats)
        idle = EDGE_HEADS.get(group.protocol) or edge_head(group.protocol)
        for i, head in zip(changed, heads[changed].tolist(), strict=True):
            if head == IDLE:
                formats[i] = idle.replace(b"%", b"%%")
            else:
                key = edge_key(group, i, head)
                formats[i] = TEMPLATES.found.get(key) or TEMPLATES(key)
        group.made = (heads, formats)
    return compiled("rate_text").format_rows(formats, flat, start, b'"traffic":')


def traffic_texts(counted: Counted) -> Any:
    """The traffic piece (`"traffic":{...}`) of every edge md that the layout filled, by
    the md (graph/element_writer.pyx's MdPieces: by identity), with the source md its
    percentReq was read from (the piece is the edge's only while that is the edge's source
    md). None on the layout's first map (the columns are made on its second: a mesh whose
    keys change every tick pays nothing more) and when the sums hold a NaN:
    edge_traffic_text then writes every edge, from mds given their responses first
    (cells.make_responses)."""
    layout, flag_sums, mds, sums = counted[:4]
    columns = columns_of(layout)
    if columns is None or np.isnan(sums).any():
        make_responses(counted)
        return None
    rates = np.append(sums, 0.0)  # -1 reads this 0.0: a rate the md has not
    responses = np.concatenate([flag_sums, sums[layout.fill[HOST]]])
    edge_mds: list[dict[str, Any]] = []
    pieces: list[bytes] = []
    sources: list[dict[str, Any]] = []
    for group in columns.groups:
        pieces += group_texts(group, rates, responses, mds)
        edge_mds += map(mds.__getitem__, group.mds.tolist())
        sources += map(mds.__getitem__, group.sources.tolist())
    return element_writer().MdPieces(edge_mds, pieces, sources)


# Per Layout its EdgeColumns, handed back from builds in a child process with the layouts
# (graph/memory.py kept_state: one pickle, so the keys come back as the layouts restored).
_columns: weakref.WeakKeyDictionary[Layout, EdgeColumns | bool] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def columns_of(layout: Layout) -> EdgeColumns | None:
    """The layout's EdgeColumns; None the first time it is seen."""
    with _lock:
        found = _columns.get(layout)
        if found is None:
            _columns[layout] = False
            return None
    if found is False:
        found = EdgeColumns(layout)
        with _lock:
            _columns[layout] = found
    assert isinstance(found, EdgeColumns)
    return found


memory.keep_locked("traffic columns", _columns, _lock,
                   lambda: len(_columns) + sum(found is not False for found in _columns.values()))
