"""Edges' JSON pieces (graph/cytoscape_json.py writes the whole graph).

An edge's element is its ids and ends (made once per edge and kept), its health status,
the appenders' fields and its traffic: from the Layout's sums where graph/traffic_columns.py
has it, else json_pieces.edge_traffic_text (tests/test_cytoscape_json.py and
tests/test_traffic_columns.py compare the bytes with the dict writer's).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from graph import ids, memory
from graph.cytoscape import APPENDED_EDGE_FIELDS
from graph.health import NA, STATUSES
from graph.json_pieces import (
    PIECES,
    Element,
    Piece,
    add_crcs,
    crcs_of,
    edge_traffic_text,
    shape_of,
)

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
    ENDS.unpack()
    return [edge_element(u, v, k, d, extras, edge_health, texts) for u, v, k, d in ends]


HEALTH_PIECES = {status: PIECES.get("healthStatus", status) for status in STATUSES}

def ends_crcs() -> dict[Piece, int]:
    """The CRCs of the pieces the edge ends hold."""
    return crcs_of([p for _, pieces in EDGE_ENDS.values() for p in pieces])


# Handed back from builds in a child process (graph/forked.py), packed as the JSON facts.
ENDS = memory.keep_packed("edge ends", EDGE_ENDS, extra=ends_crcs, unpacked=add_crcs)
