"""An element's JSON as pieces, one per field (`"name":<value>`), and the rates' text.

Most of a piece never changes while a scope is live: a node's ids, names and label, an
edge's ids and ends, a health status, a principal. Those are made once and kept (`Pieces`,
each with its CRC-32 as graph/patch.py prints a field). Per build only the rates are
formatted, with the float formatting graph/cytoscape.py's dict writer used (`%.2f`, `%.1f`:
the same C formatting as `format()`): an edge's traffic by one %-format of its shape (the
rates it has, its codes, flags and hosts), made once and kept (`Templates`). The loops over
every element (formats applied, mds read, elements made) are compiled:
graph/element_writer.pyx, graph/rate_text.pyx and graph/column_reads.pyx, required
(`make setup` builds them).
"""

from __future__ import annotations

import importlib
import threading
import zlib
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import numpy as np
import orjson

from graph import memory, traffic
from graph.cytoscape import EDGE_SHAPES, NODE_RATES, edge_shape

Piece = bytes  # one field of an element's data: b'"name":<JSON value>'


class Pieces:
    """Pieces made once and kept in this process (a live mesh names the same nodes, edges,
    statuses and principals tick after tick), with each one's CRC-32 as graph/patch.py
    prints it. Not handed back from builds apart (see the end of this module). Bounded:
    cleared when it grows past `size` (a mesh whose names keep changing)."""

    def __init__(self, size: int = 1 << 19) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.values: dict[tuple[str, Any], Piece] = {}
        self.crcs: dict[bytes, int] = {}

    def get(self, name: str, value: Any) -> Piece:
        """The piece of a str, bool or None value (hashable, and JSON as itself)."""
        found = self.values.get((name, value))
        if found is None:
            found = self.make(name, orjson.dumps(value), value, kept=True)
            with self.lock:
                if len(self.values) >= self.size:
                    self.values.clear()
                    self.crcs.clear()
                self.values[(name, value)] = found
        return found

    def make(self, name: str, text: bytes, value: Any = None, kept: bool = False) -> Piece:
        """The piece of a value's JSON `text`; its CRC is remembered only when the piece is
        `kept` (a piece made afresh every build would grow `crcs` without end)."""
        piece = b'"' + name.encode() + b'":' + text
        if kept:
            crc = zlib.crc32(value.encode()) if type(value) is str else zlib.crc32(text)
            with self.lock:
                self.crcs[piece] = crc
        return piece


PIECES = Pieces()


def piece_crc(piece: Piece) -> int:
    """The CRC-32 graph/patch.py keeps of a field: of a str value's text, else of its JSON."""
    found = PIECES.crcs.get(piece)
    if found is not None:
        return found
    text = piece[piece.index(b'":') + 2:]
    if text[:1] == b'"':
        text = text[1:-1] if b"\\" not in text else orjson.loads(text).encode()
    return zlib.crc32(text)


# One tuple of field names per shape of element (a graph has a few dozen shapes, not one
# per element), shared with graph/patch.py's prints.
SHAPES: dict[tuple[str, ...], tuple[str, ...]] = {}


def shape_of(names: list[str]) -> tuple[str, ...]:
    found = tuple(names)
    return SHAPES.setdefault(found, found)


class Element(NamedTuple):
    """One node or edge: its JSON id, its data's pieces in order and their names, and a
    node's position's JSON (big graphs, graph/layout.py)."""

    id: str
    pieces: tuple[Piece, ...]
    names: tuple[str, ...]
    position: bytes | None = None

    def text(self) -> bytes:
        """The element's JSON: {"data": {...}, "position": {...}}."""
        data = b'{"data":{' + b",".join(self.pieces)
        if self.position is None:
            return data + b"}}"
        return data + b'},"position":' + self.position + b"}"


def compiled(name: str) -> Any:
    """graph/<name>.pyx (element_writer, rate_text, column_reads: the JSON writer's loops),
    compiled by scripts/setup.sh (`make setup`): required, imported on first use."""
    try:
        return importlib.import_module(f"graph.{name}")
    except ImportError as exc:
        raise ImportError(f"graph/{name}.pyx is not compiled: run `make setup`") from exc


def element_writer() -> Any:
    return compiled("element_writer")



# --- rates -------------------------------------------------------------------------------


def rate_precision(value: float) -> int:
    """The decimals of graph.cytoscape.format_rate: 2, more below 1 until a digit shows
    (at most 5)."""
    if value >= 1:
        return 2
    precision, scaled = 0, value
    while value > 0 and precision < 5 and scaled < 1:
        scaled *= 10
        precision += 1
    return max(2, precision)


def rate_text(value: float) -> bytes:
    """graph.cytoscape.format_rate's string, quoted."""
    return b'"%.2f"' % value if value >= 1 else b'"%.*f"' % (rate_precision(value), value)


