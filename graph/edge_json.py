"""Edges' JSON pieces (graph/cytoscape_json.py writes the whole graph).

An edge's element is its ids and ends (made once per edge and kept as arrays,
graph/edge_ends.py), its health status, the appenders' fields and its traffic: from the
Layout's sums where graph/traffic_columns.py has it, else json_pieces.edge_traffic_text
(tests/test_cytoscape_json.py and tests/test_traffic_columns.py compare the bytes with the
dict writer's). The loop over the edges is graph/element_writer.pyx's edge_elements; what
it hands back to Python (a piece not kept, an edge's traffic the columns did not write) is
made here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from graph import memory
from graph.cytoscape import APPENDED_EDGE_FIELDS, edge_order
from graph.edge_ends import EdgeEnds
from graph.health import NA, STATUSES
from graph.json_pieces import (
    PIECES,
    Element,
    Piece,
    edge_traffic_text,
    element_writer,
    shape_of,
)

TrafficTexts = Any  # traffic_columns.traffic_texts: element_writer.MdPieces

ENDS = EdgeEnds()


def value_piece(name: str, value: Any) -> Piece:
    if type(value) is str or type(value) is bool or value is None:
        return PIECES.get(name, value)
    return PIECES.make(name, orjson.dumps(value))


def edge_elements(sources: list[str], targets: list[str], protocols: list[str],
                  datas: list[Mapping[str, Any]], extras: bool, edge_health: bool,
                  texts: TrafficTexts | None) -> tuple[list[Element], Sequence[int]]:
    """The element of every edge (its source and target JSON ids, protocol and data: one
    list each), sorted as Kiali sorts them (cytoscape.edge_order), written by the compiled
    loop (graph/element_writer.pyx's edge_elements says what goes in); and the order (the
    edges' positions, as given, in the elements' order)."""
    found = ENDS.ends(sources, targets, protocols)
    order = edge_order.positions(tuple(found.ids),
                                 lambda: list(zip(sources, targets, protocols, strict=True)))
    writer = element_writer()
    return writer.edge_elements(
        FIELDS[0] if FIELDS else edge_fields(writer), found.ids, found.id_pieces,
        found.sources, found.targets, protocols, datas, order, extras, edge_health,
        texts), order


def field_names(mask: int) -> tuple[str, ...]:
    """The names of an edge's fields present by element_writer's mask: bit 0 healthStatus,
    1 sources, 2 on each of APPENDED_EDGE_FIELDS."""
    names = ["id", "source", "target"]
    names += [name for bit, name in ((1, "healthStatus"), (2, "sources")) if mask & bit]
    names += [key for j, key in enumerate(APPENDED_EDGE_FIELDS) if mask & 4 << j]
    return shape_of([*names, "traffic"])


def sources_piece(md: Mapping[str, Any]) -> Piece:
    return PIECES.make("sources", orjson.dumps(md["sources"]))


def traffic_piece(protocol: str, md: Mapping[str, Any],
                  source_md: Mapping[str, Any] | None) -> Piece:
    return b'"traffic":' + edge_traffic_text(protocol, md, source_md)


HEALTH_PIECES = {status: PIECES.get("healthStatus", status) for status in STATUSES}

# Handed back from builds in a child process (graph/forked.py), packed (graph/edge_ends.py).
memory.keep("edge ends", ENDS, lambda: None)


FIELDS: list[Any] = []  # element_writer's EdgeFields, made on first use


def edge_fields(writer: Any) -> Any:
    FIELDS.append(writer.EdgeFields(
        Element, HEALTH_PIECES, PIECES.values, APPENDED_EDGE_FIELDS, NA, field_names,
        lambda status: PIECES.get("healthStatus", status), value_piece, sources_piece,
        traffic_piece))
    return FIELDS[0]
