"""A graph/cells.py Layout's Python parts as a few arrays, one string table, and one
pickle of the values that are cheaper unpickled than made again from numbers.

A Layout holds, besides its numpy (row, cell) pairs, the merged map's shape as Python
values: each md's initial flags and destination services, the nodes with their identity
fields, every node's edges, the merge's outbound additions, each md's rate keys and
responses. At 10,000 workloads that is 120,000 mds, 15,000 nodes and 75,000 edges: some
900,000 objects and 70 MB. A worker that builds apart (graph/forked.py) keeps its layouts
between builds only to hand them to the next child, so the layout it keeps is this packed
form, about 70 objects: the lists by md and by node, the edges and the merge's additions
as int32 arrays, node ids and edge targets in one string joined with NUL; the distinct
rate-key and response shapes, the initial mds and the nodes' fields (nested tuples and
dicts of strings) pickled, in one bytes object. A child unpacks it the first time it reads
the layout (graph/cells.py Layout.__getattr__), in passes that run in C: 6 ms of CPU at
1,000 workloads, 80 ms at 10,000 (where the child no longer copies the pages of 900,000
objects it would touch). A layout made in place is never packed.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np

LISTS = ("initial", "nodes", "edges", "added", "rate_keys", "responses")
FIELD_NAMES = ("node_type", "cluster", "namespace", "workload", "app", "version", "service")
DEST_SERVICES = "destServices"
SEPARATOR = "\x00"


class Strings:
    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def id(self, name: str) -> int:
        found = self.ids.get(name)
        if found is None:
            found = self.ids[name] = len(self.ids)
        return found

    def packed(self) -> str | list[str]:
        names = list(self.ids)
        joined = SEPARATOR.join(names)
        return names if joined.count(SEPARATOR) != max(len(names) - 1, 0) else joined


def strings_of(packed: str | list[str], count: int) -> list[str]:
    if isinstance(packed, list):
        return packed
    return packed.split(SEPARATOR) if count else []


def ints(values: list[int]) -> np.ndarray:
    return np.array(values, np.int32)


def pack(layout: Any) -> dict[str, Any]:
    strings = Strings()
    sid = strings.id
    out: dict[str, Any] = {}
    # Values that cost more to make again in every build than to keep as they are (the
    # distinct rate-key and response shapes, the initial mds and the nodes' fields: flat
    # dicts and tuples of strings, which the collector does not walk) stay Python values.
    with_initial = [md for md, initial in enumerate(layout.initial) if initial]
    out["initial"] = (len(layout.initial), ints(with_initial))
    node_ids, fields, node_mds = [], [], []
    for node_id, node_fields, md in layout.nodes:
        node_ids.append(sid(node_id))
        fields.append(node_fields)
        node_mds.append(md)
    out["nodes"] = (ints(node_ids), ints(node_mds))
    counts, edges = [], []
    for node_edges in layout.edges:
        counts.append(len(node_edges))
        for (target, protocol), e, s in node_edges:
            edges.extend((sid(target), sid(protocol), e, s))
    out["edges"] = (ints(counts), ints(edges))
    out["added"] = ints([n for pair in layout.added for n in pair])
    rate_keys, rate_shapes = shared(layout.rate_keys)
    responses, response_shapes = shared(layout.responses)
    out["shapes"] = rate_keys, responses
    # Pickled, kept as one bytes object: unpickling makes them in C, faster than from
    # numbers (about 5 ms at 1,000 workloads).
    out["values"] = pickle.dumps(([layout.initial[md] for md in with_initial], fields,
                                  rate_shapes, response_shapes), pickle.HIGHEST_PROTOCOL)
    out["strings"] = strings.packed(), len(strings.ids)
    return out


def shared(values: list[Any]) -> tuple[np.ndarray, list[Any]]:
    """Values shared between mds (tuples, or None): each distinct one once, and each md's
    distinct value (-1: None)."""
    distinct: dict[int, int] = {}
    which, found_values = [], []
    for value in values:
        if value is None:
            which.append(-1)
            continue
        found = distinct.get(id(value))
        if found is None:
            found = distinct[id(value)] = len(distinct)
            found_values.append(value)
        which.append(found)
    return ints(which), [*found_values, None]


def unpack(packed: dict[str, Any]) -> dict[str, Any]:
    """The Layout's Python parts, as graph/cells.py made them."""
    names = strings_of(*packed["strings"])
    name = names.__getitem__
    initial_mds, fields, rate_shapes, response_shapes = pickle.loads(packed["values"])
    n_mds, with_initial = packed["initial"]
    initial: list[dict[str, Any] | None] = [None] * n_mds
    for md, found in zip(with_initial.tolist(), initial_mds, strict=True):
        initial[md] = found
    node_ids, node_mds = packed["nodes"]
    nodes = list(zip(map(name, node_ids.tolist()), fields, node_mds.tolist(), strict=True))
    counts, flat = packed["edges"]
    flat = flat.reshape(-1, 4)
    all_edges = list(zip(zip(map(name, flat[:, 0].tolist()), map(name, flat[:, 1].tolist()),
                             strict=True), flat[:, 2].tolist(), flat[:, 3].tolist(),
                         strict=True))
    ends = np.cumsum(counts).tolist()
    edges = list(map(all_edges.__getitem__, map(slice, [0, *ends[:-1]], ends)))
    added = list(zip(*[iter(packed["added"].tolist())] * 2, strict=True))
    rate_keys, responses = packed["shapes"]
    return {"initial": initial, "nodes": nodes, "edges": edges, "added": added,
            "rate_keys": unshared(rate_keys, rate_shapes),
            "responses": unshared(responses, response_shapes)}


def unshared(which: np.ndarray, distinct: list[Any]) -> list[Any]:
    return list(map(distinct.__getitem__, which.tolist()))