KEYS: dict[str, bytes] = {}  # a JSON object key and its colon, by name


def key_text(name: str) -> bytes:
    found = KEYS.get(name)
    if found is None:
        found = orjson.dumps(name) + b":"
        if len(KEYS) < 1 << 18:
            KEYS[name] = found
    return found


def rates_text(md: Mapping[str, Any], keys: Iterable[str], out: list[bytes]) -> list[bytes]:
    """`out` with each positive rate of `keys` appended: b'"key":"1.00"'."""
    keyed = KEYS.get
    for key in keys:
        value = md.get(key, 0.0)
        if value > 0:
            out.append((keyed(key) or key_text(key))
                       + (b'"%.2f"' % value if value >= 1 else rate_text(value)))
    return out


PROTOCOL_HEADS = {protocol: b'{"protocol":"' + protocol.encode() + b'","rates":{'
                  for protocol in traffic.PROTOCOLS}
NODE_RATE_KEYS = tuple((PROTOCOL_HEADS[p], NODE_RATES[p]) for p in traffic.PROTOCOLS)


def node_traffic_text(md: Mapping[str, Any]) -> bytes | None:
    """[{"protocol", "rates"}, ...] of a node with traffic, else None."""
    out = []
    for head, keys in NODE_RATE_KEYS:
        rates = rates_text(md, keys, [])
        if rates:
            out.append(head + b",".join(rates) + b"}}")
    return b"[" + b",".join(out) + b"]" if out else None


def rate_precisions(values: np.ndarray) -> np.ndarray:
    """rate_precision of every value (the same multiplications by 10), as an array."""
    precision = np.zeros(len(values), np.int64)
    scaled = values.copy()
    for _ in range(5):
        more = (values > 0) & (precision < 5) & (scaled < 1)
        scaled = np.where(more, scaled * 10, scaled)
        precision += more
    return np.where(values >= 1, 2, np.maximum(2, precision))


NODE_KEYS = [(protocol, key) for protocol in traffic.PROTOCOLS for key in NODE_RATES[protocol]]
NODE_KEY_NAMES = tuple(key for _, key in NODE_KEYS)
NODE_FORMATS: dict[int, bytes] = {}  # by head: each key's decimals, 3 bits each (0: absent)


def node_format(head: int) -> bytes:
    """The %-format of a node's traffic whose rates present have these decimals."""
    out = []
    for protocol in traffic.PROTOCOLS:
        rates = [template_text(key) + b'"%%.%df"' % (head >> 3 * j & 7)
                 for j, (p, key) in enumerate(NODE_KEYS) if p == protocol and head >> 3 * j & 7]
        if rates:
            out.append(PROTOCOL_HEADS[protocol].replace(b"%", b"%%") + b",".join(rates)
                       + b"}}")
    found = NODE_FORMATS[head] = b"[" + b",".join(out) + b"]"
    return found


def node_traffic_texts(mds: list[Mapping[str, Any]]) -> list[bytes | None]:
    """node_traffic_text of every md, as columns: the rate keys' values read in one C loop
    over the mds (graph/rate_text.pyx's md_values), the decimals worked out with
    numpy, and each node written by one %-format (of which rates it has, with how many
    decimals) of a slice of one array of floats (rate_text's format_rows)."""
    n = len(mds)
    if not n:
        return []
    values = np.empty((n, len(NODE_KEYS)))
    writer = compiled("rate_text")
    writer.md_values(mds, NODE_KEY_NAMES, values)
    present = values > 0
    precision = rate_precisions(values.ravel()).reshape(values.shape)
    heads = (np.where(present, precision, 0) << (3 * np.arange(len(NODE_KEYS)))).sum(axis=1)
    start = np.zeros(n + 1, np.int64)
    np.cumsum(present.sum(axis=1), out=start[1:])
    flat = values[present]  # row by row: each node's rates in key order
    formats = list(map(NODE_FORMATS.get, heads.tolist()))
    for i, found in enumerate(formats):
        if found is None:
            formats[i] = node_format(int(heads[i]))
    texts = writer.format_rows(formats, flat, start)
    return [text if head else None for text, head in zip(texts, heads.tolist(), strict=True)]


TEMPLATE_KEYS: dict[str, bytes] = {}


def template_text(name: str) -> bytes:
    """A JSON string as it goes into a %-format (its % doubled), and its colon."""
    found = TEMPLATE_KEYS.get(name)
    if found is None:
        found = orjson.dumps(name).replace(b"%", b"%%") + b":"
        if len(TEMPLATE_KEYS) < 1 << 18:
            TEMPLATE_KEYS[name] = found
    return found


