"""Edges' JSON pieces (graph/cytoscape_json.py writes the whole graph).

An edge's element is its ids and ends (made once per edge and kept), its health status,
the appenders' fields and its traffic. `edge_element` writes one edge from its md;
`edge_elements` writes all of a graph's edges as columns (each field read for every edge
in one C loop, elements zipped per shape of fields), with the traffic from the Layout's
sums where graph/traffic_columns.py has it. The bytes are the same either way
(tests/test_cytoscape_json.py against the dict writer).
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from itertools import repeat
from typing import Any

import orjson

from graph import ids, memory
from graph.cytoscape import APPENDED_EDGE_FIELDS
from graph.health import NA, STATUSES
from graph.json_pieces import PIECES, Element, Piece, edge_traffic_text, shape_of

TrafficTexts = dict[int, tuple[bytes, dict[str, Any]]]  # traffic_columns.traffic_texts

EDGE_ENDS: dict[tuple[str, str, str], tuple[str, tuple[Piece, ...]]] = {}


def edge_ends(source: str, target: str, protocol: str) -> tuple[str, tuple[Piece, ...]]:
    key = (source, target, protocol)
    found = EDGE_ENDS.get(key)
    if found is None:
        edge_id = ids.edge_hash(source, target, protocol)
        found = (edge_id, (PIECES.get("id", edge_id), PIECES.get("source", source),
                           PIECES.get("target", target)))
        if len(EDGE_ENDS) >= 1 << 18:
            EDGE_ENDS.clear()
        EDGE_ENDS[key] = found
    return found


def value_piece(name: str, value: Any) -> Piece:
    if type(value) is str or type(value) is bool or value is None:
        return PIECES.get(name, value)
    return PIECES.make(name, orjson.dumps(value))


def edge_element(source: str, target: str, protocol: str, d: Mapping[str, Any], extras: bool,
                 edge_health: bool, texts: TrafficTexts | None = None) -> Element:
    """An edge's element; its traffic from `texts` (traffic_columns) where it is there."""
    md = d["md"]
    edge_id, ends = edge_ends(source, target, protocol)
    pieces = list(ends)
    names = ["id", "source", "target"]
    if extras:
        pieces.append(PIECES.get("healthStatus", md.get("healthStatus", NA)))
        names.append("healthStatus")
        if "sources" in md:  # only in a graph merged from several data sources
            pieces.append(PIECES.make("sources", orjson.dumps(md["sources"])))
            names.append("sources")
    elif edge_health:
        health = md.get("healthStatus", NA)
        if health != NA:
            pieces.append(PIECES.get("healthStatus", health))
            names.append("healthStatus")
    for key in APPENDED_EDGE_FIELDS:
        if key in md:
            pieces.append(value_piece(key, md[key]))
            names.append(key)
    found = texts.get(id(md)) if texts else None
    pieces.append(b'"traffic":' + (found[0] if found is not None and found[1] is d["source_md"]
                                   else edge_traffic_text(protocol, md, d["source_md"])))
    names.append("traffic")
    return Element(edge_id, tuple(pieces), shape_of(names))


MISSING = object()
TRAFFIC = b'"traffic":'


def edge_elements(ends: list[tuple[str, str, str, Mapping[str, Any]]], extras: bool,
                  edge_health: bool, texts: TrafficTexts | None) -> list[Element]:
    """edge_element of every edge (source id, target id, protocol, data), as columns: each
    field read for every edge in one C loop over the mds, the edges grouped by which fields
    they have (a few shapes in a graph), and each group's pieces zipped into elements."""
    n = len(ends)
    mds = [d["md"] for _, _, _, d in ends]
    if extras and any(map(operator.contains, mds, repeat("sources"))):
        # A graph merged from several data sources: rare, and written edge by edge.
        return [edge_element(u, v, k, d, extras, edge_health, texts) for u, v, k, d in ends]
    found = [EDGE_ENDS.get((u, v, k)) or edge_ends(u, v, k) for u, v, k, _ in ends]
    columns: list[list[Any]] = [[f[1][0] for f in found], [f[1][1] for f in found],
                                [f[1][2] for f in found]]
    names: list[str] = ["id", "source", "target"]
    optional: list[tuple[str, list[Any]]] = []  # fields some edges lack: MISSING there
    if extras or edge_health:
        statuses = list(map(dict.get, mds, repeat("healthStatus"), repeat(NA)))  # type: ignore[arg-type]
        pieces = [HEALTH_PIECES.get(status) or PIECES.get("healthStatus", status)
                  for status in statuses]
        if extras:
            columns.append(pieces)
            names.append("healthStatus")
        else:
            optional.append(("healthStatus", [MISSING if status == NA else piece for
                                              status, piece in zip(statuses, pieces,
                                                                   strict=True)]))
    for key in APPENDED_EDGE_FIELDS:
        values = list(map(dict.get, mds, repeat(key), repeat(MISSING)))  # type: ignore[arg-type]
        if values.count(MISSING) != n:
            optional.append((key, [v if v is MISSING else value_piece(key, v) for v in values]))
    columns.append(traffic_pieces(ends, mds, texts))
    edge_ids = [f[0] for f in found]
    if not optional:
        shape = shape_of([*names, "traffic"])
        return list(map(tuple.__new__, repeat(Element), zip(  # type: ignore[call-overload]
            edge_ids, zip(*columns, strict=True), repeat(shape), repeat(None), strict=False)))
    return shaped_elements(edge_ids, columns, names, optional)


def shaped_elements(edge_ids: list[str], columns: list[list[Any]], names: list[str],
                    optional: list[tuple[str, list[Any]]]) -> list[Element]:
    """The elements of edges with optional fields: grouped by the fields each has."""
    n = len(edge_ids)
    has = [[v is not MISSING for v in values] for _, values in optional]
    kinds = list(zip(*has, strict=True)) if has else [()] * n
    groups: dict[tuple[bool, ...], list[int]] = {}
    for i, kind in enumerate(kinds):
        groups.setdefault(kind, []).append(i)
    out: list[Element] = [None] * n  # type: ignore[list-item]
    traffic = columns[-1]
    for kind, rows in groups.items():
        picked = [name for (name, _), on in zip(optional, kind, strict=True) if on]
        shape = shape_of([*names, *picked, "traffic"])
        cols = [*columns[:-1], *(values for (_, values), on in zip(optional, kind, strict=True)
                                 if on), traffic]
        chosen = [list(map(col.__getitem__, rows)) for col in cols]
        made = map(tuple.__new__, repeat(Element), zip(  # type: ignore[call-overload]
            map(edge_ids.__getitem__, rows), zip(*chosen, strict=True), repeat(shape),
            repeat(None), strict=False))
        for i, element in zip(rows, made, strict=True):
            out[i] = element
    return out


def traffic_pieces(ends: list[tuple[str, str, str, Mapping[str, Any]]],
                   mds: list[Mapping[str, Any]], texts: TrafficTexts | None) -> list[bytes]:
    """Each edge's "traffic" piece: from `texts` where it is there for the edge's source md,
    else edge_traffic_text."""
    found = list(map(texts.get, map(id, mds))) if texts else [None] * len(mds)
    return [TRAFFIC + (f[0] if f is not None and f[1] is d["source_md"]
                       else edge_traffic_text(k, md, d["source_md"]))
            for (_, _, k, d), md, f in zip(ends, mds, found, strict=True)]


HEALTH_PIECES = {status: PIECES.get("healthStatus", status) for status in STATUSES}

# Handed back from builds in a child process (graph/forked.py), as json_pieces' tables.
memory.keep_dicts("edge ends", EDGE_ENDS)
