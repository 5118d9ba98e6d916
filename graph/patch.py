"""Changed elements as patches: only the data fields that changed, not the whole element.

At 10,000 workloads every element's rates change on every refresh, so a delta of whole
elements is as big as the graph. Most of an element never changes (its ids, names, ends,
principals); a patch carries the element's id and the fields whose value changed, and
`unset` names the fields that are gone:

    >>> old = {"data": {"id": "e", "source": "a", "target": "b", "rate": "1.00", "x": 1}}
    >>> new = {"data": {"id": "e", "source": "a", "target": "b", "rate": "2.00"}}
    >>> patch(field_prints(old), "edges", new)
    {'group': 'edges', 'data': {'id': 'e', 'rate': '2.00'}, 'unset': ['x']}

As with whole elements (graph/delta.py), the last graph is not kept to compare with: each
element is remembered by a CRC-32 of each of its fields' JSON (`FieldPrints`), a few bytes a
field. A node's `position` counts as a field, sent beside `data` when it changed.
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson

from graph.cytoscape_json import Written
from graph.json_pieces import PIECES, SHAPES, Element, piece_crc

POSITION = "@position"  # the key a node's position is printed under
# An element's field names and a CRC-32 of each field's JSON, in the same order.
Prints = tuple[tuple[str, ...], tuple[int, ...]]
FieldPrints = dict[str, Prints]



def crc(value: Any) -> int:
    return zlib.crc32(value.encode() if type(value) is str else orjson.dumps(value))


def field_prints(element: dict[str, Any]) -> Prints:
    data = element["data"]
    names = tuple(data)
    values = [crc(value) for value in data.values()]
    if "position" in element:
        names += (POSITION,)
        values.append(crc(element["position"]))
    shape = SHAPES.setdefault(names, names)
    return shape, tuple(values)


def graph_prints(graph: dict[str, Any], changed: set[str] | None = None,
                 before: FieldPrints | None = None) -> FieldPrints:
    """The field prints of every element of `graph`; those not in `changed` (ids) are taken
    from `before` when it has them (their JSON did not change, nor did their fields)."""
    out: FieldPrints = {}
    for group in ("nodes", "edges"):
        for element in graph["elements"].get(group, []):
            element_id = element["data"]["id"]
            kept = None if before is None or changed is None or element_id in changed \
                else before.get(element_id)
            out[element_id] = kept if kept is not None else field_prints(element)
    return out


def patch(before: Prints, group: str, element: dict[str, Any],
          after: Prints | None = None) -> dict[str, Any]:
    """`element` (printed as `after`, when known) as a patch of the element printed as
    `before`: its id, and each field whose value differs (or is new); `unset`: the fields it
    no longer has."""
    names, values = after if after is not None else field_prints(element)
    data = element["data"]
    fresh = {"id": data["id"]}
    out: dict[str, Any] = {"group": group, "data": fresh}
    if names is before[0]:  # the same fields (shapes are shared): compare them in order
        olds: Any = before[1]
        changed = [key for key, new, old in zip(names, values, olds, strict=True) if new != old]
    else:
        old = dict(zip(*before, strict=True))
        changed = [key for key, new in zip(names, values, strict=True) if old.get(key) != new]
        gone = [key for key in before[0] if key != POSITION and key not in data]
        if gone:
            out["unset"] = gone
    for key in changed:
        if key == POSITION:
            out["position"] = element["position"]
        elif key != "id":
            fresh[key] = data[key]
    return out


def element_prints(element: Element) -> Prints:
    """field_prints of an element written as pieces (graph/cytoscape_json.py)."""
    names = element.names
    known = PIECES.crcs.get  # most pieces are kept ones, their CRC known
    values = [known(piece) or piece_crc(piece) for piece in element.pieces]
    if element.position is None:
        return names, tuple(values)
    names += (POSITION,)
    values.append(zlib.crc32(element.position))
    return SHAPES.setdefault(names, names), tuple(values)


def written_prints(written: Written, changed: set[str] | None = None,
                   before: FieldPrints | None = None) -> FieldPrints:
    """graph_prints of a written graph."""
    out: FieldPrints = {}
    for _, elements in written.groups():
        for element in elements:
            kept = None if before is None or changed is None or element.id in changed \
                else before.get(element.id)
            out[element.id] = kept if kept is not None else element_prints(element)
    return out


def patch_text(before: Prints, group: str, element: Element,
               after: Prints | None = None) -> bytes:
    """patch()'s JSON, of an element written as pieces."""
    names, values = after if after is not None else element_prints(element)
    pieces = element.pieces
    fresh = [pieces[0]]  # the id
    position = b""
    if names is before[0]:  # the same fields (shapes are shared): compare them in order
        olds: Any = before[1]
        unset = b""
        changed = [i for i, (new, old) in enumerate(zip(values, olds, strict=True))
                   if new != old]
    else:
        old = dict(zip(*before, strict=True))
        changed = [i for i, (key, new) in enumerate(zip(names, values, strict=True))
                   if old.get(key) != new]
        present = set(names)
        gone = [key for key in before[0] if key != POSITION and key not in present]
        unset = b',"unset":' + orjson.dumps(gone) if gone else b""
    for i in changed:
        key = names[i]
        if key == POSITION:
            position = b',"position":' + (element.position or b"null")
        elif key != "id":
            fresh.append(pieces[i])
    return (b'{"group":"' + group.encode() + b'","data":{' + b",".join(fresh) + b"}" + unset
            + position + b"}")


def to_json(prints: FieldPrints) -> dict[str, Any]:
    """A form orjson writes and reads back (for Redis): shapes listed once, then per element
    its shape's index followed by its CRCs."""
    index: dict[tuple[str, ...], int] = {}
    rows = {}
    for element_id, (shape, values) in prints.items():
        at = index.setdefault(shape, len(index))
        rows[element_id] = [at, *values]
    return {"shapes": [list(shape) for shape in index], "rows": rows}


def from_json(stored: dict[str, Any]) -> FieldPrints:
    shapes = [tuple(shape) for shape in stored["shapes"]]
    shapes = [SHAPES.setdefault(shape, shape) for shape in shapes]
    return {element_id: (shapes[row[0]], tuple(row[1:]))
            for element_id, row in stored["rows"].items()}
