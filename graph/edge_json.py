"""Edges' JSON pieces (graph/cytoscape_json.py writes the whole graph).

An edge's element is its ids and ends (made once per edge and kept as arrays,
graph/edge_ends.py), its health status, the appenders' fields and its traffic: from the
Layout's sums where graph/traffic_columns.py has it, else json_pieces.edge_traffic_text
(tests/test_cytoscape_json.py and tests/test_traffic_columns.py compare the bytes with the
dict writer's).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from graph import memory
from graph.cytoscape import APPENDED_EDGE_FIELDS
from graph.edge_ends import EdgeEnds
from graph.health import NA, STATUSES
from graph.json_pieces import PIECES, Element, Piece, edge_traffic_text, shape_of

TrafficTexts = dict[int, tuple[bytes, dict[str, Any]]]  # traffic_columns.traffic_texts

ENDS = EdgeEnds()


def value_piece(name: str, value: Any) -> Piece:
    if type(value) is str or type(value) is bool or value is None:
        return PIECES.get(name, value)
    return PIECES.make(name, orjson.dumps(value))


def edge_element(edge_id: str, id_piece: Piece, source: Piece, target: Piece, protocol: str,
                 d: Mapping[str, Any], extras: bool, edge_health: bool,
                 texts: TrafficTexts | None = None) -> Element:
    """An edge's element, from its id and first pieces (graph/edge_ends.py); its traffic
    from `texts` (traffic_columns) where it is there."""
    md = d["md"]
    pieces = [id_piece, source, target]
    names = ["id", "source", "target"]
    if extras:
        status = md.get("healthStatus", NA)
        pieces.append(HEALTH_PIECES.get(status) or PIECES.get("healthStatus", status))
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


def edge_elements(ends: list[tuple[str, str, str, Mapping[str, Any]]], extras: bool,
                  edge_health: bool, texts: TrafficTexts | None) -> list[Element]:
    """edge_element of every edge (source id, target id, protocol, data).

    (Written as columns instead, each field read for every edge in one C loop and the
    elements zipped per shape of fields, it took as long: 16.0 against 16.7 ms at 1,000
    workloads. What an edge costs is its allocations and reads, not the interpreter.)"""
    found = ENDS.ends([e[0] for e in ends], [e[1] for e in ends], [e[2] for e in ends])
    return [edge_element(*e, extras, edge_health, texts)
            for e in zip(*found, [e[2] for e in ends], [e[3] for e in ends], strict=True)]


HEALTH_PIECES = {status: PIECES.get("healthStatus", status) for status in STATUSES}

# Handed back from builds in a child process (graph/forked.py), packed (graph/edge_ends.py).
memory.keep("edge ends", ENDS, lambda: None)