def make_template(key: tuple[Any, ...]) -> bytes:
    """The %-format of an edge's traffic of the shape `key` (see edge_traffic_text)."""
    it = iter(key)
    protocol = next(it)
    rates = []
    for name in it:  # rates, then percentages
        if name is None:
            break
        if type(name) is tuple:  # (name, decimals): graph/traffic_columns.py's rates
            rates.append(template_text(name[0]) + b'"%%.%df"' % name[1])
        else:
            rates.append(template_text(name) + b'"%.*f"')
    for name in it:
        if name is None:
            break
        rates.append(template_text(name) + b'"%.1f"')
    responses = []
    for code in it:
        flags, hosts = next(it), next(it)
        text = template_text(code) + b"{"
        if flags:
            text += b'"flags":{' + b'"%.1f",'.join(map(template_text, flags)) + b'"%.1f"}'
        if hosts:
            text += (b',"hosts":{' if flags else b'"hosts":{') + b'"%.1f",'.join(
                map(template_text, hosts)) + b'"%.1f"}'
        responses.append(text + b"}")
    return (b'{"protocol":' + template_text(protocol)[:-1] + b',"rates":{' + b",".join(rates)
            + b'},"responses":{' + b",".join(responses) + b"}}")


class Templates:
    """The %-formats of edges' traffic by shape (protocol, rates present, codes, flags and
    hosts): about one per edge of a mesh, kept while it stays the same. Bounded."""

    def __init__(self, size: int = 1 << 17) -> None:
        self.size = size
        self.found: dict[tuple[Any, ...], bytes] = {}

    def __call__(self, key: tuple[Any, ...]) -> bytes:
        made = make_template(key)
        if len(self.found) >= self.size:
            self.found.clear()
        self.found[key] = made
        return made


TEMPLATES = Templates()
EDGE_HEADS: dict[str, bytes] = {}


def edge_head(protocol: str) -> bytes:
    """The traffic of an edge without any: {"protocol"}."""
    head = EDGE_HEADS[protocol] = b'{"protocol":' + orjson.dumps(protocol) + b"}"
    return head


def edge_traffic_text(protocol: str, md: Mapping[str, Any],
                      source_md: Mapping[str, Any] | None) -> bytes:
    """graph.cytoscape.edge_traffic's JSON: {"protocol", "rates", "responses"}. Written by
    one %-format per edge, of the edge's shape (the rates it has, its codes, flags and
    hosts), made once."""
    total = md.get(protocol, 0.0)
    if total <= 0:
        return EDGE_HEADS.get(protocol) or edge_head(protocol)
    shape = EDGE_SHAPES.get(protocol) or edge_shape(protocol)
    key: list[Any] = [protocol]
    args: list[Any] = []
    for name in shape.summed:
        value = md.get(name, 0.0)
        if value > 0:
            key.append(name)
            args.append(2 if value >= 1 else rate_precision(value))
            args.append(value)
    key.append(None)
    if shape.errors:
        errors = 0.0
        for name in shape.errors:
            errors += md.get(name, 0.0)
        if errors > 0:
            key.append(shape.percent_err)
            args.append(errors / total * 100)
        if source_md is not None:
            out = source_md.get(shape.out_rate, 0.0)
            part = md[protocol] / out * 100 if out else 0.0
            if part > 0:
                key.append(shape.percent_req)
                args.append(part)
    key.append(None)
    for code, detail in md.get(shape.responses, {}).items():
        flags, hosts = detail["flags"], detail["hosts"]
        key.append(code)
        key.append(tuple(flags))
        key.append(tuple(hosts))
        for value in flags.values():
            args.append(value / total * 100)
        for value in hosts.values():
            args.append(value / total * 100)
    found = tuple(key)
    template = TEMPLATES.found.get(found) or TEMPLATES(found)
    return template % tuple(args)

# Handed back from builds in a child process (graph/forked.py), so that the process that
# lives on keeps what its builds made: the small tables. The pieces by value, their CRCs and
# the edges' %-formats are each child's own: at 10,000 workloads they held 60 MB and 290,000
# objects in the worker, and a build that starts without them makes them again in no
# measurable time (bench/README.md "sixth round"): most of their entries are the nodes' and
# edges' own pieces, which the JSON facts and edge ends hand back with their CRCs
# (crcs_of, add_crcs), and the traffic columns keep each edge's %-format.
memory.keep_dicts("json pieces", SHAPES, KEYS, TEMPLATE_KEYS, EDGE_HEADS, NODE_FORMATS)


def crcs_of(pieces: Iterable[Piece]) -> dict[Piece, int]:
    """The CRCs known of `pieces` (to hand back with the entries that hold them)."""
    known = PIECES.crcs.get
    return {piece: crc for piece in pieces if (crc := known(piece)) is not None}


def add_crcs(crcs: Mapping[Piece, int] | Iterable[tuple[Piece, int]]) -> None:
    with PIECES.lock:
        PIECES.crcs.update(crcs)
